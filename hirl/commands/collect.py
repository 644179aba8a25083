"""`hirl collect`: the scripted expert through the hierarchical runtime into a Minari-compatible dataset."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from hirl.config import FieldError
from hirl.errors import InputError


def flag(field: str) -> str:
    """The `hirl collect` flag of a CollectConfig field (the flags are generated from it, hirl.cli)."""
    return "--" + field.replace("_", "-")


def parse_env_kwargs(text: str | None) -> dict[str, Any]:
    """The --env-kwargs JSON object ({} when not given); InputError naming the flag otherwise."""
    try:
        env_kwargs = json.loads(text) if text else {}
    except (ValueError, RecursionError) as exc:
        raise InputError(f"--env-kwargs: not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(env_kwargs, dict):
        raise InputError("--env-kwargs: must be a JSON object, e.g. '{\"layout\": \"u\"}'")
    return env_kwargs


def run(args: argparse.Namespace) -> int:
    from hirl.data.collect import collect
    from hirl.data.collect_config import CollectConfig
    from hirl.plugins import import_plugins

    import_plugins(args.imports, "--import")

    env_kwargs = parse_env_kwargs(args.env_kwargs)
    flags = {f.name: getattr(args, f.name) for f in dataclasses.fields(CollectConfig) if hasattr(args, f.name)}
    try:
        cfg = CollectConfig(**{**flags, "env_kwargs": env_kwargs})  # the flags are generated from CollectConfig (hirl.cli)
        if args.address is not None and args.backend != "ray":
            raise InputError("--address: only with --backend ray")
        summary = collect(cfg, args.out, resume=args.resume, backend=args.backend, address=args.address)
    except FieldError as exc:
        raise InputError(f"{flag(exc.field)}: {exc.problem}") from None
    if summary.get("note"):
        print(f"hirl collect: {args.out}: {summary['note']} ({summary['episodes']} episodes); nothing to do", file=sys.stderr)
    print(json.dumps(summary, indent=2))
    return 0
