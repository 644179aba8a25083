"""The correction journal: one JSON line per record (a correction, a teleop label), written and fsynced before the
session acknowledges it, so a killed session keeps every record it acknowledged.

    journal = CorrectionJournal(SESSION / "corrections.jsonl")
    journal.append(record)         # record: JSON-ready dict with a unique "id" (see CorrectionRecorder.record)
    records = journal.read()       # the live records, in order (see below)

Crash safety: a kill can only tear the last line (it was never acknowledged). read() skips it; the first append()
of a journal object first repairs the file (the torn tail is cut off by writing the good prefix beside the file and
renaming it over), so a new record never lands on a torn one.

Idempotence: records carry an "id". read() keeps the first record of each id and drops every record that a later
one names in "replaces" (a second correction at the same paused state replaces the first), so a record replayed
by a resumed loop, or superseded, is never counted or trained on twice. An undo is a record of its own
({"kind": "undo", "undoes": id}): read() drops it and the record it names (an undone correction trains nothing).
discard() removes the records of an attempt that is being redone (an episode killed before it was written),
atomically."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes


def live_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """records minus repeated ids (the first is kept), minus records replaced by a later one, minus undone records
    and the undo records themselves."""
    replaced = {str(r["replaces"]) for r in records if r.get("replaces")}
    replaced |= {str(r["undoes"]) for r in records if r.get("kind") == "undo" and r.get("undoes")}
    records = [r for r in records if r.get("kind") != "undo"]
    seen: set[str] = set()
    out = []
    for r in records:
        rid = r.get("id")
        if rid is not None:
            rid = str(rid)
            if rid in seen:
                continue
            seen.add(rid)
            if rid in replaced:
                continue
        out.append(r)
    return out


def _parse(raw: bytes) -> dict[str, Any]:
    rec = json.loads(raw.decode("utf-8"))
    if not isinstance(rec, dict):
        raise ValueError("not an object")
    return rec


class CorrectionJournal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._repaired = False
        self.skipped = 0  # torn lines seen by the last read()
        self.repaired_bytes = 0  # bytes of a torn tail cut off by repair()

    # ------------------------------------------------------------------ writing
    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record durably (repair once, then open, append, fsync, close). OSError when it could not be."""
        line = (json.dumps(dict(record), allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            if not self._repaired:
                self._repair()
            created = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.path.parent)

    def repair(self) -> int:
        """Cut a torn last line off the file (atomically); returns the number of bytes dropped."""
        with self._lock:
            return self._repair()

    def _repair(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            data = b""
        self._repaired = True
        if not data or (data.endswith(b"\n") and self._last_line_ok(data)):
            return 0
        cut = data.rstrip(b"\n").rfind(b"\n") + 1  # start of the last line
        tail = data[cut:].rstrip(b"\n")
        try:
            _parse(tail)
            good = data[:cut] + tail + b"\n"  # a whole record that only lost its newline: keep it
        except (ValueError, UnicodeDecodeError):
            good = data[:cut]
        atomic_write_bytes(self.path, good)
        self.repaired_bytes = max(0, len(data) - len(good))
        return self.repaired_bytes

    @staticmethod
    def _last_line_ok(data: bytes) -> bool:
        last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if not last.strip():
            return True
        try:
            _parse(last)
            return True
        except (ValueError, UnicodeDecodeError):
            return False

    def discard(self, drop: Callable[[dict[str, Any]], bool]) -> int:
        """Remove every record for which drop(record) is true (write-then-rename); returns how many were removed."""
        with self._lock:
            if not self._repaired:
                self._repair()
            records = self._read_all()
            keep = [r for r in records if not drop(r)]
            if len(keep) == len(records):
                return 0
            text = "".join(json.dumps(r, allow_nan=False, separators=(",", ":")) + "\n" for r in keep)
            atomic_write_bytes(self.path, text.encode("utf-8"))
            return len(records) - len(keep)

    # ------------------------------------------------------------------ reading
    def read(self) -> list[dict[str, Any]]:
        """The live records (see the module docstring), in order. InputError on a bad line before the last."""
        return live_records(self._read_all())

    def read_all(self) -> list[dict[str, Any]]:
        """Every complete record as written, replaced ones and repeated ids included."""
        return self._read_all()

    def _read_all(self) -> list[dict[str, Any]]:
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
                rec = _parse(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                if i >= len(lines) - 2:  # the last line (the file may end without its newline): torn by a kill
                    self.skipped += 1
                    continue
                raise InputError(f"{self.path}:{i + 1}: not a correction record ({exc})") from None
            out.append(rec)
        return out

    def __len__(self) -> int:
        return len(self.read())


def _fsync_dir(folder: Path) -> None:
    """Make a new file's directory entry durable too (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
