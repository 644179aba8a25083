"""The scripted corrector: watches the agent like a person would, with the env's task state as ground truth.

At every control step (run_episode's on_step, before the agent acts) it compares the active subgoal with the
chain's current subtask (info["current_subtask"]). A subgoal that is wrong (another skill) or stale (the subtask
it names is already done) for `reaction_steps` steps is corrected, except with probability `miss_rate`; the
correction is the canonical instruction or, with probability `paraphrase`, one of the env's shipped paraphrases.
When the world undid a subtask (Tabletop's `disturbance` env kwarg) the chain's current subtask is that one again, so
a robot that moves on is corrected by typing it again: such corrections are journalled and counted as kind "redo".

Takeovers (cfg.mode "takeover" or "mixed"; the agent is then a hirl.teleop.sessions.takeover.TakeoverAgent): the corrector
drives with the scripted expert's low level (standing in for a person's teleoperation), labelled with the chain's
current subtask, until the chain advances or takeover_steps pass. "takeover" drives whenever the subgoal is wrong or
stale (a person who never types); "mixed" types a correction when the subgoal is wrong and drives when the right
subgoal has run stall_steps steps without finishing its subtask (the low level is stuck).

A state (or image) subgoal cannot be judged wrong by its text: with such a hierarchy (no resolver: nothing can be
typed) the corrector drives whenever the chain has not advanced for stall_steps steps, in mode "takeover" as in
"mixed", labelled with the chain's current subtask as it is.

The per-episode log is the effort a person would have spent: interventions (corrections + takeovers), misses,
seconds watched (attention: the whole episode), seconds driven, seconds of wrong subgoal."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Mapping

import numpy as np

from hirl.errors import InputError
from hirl.learn.corrections_config import REDO_KIND
from hirl.hierarchy.agent import HierarchicalAgent
from hirl.policies.base import LowLevelPolicy
from hirl.teleop.sessions.config import ScriptedCorrectorConfig
from hirl.teleop.sessions.recorder import CorrectionRecorder
from hirl.teleop.sessions.skills import SkillResolver
from hirl.teleop.sessions.takeover import TakeoverAgent
from hirl.types import Observation, Subgoal


def mismatch(active: str | None, info: Mapping[str, Any], canonical: Callable[[str], str | None] | None) -> str | None:
    """The active subgoal's text vs the chain's subtask due now (info["current_subtask"]): "wrong" (another skill),
    "stale" (a subtask already done) or None (it matches, or there is nothing to judge yet). The scripted corrector
    and the session pages judge with this one rule."""
    target = info.get("current_subtask")
    if target is None or active is None:
        return None
    said = (canonical(active) if canonical is not None else None) or active
    if said == target:
        return None
    return "stale" if said in info.get("completed_subtasks", ()) else "wrong"


def redo_due(info: Mapping[str, Any]) -> bool:
    """The subtask due now is one a disturbance undid (info["disturbances"], hirl.adapters.tabletop_disturbance):
    a correction to it asks for a redo."""
    index = info.get("subtask_index")
    return index is not None and any(d.get("index") == index for d in info.get("disturbances") or ())


@dataclass
class EffortLog:
    """One episode of the corrector's effort. dt: control period in seconds."""

    steps: int = 0
    interventions: int = 0  # language corrections + takeovers
    corrections: int = 0  # language corrections
    takeovers: int = 0  # takeovers started
    takeover_steps: int = 0  # steps driven by the corrector
    misses: int = 0
    wrong_steps: int = 0  # steps during which the active subgoal was wrong or stale
    unknown_skill: int = 0  # due corrections to skills outside the high level's vocabulary (not made)
    kinds: dict[str, int] = field(default_factory=lambda: {"wrong": 0, "stale": 0, "redo": 0})  # corrections by kind

    def summary(self, dt: float) -> dict[str, Any]:
        return {"steps": self.steps, "interventions": self.interventions, "corrections": self.corrections,
                "takeovers": self.takeovers, "takeover_seconds": round(self.takeover_steps * dt, 3),
                "misses": self.misses, "unknown_skill": self.unknown_skill,
                "watched_seconds": round(self.steps * dt, 3), "wrong_subgoal_seconds": round(self.wrong_steps * dt, 3),
                "wrong": self.kinds["wrong"], "stale": self.kinds["stale"], "redo": self.kinds["redo"]}


