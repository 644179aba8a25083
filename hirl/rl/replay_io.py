"""Replay-buffer checkpoints without pickle: every numpy array of an SB3 replay buffer to .npz, its scalars to JSON."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes, atomic_write_json

_SKIP = {"infos"}  # per-transition info dicts (empty unless copy_info_dict): not array data, restored empty


def save_buffer(buffer: Any, path: Path) -> Path:
    """Every numpy array of the replay buffer (Dict observations flattened to 'observations.key') -> .npz
    (no pickle), scalars (pos, full) -> the .json beside it. Both written atomically."""
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(buffer).items():
        if name in _SKIP:
            continue
        if isinstance(value, np.ndarray) and value.dtype != object:
            arrays[name] = value
        elif isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values()):
            arrays.update({f"{name}.{k}": v for k, v in value.items()})
    raw = io.BytesIO()
    np.savez(raw, allow_pickle=False, **arrays)  # object arrays were skipped above
    atomic_write_bytes(path, raw.getvalue())
    atomic_write_json(path.with_suffix(".json"), {"pos": int(buffer.pos), "full": bool(buffer.full)})
    return path


def load_buffer(buffer: Any, path: Path) -> None:
    """Inverse of save_buffer into a buffer of the same shape (InputError naming the file otherwise)."""
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        with np.load(path, allow_pickle=False) as z:
            for key in z.files:
                name, _, sub = key.partition(".")
                target = getattr(buffer, name)[sub] if sub else getattr(buffer, name)
                if target.shape != z[key].shape:
                    raise ValueError(f"{key}: shape {z[key].shape} != buffer's {target.shape}")
                target[...] = z[key]
    except (OSError, ValueError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable replay-buffer checkpoint ({exc})") from None
    buffer.pos, buffer.full = int(meta["pos"]), bool(meta["full"])
