"""The correction journal: one JSON line per correction, flushed and fsynced before the session goes on, so a
killed session keeps every correction made before the kill (a torn last line is skipped when read back).

    journal = CorrectionJournal(SESSION / "corrections.jsonl")
    journal.append(record)         # record: JSON-ready dict (see CorrectionRecorder.record)
    records = journal.read()       # list of dicts, in order"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from hirl.errors import InputError


class CorrectionJournal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.skipped = 0  # torn lines seen by the last read()

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record durably (open, append, flush, fsync, close)."""
        line = json.dumps(dict(record), allow_nan=False, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        """All complete records. A final line cut by a kill is skipped; a bad line elsewhere is an InputError."""
        if not self.path.exists():
            return []
        try:
            lines = self.path.read_bytes().split(b"\n")
        except OSError as exc:
            raise InputError(f"{self.path}: unreadable ({exc})") from None
        out: list[dict[str, Any]] = []
        self.skipped = 0
        for i, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
            except (ValueError, UnicodeDecodeError) as exc:
                if i >= len(lines) - 2:  # the last line (the file may end without its newline): torn by a kill
                    self.skipped += 1
                    continue
                raise InputError(f"{self.path}:{i + 1}: not a correction record ({exc})") from None
            out.append(rec)
        return out

    def __len__(self) -> int:
        return len(self.read())
