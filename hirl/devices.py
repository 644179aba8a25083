"""Where torch networks and SB3 models run: `device: auto | cpu | cuda | cuda:N` in every config that trains one
(TrainerConfig.device for the supervised networks, AlgoSpec.device for the SB3 learners).

    auto     the first CUDA GPU when torch sees one, else the CPU (the default: a CPU-only machine gets "cpu",
             bit for bit what hirl did before devices were configurable)
    cpu      the CPU
    cuda     cuda:0;  cuda:N  GPU N

A CUDA device on a machine (or a torch build) without CUDA is one InputError line saying so, never torch's own
AssertionError. check_device_spec validates the text without importing torch (config __post_init__ checks)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hirl.errors import InputError

if TYPE_CHECKING:
    import torch

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")  # the device texts a config accepts


def check_device_spec(spec: str) -> None:
    """ValueError naming the accepted forms unless spec is auto, cpu, cuda or cuda:N (torch is not imported)."""
    if not isinstance(spec, str) or not DEVICE_PATTERN.fullmatch(spec):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {spec!r}")


def resolve_device(spec: str, where: str = "device") -> torch.device:
    """The torch.device of a device text (see the module docstring); InputError naming `where` when the text is not
    a device or names a GPU torch cannot use here."""
    import torch

    try:
        check_device_spec(spec)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    if spec == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if spec == "auto":
        return torch.device("cuda:0" if available else "cpu")
    if not available:
        build = "a CPU-only torch build" if torch.version.cuda is None else f"torch built for CUDA {torch.version.cuda}"
        raise InputError(f"{where}: {spec!r} asked for, but torch sees no CUDA GPU here ({build} {torch.__version__}); "
                         f"use device: auto or cpu, or install a CUDA build of torch (docs/install.md, GPU)")
    index = int(spec.partition(":")[2] or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise InputError(f"{where}: {spec!r} asked for, but torch sees {count} CUDA GPU(s) (cuda:0..cuda:{count - 1})")
    return torch.device(f"cuda:{index}")
