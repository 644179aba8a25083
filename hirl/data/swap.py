"""Replacing a dataset directory whole: readers see the previous complete dataset or the new one, never a mix."""
from __future__ import annotations

import ctypes
import os
from pathlib import Path


def fsync_tree(path: Path) -> None:
    """fsync every file under path (so a rename that follows publishes complete files)."""
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing directories (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = renameat2(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE)
    return rc == 0


def swap_in(new: Path, target: Path, scratch: Path) -> None:
    """Put the directory `new` at `target` after fsyncing it: a plain rename when target does not exist, else an
    atomic exchange when the OS supports it, else two renames via scratch/old (scratch: a directory on the same
    file system that the caller removes afterwards, taking the previous target with it)."""
    fsync_tree(new)
    if not target.exists():
        os.rename(new, target)
    elif not _exchange(new, target):
        old = scratch / "old"
        os.rename(target, old)  # not atomic: a crash right here leaves scratch/old; --resume rebuilds
        os.rename(new, target)
