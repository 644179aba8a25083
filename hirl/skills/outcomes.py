"""Rollout outcomes of a frozen low level, the training data of affordance models: episodes of free play in which a
random high level picks skills (half of the time among those the env's initiation sets admit, else any skill, so the
data holds the failures of skills that cannot work), each run until its detector fires (success) or its timeout
(failure).

    data = collect_outcomes(env, low, library, episodes=200, seed=0, obs_keys=("observation", "touch"))
    data["obs"] (N, S) float32, data["skill"] (N,) int64 (index into library.names), data["success"] (N,) bool
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.rollout import run_episode
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.obs import obs_vector
from hirl.skills.library import SkillLibrary
from hirl.types import Command, Observation, Subgoal


class RandomSkills(HighLevelPolicy):
    """Uniformly random skills; with probability `admissible` only among those whose initiation set holds."""

    def __init__(self, library: SkillLibrary, seed: int = 0, admissible: float = 0.5) -> None:
        self.library, self.admissible = library, float(admissible)
        self.rng = np.random.default_rng(seed)

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        names = self.library.names
        if self.rng.random() < self.admissible:
            ok = [n for n in names if self.library.get(n).initiation.why_not(self.library.get(n), obs, {}) is None]
            names = ok or names
        return self.library.get(str(self.rng.choice(names))).subgoal


MIN_STEPS = 3  # a skill whose detector fires within this many control steps already held at its start: a no-op


def segment_outcomes(trace: Sequence[Any], starts: Mapping[int, np.ndarray], library: SkillLibrary
                     ) -> list[tuple[np.ndarray, int, bool]]:
    """(obs vector at the segment start, skill index, success) of every skill segment of a SkillAgent trace that
    ended by "completion" (success, unless within MIN_STEPS: the skill's goal already held, it achieved nothing) or
    "timeout" (failure); the segment the episode cut short is dropped."""
    out: list[tuple[np.ndarray, int, bool]] = []
    index = {n: i for i, n in enumerate(library.names)}
    open_seg: tuple[int, str] | None = None
    for e in trace:
        if e.reason is None:
            continue
        if open_seg is not None and e.reason in ("completion", "timeout"):
            step, name = open_seg
            out.append((starts[step], index[name], e.reason == "completion" and e.step - step > MIN_STEPS))
        skill = library.of(e.subgoal)
        open_seg = (e.step, skill.name) if skill is not None else None
    return out


def collect_outcomes(env: Any, low: LowLevelPolicy, library: SkillLibrary, episodes: int, seed: int,
                     obs_keys: Sequence[str], options: dict[str, Any] | None = None, admissible: float = 0.5
                     ) -> dict[str, np.ndarray]:
    """Skill outcomes of `episodes` free-play episodes (env reset with seed + i and options, e.g. Tabletop's
    {"goal_task": "play"}); skills end by their detector or after their own timeout (build the library with the
    timeout the outcomes should use, e.g. SkillLibrary.for_env(env_id, timeout=150))."""
    agent = HierarchicalAgent(RandomSkills(library, seed, admissible), low, library.termination(env))
    rows: list[tuple[np.ndarray, int, bool]] = []
    for i in range(episodes):
        starts: dict[int, np.ndarray] = {}

        def keep(t: int, a: Any, obs: Observation, info: Mapping[str, Any], starts: dict[int, np.ndarray] = starts) -> None:
            starts[t] = obs_vector(obs, obs_keys)

        run_episode(env, agent, lambda info: Command("play"), seed=seed + i, options=options, on_step=keep)
        rows += segment_outcomes(agent.trace, starts, library)
    if not rows:
        raise RuntimeError("collect_outcomes: no skill segment ended within the episodes")
    obs, skill, success = zip(*rows, strict=True)
    return {"obs": np.stack(obs).astype(np.float32), "skill": np.asarray(skill, dtype=np.int64),
            "success": np.asarray(success, dtype=bool)}
