"""HierarchicalAgent: g ~ pi_HL(. | o, c) when the replan rule says so, a ~ pi_LL(. | o, g) every step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Mapping

import numpy as np

from hirl.hierarchy.replan import ReplanContext, ReplanRule
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.types import Command, Observation, Subgoal


@dataclass(frozen=True)
class TraceEntry:
    """One control step of the agent.

    step      control step index within the episode
    subgoal   the subgoal active for this step's action
    reason    why the subgoal changed at this step: "start", "interval", "completion", "undone" (the env's chain went
              back: a subtask was undone), "timeout", "override", "retry" (after refusals); None if kept
    queried   True when the high level was asked at this step (an override switches without asking it)
    proposed  what the high level proposed at this step (None when it was not asked)
    refused   proposals the initiation check refused at this step, each (subgoal text, why); the active subgoal is
              then the first admissible proposal, or (all refused) the previous one, kept (reason None) until a
              proposal is admitted at a later step (reason "retry")
    """

    step: int
    subgoal: Subgoal
    reason: str | None
    queried: bool
    proposed: Subgoal | None = None
    refused: tuple[tuple[str, str], ...] = ()

    @property
    def source(self) -> str:
        return self.subgoal.source


# (proposed subgoal, obs, info) -> None when it may start here, else why not (a skill's initiation set)
Initiation = Callable[[Subgoal, Observation, Mapping[str, Any]], "str | None"]


class HierarchicalAgent:
    """Two-level agent. The high level is queried only when the replan rule fires (and at the first step);
    `override(subgoal)` makes a correction active at the next `act` call, without asking the high level.

    initiation (optional): a proposal outside its initiation set is refused — recorded in the trace entry's
    `refused`, the high level told through `refused(subgoal, why)` — and the high level is asked again,
    up to max_refusals times in the step; if every proposal is refused, the previous subgoal stays active for this
    step (reason "refused") and the high level is asked again at the next step. Corrections are never refused."""

    def __init__(self, high: HighLevelPolicy, low: LowLevelPolicy, rule: ReplanRule, command: Command | None = None,
                 initiation: Initiation | None = None, max_refusals: int = 3) -> None:
        self.high, self.low, self.rule = high, low, rule
        self.initiation, self.max_refusals = initiation, int(max_refusals)
        self._retry = False
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
        self._retry = False

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
        refused: list[tuple[Subgoal, str]] = []
        if self._pending is not None:  # a correction takes effect now, whatever the rule
            reason: str | None = "override"
        elif self._subgoal is None:
            reason = "start"
        elif self._retry:  # every proposal was refused at the last step: ask again
            reason = "retry"
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
            refused = self._admit(proposed, obs, info) if self.initiation is not None else []
            while refused and refused[-1][0] is proposed and len(refused) <= self.max_refusals:
                proposed = self.high.propose(obs, self.command)
                refused += self._admit(proposed, obs, info)
            self._retry = bool(refused) and refused[-1][0] is proposed
            if not self._retry:
                self._subgoal = proposed
            elif self._subgoal is None:
                raise RuntimeError(f"HierarchicalAgent: no proposal may start at the first step; refused: "
                                   f"{[(g.text, why) for g, why in refused]}")
            else:  # every proposal refused: the subgoal does not change at this step
                reason = None
        if reason is not None:
            self._since = 0
        assert self._subgoal is not None
        self.trace.append(TraceEntry(self._step, self._subgoal, reason, proposed is not None, proposed,
                                     tuple((g.text, why) for g, why in refused)))
        action = self.low.act(obs, self._subgoal)
        self._step += 1
        self._since += 1
        return action

    def _admit(self, proposed: Subgoal, obs: Observation, info: Mapping[str, Any]) -> list[tuple[Subgoal, str]]:
        """[] when proposed may start here, else [(proposed, why)] (and the high level is told)."""
        assert self.initiation is not None
        why = self.initiation(proposed, obs, info)
        if why is None:
            return []
        self.high.refused(proposed, why)
        return [(proposed, why)]
