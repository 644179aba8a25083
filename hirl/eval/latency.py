"""Control-loop latency measured during evaluation, against the 20 ms budget of a 50 Hz controller.

LatencyProbe wraps an Agent: every act() call is timed (one control step), and for a HierarchicalAgent its
high level is wrapped so each query is timed on its own. Steps are split into those that queried the high level
and those that did not (the low level's own cost); of the latter, the steps that ran the action head's network
(`predicted` of the low level, or of a flat agent: chunked heads run it every `execute` steps) are also reported
alone, so the amortised and the worst-case cost of a chunked head are both visible.

The probe's first control step (and the high-level query made in it) is warm-up, not control latency: it loads what
loads lazily (the text model, the first torch call's kernels). It is reported apart as `warmup_ms` and left out of
every percentile. Steps taken while `timing` is False (filmed episodes: rendering between steps) are not timed."""
from __future__ import annotations

import time
from typing import Any
from collections.abc import Mapping

import numpy as np

from hirl.hierarchy.rollout import Agent, AgentWrapper
from hirl.policies.base import HighLevelPolicy, HighLevelWrapper
from hirl.types import Command, Observation, Subgoal

CONTROL_BUDGET_MS = 20.0  # 1 / 50 Hz


def _pct(a: np.ndarray) -> dict[str, float] | None:
    """{"p50", "p99"} in ms of a 1-D array of step times (None when empty)."""
    if not len(a):
        return None
    return {"p50": round(float(np.percentile(a, 50)), 3), "p99": round(float(np.percentile(a, 99)), 3)}


class _TimedHighLevel(HighLevelWrapper):
    def __init__(self, inner: HighLevelPolicy) -> None:
        super().__init__(inner)
        self.times_ms: list[float] = []

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        t0 = time.perf_counter()
        subgoal = self.inner.propose(obs, command)
        self.times_ms.append((time.perf_counter() - t0) * 1e3)
        return subgoal


class LatencyProbe(AgentWrapper):
    """Agent wrapper timing act() (and the high level's propose() when the agent has one); everything else is the
    inner agent's. timing: whether act() calls are recorded now (the warm-up step is recorded either way)."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self.high: _TimedHighLevel | None = None
        if isinstance(getattr(agent, "high", None), HighLevelPolicy):
            # the Agent protocol declares no `high` (hence the ignore), but the isinstance check above found one here
            self.high = agent.high = _TimedHighLevel(agent.high)  # type: ignore[attr-defined]  # see the line above
        self.timing = True
        self.warmup_ms: dict[str, float] = {}  # the first step (and its high-level query), once taken
        self.step_ms: list[float] = []
        self.query_ms: list[float] = []
        self.queried: list[bool] = []
        # the policy whose `predicted` tells whether a step ran the head's network (None: it does not say, e.g. expert)
        policy = getattr(agent, "low", agent)
        self._head: Any = policy if hasattr(type(policy), "predicted") else None
        self.ran: list[bool] = []

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        before = len(self.high.times_ms) if self.high is not None else 0
        t0 = time.perf_counter()
        action = self.inner.act(obs, info)
        ms = (time.perf_counter() - t0) * 1e3
        queries: list[float] = []
        if self.high is not None:
            queries = self.high.times_ms[before:]
            del self.high.times_ms[before:]
        if not self.warmup_ms:  # the first step: lazy loading and first calls, reported apart
            self.warmup_ms = {"control_step": round(ms, 3)}
            if queries:
                self.warmup_ms["high_level_query"] = round(queries.pop(0), 3)
        elif self.timing:
            self.step_ms.append(ms)
            self.queried.append(bool(queries))
            if self._head is not None:
                self.ran.append(bool(self._head.predicted))
        if self.timing:
            self.query_ms.extend(queries)
        return action

    def summary(self) -> dict[str, Any]:
        """p50 / p99 in ms of: every control step, steps without a high-level query, of those the steps that ran the
        head's network (`inference_step_ms`, with `inference_share` = the fraction of all steps that ran it; absent
        for agents without a learned head), high-level queries alone; the fraction of control steps over the
        budget; and `warmup_ms`, the first step (and its query), left out of all of these."""
        steps = np.asarray(self.step_ms)
        if not len(steps):
            return {}
        queried = np.asarray(self.queried, dtype=bool)
        plain = steps[~queried]
        return {"budget_ms": CONTROL_BUDGET_MS, "control_step_ms": _pct(steps), "low_level_step_ms": _pct(plain),
                "high_level_query_ms": _pct(np.asarray(self.query_ms)) if self.high is not None else None,
                "steps_over_budget": round(float(np.mean(steps > CONTROL_BUDGET_MS)), 5), "steps_timed": len(steps),
                "warmup_ms": self.warmup_ms, **self._inference(steps, queried)}

    def _inference(self, steps: np.ndarray, queried: np.ndarray) -> dict[str, Any]:
        """inference_step_ms (steps that ran the head, no high-level query) and inference_share; {} without a head."""
        if self._head is None or len(self.ran) != len(steps):
            return {}
        ran = np.asarray(self.ran, dtype=bool)
        return {"inference_step_ms": _pct(steps[ran & ~queried]), "inference_share": round(float(ran.mean()), 4)}
