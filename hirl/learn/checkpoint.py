"""Crash-safe training checkpoints.

A checkpoint is two files in the run folder:

    ckpt-00000400.pt   tensors only: model state_dict, optimizer state_dict, torch RNG state
                       (torch.save; read back with torch.load(weights_only=True), so no arbitrary unpickling)
    checkpoint.json    the commit record, written last: step, file name, size + sha256 of the .pt file, numpy /
                       python RNG states, best-validation bookkeeping, the trainer config

Both are written atomically (temp file + fsync + os.replace) and checkpoint.json only ever names a complete
.pt file, so a kill -9 at any moment leaves the previous checkpoint usable. Anything unreadable, truncated
or not matching the model raises InputError with one line naming the file.

Weights for consumers (best.safetensors, last.safetensors) are plain safetensors files of model.state_dict()
(hirl.weights.save_weights / load_weights).
CsvLog keeps metrics.csv consistent with the checkpoint (rows past it are dropped on resume).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import warnings
from pathlib import Path
from typing import Any
from collections.abc import Mapping

import numpy as np
import torch

from hirl.config import read_json
from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes, atomic_write_text
from hirl.runs.rundir import FolderLock
from hirl.weights import load_state_dict_checked

CHECKPOINT_JSON = "checkpoint.json"
FORMAT_VERSION = 1


# -- RNG states ---------------------------------------------------------------------------------------------
def capture_rng(generator: np.random.Generator) -> tuple[dict[str, Any], torch.Tensor]:
    """(JSON-able numpy/python RNG states, torch CPU RNG state tensor)."""
    legacy = np.random.get_state(legacy=True)
    assert isinstance(legacy, tuple)  # the global RandomState is always MT19937, whose legacy state is a tuple
    py = random.getstate()
    state = {
        "numpy_generator": generator.bit_generator.state,
        "numpy_legacy": [legacy[0], np.asarray(legacy[1]).tolist(), int(legacy[2]), int(legacy[3]), float(legacy[4])],
        "python": [py[0], list(py[1]), py[2]],
    }
    return state, torch.get_rng_state()


def restore_rng(state: dict[str, Any], torch_state: torch.Tensor, generator: np.random.Generator) -> None:
    """Inverse of capture_rng (the generator is updated in place)."""
    generator.bit_generator.state = state["numpy_generator"]
    name, keys, pos, has_gauss, gauss = state["numpy_legacy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    torch.set_rng_state(torch_state)


# -- checkpoints --------------------------------------------------------------------------------------------
def save_checkpoint(run_dir: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    generator: np.random.Generator, meta: dict[str, Any]) -> Path:
    """Write ckpt-<step>.pt then checkpoint.json (the commit); remove older ckpt-*.pt files. Returns the .json path."""
    run_dir = Path(run_dir)
    rng_state, torch_rng = capture_rng(generator)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "torch_rng": torch_rng}, buf)
    data = buf.getvalue()
    name = f"ckpt-{step:08d}.pt"
    atomic_write_bytes(run_dir / name, data)
    record = {"format": FORMAT_VERSION, "step": int(step), "file": name, "size": len(data),
              "sha256": hashlib.sha256(data).hexdigest(), **meta}
    # Readable record; the long RNG state lists go last, on one line.
    text = json.dumps(record, indent=2)[:-2] + ',\n  "rng": ' + json.dumps(rng_state) + "\n}\n"
    path = atomic_write_text(run_dir / CHECKPOINT_JSON, text)
    for old in run_dir.glob("ckpt-*.pt"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return path


def remove_stale_temp_files(run_dir: str | Path) -> None:
    """Delete temp files that a kill during an atomic write left behind (the targets themselves are intact)."""
    for pattern in (".ckpt-*.tmp", f".{CHECKPOINT_JSON}.*.tmp", ".last.safetensors.*.tmp", ".best.safetensors.*.tmp",
                    ".metrics.csv.*.tmp"):
        for tmp in Path(run_dir).glob(pattern):
            tmp.unlink(missing_ok=True)


class RunLock(FolderLock):
    """Exclusive lock on run_dir/.lock (hirl.runs.rundir.FolderLock, released by the OS even on kill -9): one trainer
    per run folder; a second one gets InputError naming the holder."""

    def __init__(self, run_dir: str | Path) -> None:
        super().__init__(run_dir, "training process", remove_created=False)


def has_checkpoint(run_dir: str | Path) -> bool:
    return (Path(run_dir) / CHECKPOINT_JSON).exists()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# checkpoint.json keys: (check, what it must be); the trainer's progress fields are checked when present
_RECORD_KEYS: dict[str, tuple[Any, str]] = {
    "step": (lambda v: _is_int(v) and 0 <= v < 2**63, "a non-negative 64-bit int"),
    "file": (lambda v: isinstance(v, str) and bool(v) and "/" not in v and "\\" not in v and v not in (".", ".."),
             "a file name in the run folder"),
    "size": (lambda v: _is_int(v) and v >= 0, "a non-negative int"),
    "sha256": (lambda v: isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v),
               "64 hex digits"),
    "rng": (lambda v: isinstance(v, dict) and isinstance(v.get("numpy_generator"), dict)
            and isinstance(v.get("numpy_legacy"), list) and len(v["numpy_legacy"]) == 5
            and isinstance(v.get("python"), list) and len(v["python"]) == 3, "the RNG states capture_rng writes"),
}
_PROGRESS_KEYS: dict[str, tuple[Any, str]] = {
    "best_val_loss": (lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)), "a number or null"),
    "best_step": (lambda v: v is None or (_is_int(v) and v >= 0), "a non-negative int or null"),
    "evals_since_improvement": (lambda v: _is_int(v) and v >= 0, "a non-negative int"),
    "stopped_early": (lambda v: isinstance(v, bool), "true or false"),
}


def read_checkpoint_record(run_dir: str | Path) -> dict[str, Any]:
    """Parse and check checkpoint.json (not the tensors): every key of the right type and range. InputError naming
    the file and the key on any problem."""
    path = Path(run_dir) / CHECKPOINT_JSON
    if not path.exists():
        raise InputError(f"{path}: no checkpoint here")
    record = read_json(path, "checkpoint record")
    required = ("format", *_RECORD_KEYS)
    if not isinstance(record, dict) or any(k not in record for k in required):
        raise InputError(f"{path}: corrupt checkpoint record (missing one of {', '.join(required)})")
    if record["format"] != FORMAT_VERSION:
        raise InputError(f"{path}: checkpoint format {record['format']!r}, this version reads {FORMAT_VERSION}")
    for key, (ok, what) in (*_RECORD_KEYS.items(), *_PROGRESS_KEYS.items()):
        if key in record and not ok(record[key]):
            shown = repr(record[key])
            raise InputError(f"{path}: key '{key}': expected {what}, got {shown if len(shown) < 60 else shown[:57] + '...'}")
    return record


def load_checkpoint(run_dir: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    generator: np.random.Generator) -> dict[str, Any]:
    """Restore model, optimizer and all RNG states from run_dir; returns the checkpoint.json record."""
    run_dir = Path(run_dir)
    record = read_checkpoint_record(run_dir)
    path = run_dir / record["file"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: checkpoint file named by {CHECKPOINT_JSON} is missing") from None
    if len(data) != record["size"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise InputError(f"{path}: truncated or corrupt checkpoint ({len(data)} bytes, expected {record['size']}, "
                         "checksum mismatch)")
    try:
        with warnings.catch_warnings():  # torch's note on a foreign pickle protocol would precede hirl's one line
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        model_state, optim_state, torch_rng = state["model"], state["optimizer"], state["torch_rng"]
    except Exception as exc:  # unpickling errors come in many types; weights_only refuses anything but tensors/containers
        raise InputError(f"{path}: unreadable checkpoint ({exc.__class__.__name__})") from None
    load_state_dict_checked(model, model_state, path)
    try:
        optimizer.load_state_dict(optim_state)
        restore_rng(record["rng"], torch_rng, generator)
    except (ValueError, KeyError, TypeError, RuntimeError, IndexError, OverflowError) as exc:
        why = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
        raise InputError(f"{path}: checkpoint does not match this optimizer/RNG setup ({why})") from None
    return record


# -- CSV log ------------------------------------------------------------------------------------------------
class CsvLog:
    """metrics.csv with columns step, split, time, then metric names (the header grows when new names appear)."""

    BASE = ["step", "split", "time"]

    def __init__(self, path: Path, keep_until_step: int | None) -> None:
        self.path = path
        self.rows: list[dict[str, str]] = []
        self.columns = list(self.BASE)
        if path.exists() and keep_until_step is not None:
            self._load(keep_until_step)
        self._rewrite()

    def _load(self, keep_until_step: int) -> None:
        text = self.path.read_text(encoding="utf-8", errors="replace")
        if text and not text.endswith("\n"):  # a row cut by a kill: drop it
            text = text[: text.rfind("\n") + 1]
        reader = csv.DictReader(io.StringIO(text))
        self.columns = list(reader.fieldnames or self.BASE)
        for row in reader:
            try:
                if None in row or int(row["step"]) > keep_until_step:
                    continue
            except (TypeError, ValueError):
                continue
            self.rows.append(row)

    def _rewrite(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, restval="")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, buf.getvalue())

    def append(self, step: int, split: str, elapsed: float, metrics: Mapping[str, float]) -> None:
        row = {"step": str(step), "split": split, "time": f"{elapsed:.3f}", **{k: repr(float(v)) for k, v in metrics.items()}}
        self.rows.append(row)
        new = [k for k in metrics if k not in self.columns]
        if new:
            self.columns += new
            self._rewrite()
            return
        with open(self.path, "a", encoding="utf-8", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.columns, restval="").writerow(row)
            fh.flush()
            os.fsync(fh.fileno())
