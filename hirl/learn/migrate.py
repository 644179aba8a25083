"""Rewrite an imitation run config written before the action head's section became a tagged union, in place.

    before (one flat `head:` section; every head kind's fields)      after
    head: {kind: mlp, horizon: 1, diffusion_steps: 50, ...}          head: {kind: mlp, horizon: 1, ...}

The fields of another kind's config never had an effect on this kind's head: they are dropped, each named in the
returned lines (today's loader reads one at its default silently and one set to something else as an unknown key).
The original is kept beside the file as CONFIG.yaml.bak and the new file is written atomically, after the migrated
config was checked to load; a config with nothing to drop is left as it is. A config with `base:` files has its own
`head:` section migrated (of the head kind it has with its bases) and is checked with its bases; each base file is
migrated on its own.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

from hirl.config import from_dict, read_yaml, resolve_bases
from hirl.errors import InputError
from hirl.fileio import atomic_write_text
from hirl.learn.run_config import RunConfig
from hirl.policies.heads.config import foreign_fields


def migrate_head(head: dict[str, Any], kind: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """(the head section without another kind's fields, one line per dropped field); kind: the head's kind when the
    section does not name one (a base file's), else mlp."""
    kind = str(head.get("kind", kind or "mlp"))
    dropped = foreign_fields({**head, "kind": kind})
    lines = [f"head.{k}: dropped ({head[k]!r}; not a field of a {kind} head, it had no effect)" for k in dropped]
    return {k: v for k, v in head.items() if k not in dropped}, lines


def migrate_config(path: str | Path) -> list[str]:
    """Migrate the imitation run config at path in place (module docstring); returns one line per change made."""
    path = Path(path)
    raw = read_yaml(path)
    resolved = resolve_bases(path, copy.deepcopy(raw))
    kind = resolved.get("kind", "imitation")
    if kind != "imitation":
        raise InputError(f"{path}: run kind {kind!r}; only imitation configs have a layout to migrate, nothing was changed")
    lines: list[str] = []
    if isinstance(raw.get("head"), dict):
        head = resolved["head"] if isinstance(resolved.get("head"), dict) else {}
        raw["head"], lines = migrate_head(raw["head"], head.get("kind"))
    if not lines:
        return []
    # InputError naming the key when something else is wrong
    from_dict(RunConfig, resolve_bases(path, copy.deepcopy(raw)), f"{path} (migrated)")
    shutil.copy2(path, path.with_name(path.name + ".bak"))
    atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False))
    return lines
