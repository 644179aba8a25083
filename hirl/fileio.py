"""Crash-safe file writes: write to a temp file in the same folder, fsync, then rename over the target."""
from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK  # what open() would give a new file; mkstemp's temp files are 0600


def temp_file_beside(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """A temp file (fd, name) in path's folder with normal file permissions, for a write-then-rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    return fd, tmp


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Replace path with data so that readers see either the old file or the whole new one."""
    path = Path(path)
    fd, tmp = temp_file_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:  # a failed write names no file: name the one being written (a full disk, say)
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def need_free_space(folder: str | Path, needed: int, what: str) -> None:
    """OSError(ENOSPC) naming folder unless its file system has `needed` bytes free (checked before a large write
    that could not be undone cleanly, e.g. an HDF5 file)."""
    folder = Path(folder)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    if free < needed:
        raise OSError(errno.ENOSPC, f"{what} needs about {needed / 2**20:.1f} MB, {free / 2**20:.1f} MB free",
                      str(folder))