class ScriptedCorrector:
    """on_step hook: corrects the agent through a CorrectionRecorder (which journals every correction).

    canonical   text -> canonical instruction or None (the env's wording map; compares subgoals to the task)
    paraphrases canonical instruction -> the env's shipped paraphrases
    resolver    the high level's skills (typed corrections); None for a hierarchy whose subgoals are not language
    driver      the low level that stands in for a person's teleoperation (the scripted expert's); needed for the
                "takeover" and "mixed" modes"""

    def __init__(self, cfg: ScriptedCorrectorConfig, recorder: CorrectionRecorder, resolver: SkillResolver | None,
                 canonical: Callable[[str], str | None], paraphrases: Callable[[str], list[str]],
                 driver: LowLevelPolicy | None = None) -> None:
        if cfg.mode != "language" and driver is None:
            raise ValueError(f"corrector mode {cfg.mode!r} needs a driver (the scripted expert's low level)")
        if cfg.mode == "language" and resolver is None:
            raise ValueError("corrector mode 'language' needs a resolver (the language high level's skills)")
        self.cfg, self.recorder, self.resolver = cfg, recorder, resolver
        self.canonical, self.paraphrases, self.driver = canonical, paraphrases, driver
        self.rng = np.random.default_rng(cfg.seed)
        self.log = EffortLog()
        self._wrong_since: int | None = None
        self._right_since: int | None = None  # step since which the right subgoal runs without the chain advancing
        self._done = 0  # completed subtasks at the last step
        self._takeover: tuple[int, int] | None = None  # (start step, completed subtasks then) of the running takeover

    def reset(self) -> None:
        self.log = EffortLog()
        self._wrong_since = self._right_since = self._takeover = None
        self._done = 0

    def judge(self, agent: HierarchicalAgent, info: Mapping[str, Any]) -> str | None:
        """"wrong", "stale" or None (right, nothing to judge yet, or a subgoal that is not language)."""
        g = agent.subgoal
        return mismatch(g.text if g is not None and g.kind == "language" else None, info, self.canonical)

    def on_step(self, t: int, agent: HierarchicalAgent, obs: Observation, info: Mapping[str, Any]) -> None:
        self.log.steps += 1
        done = len(info.get("completed_subtasks", ()))
        progressed, self._done = done > self._done, done
        if self._takeover is not None:
            self._drive(t, agent, done)
            return
        verdict = self.judge(agent, info)
        if verdict is None:
            self._wrong_since = None
            if self._right_since is None or progressed:
                self._right_since = t
            stall_rule = self.cfg.mode == "mixed" or (self.cfg.mode == "takeover" and self.resolver is None)
            if (stall_rule and info.get("current_subtask") is not None
                    and t - self._right_since >= self.cfg.stall_steps):
                self._right_since = t
                self._start_takeover(t, agent, str(info["current_subtask"]), done)
            return
        self._right_since = None
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
        if self.cfg.mode == "takeover":
            self._start_takeover(t, agent, target, done)
            return
        assert self.resolver is not None  # judge() finds only language subgoals wrong: those have one
        text = target
        options = self.paraphrases(target)
        if options and self.rng.random() < self.cfg.paraphrase:
            text = str(self.rng.choice(options))
        try:
            resolution = self.resolver.resolve(text)
        except InputError:  # a skill the closed-set high level has never seen: nothing it could learn from
            self.log.unknown_skill += 1
            return
        if (self.canonical(resolution.skill) or resolution.skill) != target:  # matched another skill: not sent
            self.log.unknown_skill += 1
            return
        if verdict == "wrong" and redo_due(info):  # the robot moved on although the world undid this subtask
            verdict = REDO_KIND
        assert agent.command is not None
        self.recorder.correct(t, agent, obs, resolution, "scripted", agent.command.text, kind=verdict)
        self.log.interventions += 1
        self.log.corrections += 1
        self.log.kinds[verdict] += 1

    def _start_takeover(self, t: int, agent: Any, skill: str, done: int) -> None:
        """Drive `skill` with the driver from this step's action on (the agent must be a TakeoverAgent)."""
        if not isinstance(agent, TakeoverAgent):
            raise TypeError("a takeover needs the agent wrapped in hirl.teleop.sessions.takeover.TakeoverAgent")
        known = skill  # a state hierarchy learns the goal the takeover reaches: the label is only a name
        if self.resolver is not None:
            try:
                known = self.resolver.resolve(skill).skill
            except InputError:
                known = ""
            if (self.canonical(known) or known) != skill:  # not a skill the level could be trained on
                self.log.unknown_skill += 1
                return
        driver = self.driver
        assert driver is not None
        driver.reset()
        goal = Subgoal("language", known, "human")
        agent.start_takeover(lambda obs, _g: driver.act(obs, goal), known, source="scripted")
        self._takeover = (t, done)
        self.log.interventions += 1
        self.log.takeovers += 1
        self.log.takeover_steps += 1

    def _drive(self, t: int, agent: Any, done: int) -> None:
        start, done_then = self._takeover or (t, done)
        if done > done_then or t - start >= self.cfg.takeover_steps:
            agent.stop_takeover()
            self._takeover = None
            self._right_since = t
            return
        self.log.takeover_steps += 1
