"""Weight files: a model's state_dict as a safetensors file, written atomically, read back with one-line errors.

    save_weights(model, "runs/x/best.safetensors")      # model.state_dict() -> file (tied tensors stored as copies)
    load_weights(model, "runs/x/best.safetensors")      # in place; InputError naming the file on any problem

Low-level io (depends only on errors / fileio / torch / safetensors): policies, encoders and the trainer's
checkpoints (hirl.learn.checkpoint) all read and write weights through here.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes


def save_weights(model: torch.nn.Module, path: str | Path) -> Path:
    """model.state_dict() -> safetensors file, atomically. Tied tensors are stored as copies."""
    tensors = {k: v.detach().to("cpu").clone().contiguous() for k, v in model.state_dict().items()}
    return atomic_write_bytes(path, st_save(tensors))


def load_weights(model: torch.nn.Module, path: str | Path, strict: bool = True) -> torch.nn.Module:
    """Load a safetensors weight file into model (in place; returns model). InputError on any problem."""
    path = Path(path)
    try:
        tensors = st_load(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: weight file not found") from None
    except Exception as exc:  # safetensors raises its own error types on truncated/garbage files
        raise InputError(f"{path}: corrupt or truncated weight file ({exc.__class__.__name__})") from None
    for name, tensor in tensors.items():  # a NaN / inf weight would surface only as a refused action, much later
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InputError(f"{path}: tensor '{name}' holds NaN or infinite values (a diverged or damaged model)")
    load_state_dict_checked(model, tensors, path, strict)
    return model


def weight_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """{tensor name: shape} of a safetensors file, read from its header only (no tensor is loaded)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: weight file not found")
    try:
        with safe_open(str(path), framework="pt") as fh:
            return {k: tuple(int(d) for d in fh.get_slice(k).get_shape()) for k in fh.keys()}
    except Exception as exc:  # safetensors raises its own error types on truncated/garbage headers
        raise InputError(f"{path}: corrupt or truncated weight file ({exc.__class__.__name__})") from None


def load_state_dict_checked(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, strict: bool = True) -> None:
    """model.load_state_dict(state) with a mismatch reported as one InputError line naming path (the source file)."""
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3]) if len(first) > 1 else first[0] if first else ""
        raise InputError(f"{path}: weights do not match the model ({detail[:300]})") from None
