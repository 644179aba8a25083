"""The crash-safe journal of a collection: one atomically written npz per finished episode record.

    journal = Journal(out / schema.JOURNAL_DIR)
    journal.write(record)                       # atomic: the file is renamed into place whole
    records = (journal.read(i) for i in journal.done())

Records are encoded without pickle (encode_record / decode_record)."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hirl.config import read_json
from hirl.data import schema
from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes, atomic_write_json

_SKELETON_KEY = "__record__"  # npz entry holding the record's non-array structure as UTF-8 JSON
REMOVED_PREFIX = ".journal-removed-"  # a journal being removed is first renamed to OUT/.journal-removed-<pid>


def encode_record(record: Mapping[str, Any]) -> bytes:
    """A journal record (nested dicts / lists of numpy arrays, numbers, str, None) -> npz bytes: every array is an
    npz entry named by its path, the rest is a JSON skeleton pointing at them. Read back without pickle."""
    arrays: dict[str, Any] = {}  # npz entry name -> array

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError(f"journal record {path}: object arrays cannot be stored")
            name = path.lstrip("/")
            arrays[name] = value
            return {"__array__": name}
        if isinstance(value, Mapping):
            return {str(k): walk(v, f"{path}/{k}") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(value)]
        return value.item() if isinstance(value, np.generic) else value

    skeleton = json.dumps(walk(dict(record), "")).encode("utf-8")
    buf = io.BytesIO()
    head: dict[str, Any] = {_SKELETON_KEY: np.frombuffer(skeleton, dtype=np.uint8)}
    np.savez(buf, **head, **arrays)
    return buf.getvalue()


def decode_record(data: bytes) -> dict[str, Any]:
    """Inverse of encode_record. allow_pickle=False: a tampered file can fail to load, never run code."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    skeleton = json.loads(arrays.pop(_SKELETON_KEY).tobytes().decode("utf-8"))

    def build(value: Any) -> Any:
        if isinstance(value, dict):
            return arrays[value["__array__"]] if set(value) == {"__array__"} else {k: build(v) for k, v in value.items()}
        if isinstance(value, list):
            return [build(v) for v in value]
        return value

    return build(skeleton)


class Journal:
    """One atomically written npz (encode_record) per finished episode under DIR; collect.json holds the collection
    config. Files are only ever renamed into place, so a crash leaves whole episodes or nothing."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def config_path(self) -> Path:
        return self.root / "collect.json"

    def exists(self) -> bool:
        return self.config_path.exists()

    def episode_path(self, index: int) -> Path:
        return self.root / f"episode_{index:06d}.npz"

    def write_config(self, config: Mapping[str, Any]) -> None:
        atomic_write_json(self.config_path, schema.to_json_safe(dict(config)))

    def read_config(self) -> dict[str, Any]:
        config = read_json(self.config_path, "collection journal config")
        if not isinstance(config, dict):
            raise InputError(f"journal {self.config_path}: unreadable (not a JSON object)")
        return config

    def write(self, record: Mapping[str, Any]) -> Path:
        return atomic_write_bytes(self.episode_path(int(record["index"])), encode_record(record))

    def done(self) -> list[int]:
        """Indices of the episodes journaled so far, sorted."""
        if not self.root.is_dir():
            return []
        out = []
        for p in self.root.glob("episode_*.npz"):
            m = re.fullmatch(r"episode_(\d+)\.npz", p.name)
            if m:
                out.append(int(m.group(1)))
        return sorted(out)

    def read(self, index: int) -> dict[str, Any]:
        path = self.episode_path(index)
        try:
            return decode_record(path.read_bytes())
        except Exception as exc:  # a journal file is only ever renamed into place whole; this means tampering
            raise InputError(f"journal {path}: unreadable ({type(exc).__name__}: {exc})") from None

    def clean_temporaries(self) -> None:
        for p in self.root.glob(".*.tmp"):
            p.unlink(missing_ok=True)

    def remove(self) -> None:
        """Delete the journal: renamed aside first (one atomic step), so a kill during the deletion leaves either the
        whole journal or a REMOVED_PREFIX folder that the next collection deletes, never a journal missing files."""
        if not self.root.exists():
            return
        trash = self.root.with_name(f"{REMOVED_PREFIX}{os.getpid()}")
        shutil.rmtree(trash, ignore_errors=True)
        os.rename(self.root, trash)
        shutil.rmtree(trash, ignore_errors=True)
