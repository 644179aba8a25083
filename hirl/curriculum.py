"""Staged vs shuffled training schedules, shared by the imitation low level (skills by name) and the RL low level
(goal distances): a staged schedule trains the simplest stage first and adds one stage at a time, each stage starting
from the weights the last one ended with; a shuffled schedule trains on everything from the first step.

    spec = CurriculumSpec(schedule="staged", stages=[["push the button", "*drawer"], ["pick up *"], ["*"]], fraction=0.5)
    spec.stage_at(progress)            # 0 .. len(stages) - 1: the stages [0, k] are in play at this point of training
    stage_of_skill(spec, vocab)        # (V,) the stage each skill name enters at (the first stage with a matching pattern)

With n stages the first `fraction` of the budget is split into n equal parts; stage k runs in part k and the last
stage (every skill) from part n - 1 to the end.
"""
from __future__ import annotations

import bisect
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hirl.config import FieldError
from hirl.errors import InputError

SCHEDULES = ("shuffled", "staged")  # schedules over named skills (CurriculumSpec)
GOAL_SCHEDULES = ("linear", "staged", "shuffled")  # schedules of the RL low level's goal radius (hirl.rl.envs.GoalCurriculum)


def stage_at(progress: float, n_stages: int, fraction: float) -> int:
    """The stage (0 .. n_stages - 1) in play at `progress` in [0, 1] of training (module docstring)."""
    if n_stages <= 1 or fraction <= 0:
        return max(0, n_stages - 1)
    return min(n_stages - 1, int(float(progress) / fraction * n_stages))


@dataclass(frozen=True)
class CurriculumSpec:
    """A schedule over named skills (YAML `curriculum:` of an imitation run; applies to its low levels)."""

    schedule: str = "shuffled"  # shuffled: every skill from the first step | staged: stages[0] first, then one more at a time
    # skill-name patterns (fnmatch, e.g. "pick up *") per stage, simplest first; every skill must match one; staged needs >= 2
    stages: list[list[str]] = field(default_factory=list)
    fraction: float = 0.5  # share of the budget the stages split equally; every skill is trained after it

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise FieldError("schedule", f"must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not 0 < self.fraction <= 1:
            raise FieldError("fraction", f"must be in (0, 1], got {self.fraction}")
        if self.schedule == "staged" and len(self.stages) < 2:
            raise FieldError("stages", "a staged schedule needs at least 2 stages of skill-name patterns")
        if any(not stage or not all(isinstance(p, str) and p for p in stage) for stage in self.stages):
            raise FieldError("stages", "every stage must list at least one non-empty skill-name pattern")

    @property
    def staged(self) -> bool:
        return self.schedule == "staged"

    def stage_at(self, progress: float) -> int:
        """The last stage in play at `progress` in [0, 1] (all stages, i.e. every skill, when shuffled)."""
        return stage_at(progress, len(self.stages), self.fraction) if self.staged else max(0, len(self.stages) - 1)

    def stage_of_step(self, step: int, max_steps: int) -> int:
        """The last stage in play at optimizer step `step` (1-based) of a `max_steps` budget."""
        return self.stage_at((step - 1) / max_steps)

    def stage_starts(self, max_steps: int) -> list[int]:
        """The first optimizer step (1-based) of each stage in a `max_steps` budget (max_steps + 1: never reached)."""
        steps = range(1, max_steps + 1)
        return [bisect.bisect_left(steps, k, key=lambda s: self.stage_of_step(s, max_steps)) + 1
                for k in range(len(self.stages))]


def stage_of_skill(spec: CurriculumSpec, skills: Sequence[str]) -> np.ndarray:
    """(V,) int64: for each skill name the first stage with a pattern matching it. A skill no stage matches is a
    one InputError line naming it (add a pattern, or "*" to the last stage)."""
    out = np.full(len(skills), -1, dtype=np.int64)
    for i, name in enumerate(skills):
        for k, patterns in enumerate(spec.stages):
            if any(fnmatch.fnmatchcase(name, p) for p in patterns):
                out[i] = k
                break
    missing = [s for s, k in zip(skills, out, strict=True) if k < 0]
    if missing:
        raise InputError(f"curriculum.stages: no stage matches skill(s) {missing}: add a pattern (or '*' to the last stage)")
    return out
