"""Scripted policies: plain functions (e.g. an environment's expert) behind the policy interfaces."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.types import Command, Observation, Subgoal


class ScriptedHighLevel(HighLevelPolicy):
    """propose = fn(obs, command); reset_fn (optional) runs at every episode start."""

    def __init__(self, fn: Callable[[Observation, Command], Subgoal], reset_fn: Callable[[], None] | None = None) -> None:
        self.fn, self.reset_fn = fn, reset_fn

    def reset(self) -> None:
        if self.reset_fn is not None:
            self.reset_fn()

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        return self.fn(obs, command)


class ScriptedLowLevel(LowLevelPolicy):
    """act = fn(obs, subgoal) as float32; reset_fn (optional) runs at every episode start."""

    def __init__(self, fn: Callable[[Observation, Subgoal], np.ndarray], reset_fn: Callable[[], None] | None = None) -> None:
        self.fn, self.reset_fn = fn, reset_fn

    def reset(self) -> None:
        if self.reset_fn is not None:
            self.reset_fn()

    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        return np.asarray(self.fn(obs, subgoal), dtype=np.float32)
