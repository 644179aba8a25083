"""HierarchicalAgent: g ~ pi_HL(. | o, c) when the replan rule says so, a ~ pi_LL(. | o, g) every step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

import numpy as np

from hirl.hierarchy.replan import ReplanContext, ReplanRule
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.types import Command, Observation, Subgoal


@dataclass(frozen=True)
class TraceEntry:
    """One control step of the agent.

    step      control step index within the episode
    subgoal   the subgoal active for this step's action
    reason    why the subgoal changed at this step: "start", "interval", "completion", "timeout", "override"; None if kept
    queried   True when the high level was asked at this step (an override switches without asking it)
    proposed  what the high level proposed at this step (None when it was not asked)
    """

    step: int
    subgoal: Subgoal
    reason: str | None
    queried: bool
    proposed: Subgoal | None = None

    @property
    def source(self) -> str:
        return self.subgoal.source


class HierarchicalAgent:
    """Two-level agent. The high level is queried only when the replan rule fires (and at the first step);
    `override(subgoal)` makes a correction active at the next `act` call, without asking the high level."""

    def __init__(self, high: HighLevelPolicy, low: LowLevelPolicy, rule: ReplanRule, command: Command | None = None) -> None:
        self.high, self.low, self.rule = high, low, rule
        self.command = command
        self.trace: list[TraceEntry] = []
        self._subgoal: Subgoal | None = None
        self._pending: Subgoal | None = None
        self._step = 0
        self._since = 0

    @property
    def subgoal(self) -> Subgoal | None:
        """The subgoal currently being executed (None before the first step)."""
        return self._subgoal

    @property
    def step_count(self) -> int:
        return self._step

    @property
    def num_queries(self) -> int:
        return sum(1 for e in self.trace if e.queried)

    @property
    def num_replans(self) -> int:
        return sum(1 for e in self.trace if e.reason is not None and e.reason != "start")

    def reset(self, command: Command | None = None) -> None:
        """Start a new episode: resets both levels and the rule; clears the trace and any pending override."""
        if command is not None:
            self.command = command
        self.high.reset()
        self.low.reset()
        self.rule.reset()
        self.trace = []
        self._subgoal = None
        self._pending = None
        self._step = 0
        self._since = 0

    def override(self, subgoal: Subgoal) -> None:
        """Replace the active subgoal from the next control step on (a human or scripted correction)."""
        if not isinstance(subgoal, Subgoal):
            raise TypeError(f"override needs a Subgoal, got {type(subgoal).__name__}")
        self._pending = subgoal

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        """One control step: maybe switch subgoal, then return the low level's action (A,)."""
        if self.command is None:
            raise RuntimeError("HierarchicalAgent.act: no command; call reset(command) first")
        info = info if info is not None else {}
        proposed: Subgoal | None = None
        if self._pending is not None:  # a correction takes effect now, whatever the rule
            reason: str | None = "override"
        elif self._subgoal is None:
            reason = "start"
        else:
            ctx = ReplanContext(self._step, self._since, self._subgoal, obs, info, self._pending)
            reason = self.rule.decide(ctx)
        if reason == "override":
            assert self._pending is not None  # rules answer "override" only for a pending correction
            self._subgoal, self._pending = self._pending, None
            self.high.observe(self._subgoal)
        elif reason is not None:
            if reason == "completion" and self._subgoal is not None:  # judged done: the high level is told first
                self.high.completed(self._subgoal)
            proposed = self.high.propose(obs, self.command)
            self._subgoal = proposed
        if reason is not None:
            self._since = 0
        assert self._subgoal is not None
        self.trace.append(TraceEntry(self._step, self._subgoal, reason, proposed is not None, proposed))
        action = self.low.act(obs, self._subgoal)
        self._step += 1
        self._since += 1
        return action
