"""The scripted corrector: watches the agent like a person would, with the env's task state as ground truth.

At every control step (run_episode's on_step, before the agent acts) it compares the active subgoal with the
chain's current subtask (info["current_subtask"]). A subgoal that is wrong (another skill) or stale (the subtask
it names is already done) for `reaction_steps` steps is corrected, except with probability `miss_rate`; the
correction is the canonical instruction or, with probability `paraphrase`, one of the env's shipped paraphrases.
The per-episode log is the effort a person would have spent: interventions, misses, seconds of wrong subgoal."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Mapping

import numpy as np

from hirl.errors import InputError
from hirl.hierarchy.agent import HierarchicalAgent
from hirl.teleop.config import ScriptedCorrectorConfig
from hirl.teleop.recorder import CorrectionRecorder
from hirl.teleop.skills import SkillResolver
from hirl.types import Observation


@dataclass
class EffortLog:
    """One episode of the corrector's effort. dt: control period in seconds."""

    steps: int = 0
    interventions: int = 0
    misses: int = 0
    wrong_steps: int = 0  # steps during which the active subgoal was wrong or stale
    unknown_skill: int = 0  # due corrections to skills outside the high level's vocabulary (not made)
    kinds: dict[str, int] = field(default_factory=lambda: {"wrong": 0, "stale": 0})

    def summary(self, dt: float) -> dict[str, Any]:
        return {"steps": self.steps, "interventions": self.interventions, "misses": self.misses,
                "unknown_skill": self.unknown_skill,
                "watched_seconds": round(self.steps * dt, 3), "wrong_subgoal_seconds": round(self.wrong_steps * dt, 3),
                "wrong": self.kinds["wrong"], "stale": self.kinds["stale"]}


class ScriptedCorrector:
    """on_step hook: corrects the agent through a CorrectionRecorder (which journals every correction).

    canonical   text -> canonical instruction or None (the env's wording map; compares subgoals to the task)
    paraphrases canonical instruction -> the env's shipped paraphrases"""

    def __init__(self, cfg: ScriptedCorrectorConfig, recorder: CorrectionRecorder, resolver: SkillResolver,
                 canonical: Callable[[str], str | None], paraphrases: Callable[[str], list[str]]) -> None:
        self.cfg, self.recorder, self.resolver = cfg, recorder, resolver
        self.canonical, self.paraphrases = canonical, paraphrases
        self.rng = np.random.default_rng(cfg.seed)
        self.log = EffortLog()
        self._wrong_since: int | None = None

    def reset(self) -> None:
        self.log = EffortLog()
        self._wrong_since = None

    def judge(self, agent: HierarchicalAgent, info: Mapping[str, Any]) -> str | None:
        """"wrong", "stale" or None (right, or nothing to judge yet)."""
        target = info.get("current_subtask")
        active = agent.subgoal
        if target is None or active is None:
            return None
        said = self.canonical(active.text) or active.text
        if said == target:
            return None
        return "stale" if said in info.get("completed_subtasks", ()) else "wrong"

    def on_step(self, t: int, agent: HierarchicalAgent, obs: Observation, info: Mapping[str, Any]) -> None:
        self.log.steps += 1
        verdict = self.judge(agent, info)
        if verdict is None:
            self._wrong_since = None
            return
        self.log.wrong_steps += 1
        if self._wrong_since is None:
            self._wrong_since = t
        if t - self._wrong_since < self.cfg.reaction_steps:
            return
        self._wrong_since = t  # whether it corrects or misses, the next reaction needs another delay
        if self.rng.random() < self.cfg.miss_rate:
            self.log.misses += 1
            return
        target = str(info["current_subtask"])
        text = target
        options = self.paraphrases(target)
        if options and self.rng.random() < self.cfg.paraphrase:
            text = str(self.rng.choice(options))
        try:
            resolution = self.resolver.resolve(text)
        except InputError:  # a skill the closed-set high level has never seen: nothing it could learn from
            self.log.unknown_skill += 1
            return
        assert agent.command is not None
        self.recorder.correct(t, agent, obs, resolution, "scripted", agent.command.text, kind=verdict)
        self.log.interventions += 1
        self.log.kinds[verdict] += 1
