"""Inference plumbing of the policy wrappers (and their batch checks).

    with fast_inference(): ...            torch.inference_mode with one intra-op thread for batch-1 calls
    SubgoalCache                          tiny identity-keyed LRU: encode a subgoal once, reuse it every 50 Hz step
    to_tensor(x)                          numpy (...) -> torch (1, ...) (float64 becomes float32)
    require_keys(batch, keys, who)        KeyError naming the missing batch keys of a loss()
"""
from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from hirl.types import Subgoal


@contextlib.contextmanager
def fast_inference() -> Iterator[None]:
    """torch.inference_mode with ONE intra-op thread for batch-1 policy calls, then the previous count again.

    Batch-1 nets gain nothing from a second thread, and on a loaded 2-core machine a BLAS call that forks
    to 2 threads waits for the busy core: measured 30 ms instead of 0.5 ms per high-level query. Switching
    costs < 1 us. (The thread count is process-global: a concurrent training thread runs single-threaded
    for the duration of the call.)"""
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


class SubgoalCache:
    """Identity-keyed LRU for per-subgoal encodings: Subgoal objects are immutable, so an encoding computed
    once per subgoal object is valid for every control step it stays active. Holds the key objects, so an id
    is never reused while cached."""

    def __init__(self, size: int = 8) -> None:
        self.size = int(size)
        self._items: OrderedDict[int, tuple[Subgoal, Any]] = OrderedDict()

    def get(self, subgoal: Subgoal, compute: Callable[[Subgoal], Any]) -> Any:
        key = id(subgoal)
        hit = self._items.get(key)
        if hit is not None and hit[0] is subgoal:
            self._items.move_to_end(key)
            return hit[1]
        value = compute(subgoal)
        self._items[key] = (subgoal, value)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """numpy -> torch (float64 becomes float32), adding a batch axis of 1 (read-only arrays are copied)."""
    arr = np.ascontiguousarray(x)
    t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
    return (t.float() if t.dtype == torch.float64 else t).unsqueeze(0)


def require_keys(batch: Mapping[str, torch.Tensor], keys: Sequence[str], who: str) -> None:
    """KeyError naming `who`.loss and the missing keys unless batch has every key."""
    missing = [k for k in keys if k not in batch]
    if missing:
        raise KeyError(f"{who}.loss: batch lacks {missing} (has {sorted(batch)})")
