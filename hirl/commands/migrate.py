"""`hirl migrate PATH`: bring a run or a run config written by an older hirl into the current layout, in place.

    PATH an RL run directory (before hirl 0.2)    its folders move into the one run layout (hirl.rl.migrate)
    PATH an imitation run directory or config     its config's flat `head:` section loses the other head kinds'
                                                  fields (hirl.learn.migrate; the original kept as .bak)

It holds the run directory's lock (a config file: a lock beside it) while it changes anything."""
from __future__ import annotations

import argparse
from pathlib import Path

from hirl.errors import InputError
from hirl.runs.rundir import FolderLock, RunDir, config_kind


def run(args: argparse.Namespace) -> int:
    path = Path(args.run)
    if path.is_file():
        with FolderLock(path.absolute().parent, "config migration", name=f".{path.name}.lock"):
            return _report(path, _migrate_config(path))
    if not path.is_dir():
        raise InputError(f"{path}: neither a run directory nor a config file")
    config = RunDir(path).config_path
    if not config.is_file():
        raise InputError(f"{path}: not a run directory (no config.yaml)")
    with FolderLock(path, "run migration"):
        if config_kind(config) == "rl":
            from hirl.rl.migrate import migrate_rl_run

            return _report(path, migrate_rl_run(path))
        return _report(path, _migrate_config(config))


def _migrate_config(path: Path) -> list[str]:
    from hirl.learn.migrate import migrate_config

    return migrate_config(path)


def _report(path: Path, changes: list[str]) -> int:
    for line in changes:
        print(line)
    print(f"{path}: {len(changes)} changes" if changes else f"{path}: already in the current layout")
    return 0
