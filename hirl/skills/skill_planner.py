"""A planner over skills of fixed duration (e.g. discovered DIAYN skills): a nearest-neighbour model of where each skill
ends from where it starts, fitted on rollout segments, and a search over skill sequences toward the goal.

    model = SkillOutcomeModel(n_skills); model.add(start (F,), z, end (F,)) ...
    model = fit_outcome_model(env, low, n_skills, horizon, steps, seed)   # ... or from random skill chains in env
    high = SkillPlanner(library, model, depth=3)     # propose(): the first skill of the best sequence
    agent = planner_agent(library, model, low)       # the planner driving the skills (HierarchicalAgent)
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from hirl.hierarchy import HierarchicalAgent
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.skills.library import SkillLibrary
from hirl.types import Command, Observation, Subgoal


class SkillOutcomeModel:
    """predict(start (F,), z) = start + mean displacement of the k segments of skill z that started nearest to start."""

    def __init__(self, n_skills: int, k: int = 5) -> None:
        self.n_skills, self.k = int(n_skills), int(k)
        self._rows: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_skills)]
        self._arrays: list[tuple[np.ndarray, np.ndarray]] | None = None

    def add(self, start: np.ndarray, z: int, end: np.ndarray) -> None:
        self._rows[int(z)].append((np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)))
        self._arrays = None

    def __len__(self) -> int:
        return sum(len(r) for r in self._rows)

    def _fit(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if self._arrays is None:
            if not len(self):
                raise ValueError("SkillOutcomeModel: no segments")
            dim = next(len(r[0][0]) for r in self._rows if r)
            self._arrays = [(np.stack([s for s, _ in r]), np.stack([e - s for s, e in r])) if r
                            else (np.zeros((0, dim)), np.zeros((0, dim))) for r in self._rows]
        return self._arrays

    def segments(self) -> list[tuple[np.ndarray, int, np.ndarray]]:
        """Every (start (F,), z, end (F,)) added, skill by skill."""
        return [(st, z, e) for z, rows in enumerate(self._rows) for st, e in rows]

    def heldout_error(self, held_out: SkillOutcomeModel) -> dict[str, float]:
        """How well this model predicts another one's segments: mean ||predict(start, z) - end|| ("error") vs the mean
        distance the skills moved ("displacement", the error of predicting no motion), in state units."""
        segs = held_out.segments()
        if not segs:
            raise ValueError("SkillOutcomeModel.heldout_error: the held-out model has no segments")
        err = [float(np.linalg.norm(self.predict(st, z) - e)) for st, z, e in segs]
        moved = [float(np.linalg.norm(e - st)) for st, z, e in segs]
        return {"segments": len(segs), "error": float(np.mean(err)), "displacement": float(np.mean(moved))}

    def predict(self, start: np.ndarray, z: int) -> np.ndarray:
        """(F,) predicted end of skill z from start (F,) (start itself for a skill without segments)."""
        starts, disp = self._fit()[int(z)]
        if not len(starts):
            return np.asarray(start, dtype=np.float64)
        d = np.linalg.norm(starts - start, axis=1)
        near = np.argsort(d)[: self.k]
        return np.asarray(start + disp[near].mean(axis=0))


class SkillPlanner(HighLevelPolicy):
    """Exhaustive search over skill sequences of length <= depth (K^depth leaves); proposes the first skill of the
    sequence whose predicted end (after any prefix) comes nearest to obs[goal_key]. The start is obs[state_key]."""

    def __init__(self, library: SkillLibrary, model: SkillOutcomeModel, depth: int = 3, state_key: str = "achieved_goal",
                 goal_key: str = "desired_goal") -> None:
        if depth < 1:
            raise ValueError(f"SkillPlanner.depth must be >= 1, got {depth}")
        self.library, self.model, self.depth = library, model, int(depth)
        self.state_key, self.goal_key = state_key, goal_key

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        if not isinstance(obs, Mapping):
            raise TypeError("SkillPlanner needs Dict observations")
        start = np.asarray(obs[self.state_key], dtype=np.float64)
        goal = np.asarray(obs[self.goal_key], dtype=np.float64)
        k = self.model.n_skills
        best, best_first = np.inf, 0
        cache: dict[tuple[int, ...], np.ndarray] = {(): start}
        for n in range(1, self.depth + 1):
            for seq in itertools.product(range(k), repeat=n):
                pos = self.model.predict(cache[seq[:-1]], seq[-1])
                cache[seq] = pos
                d = float(np.linalg.norm(pos - goal))
                if d < best - 1e-9:
                    best, best_first = d, seq[0]
        return self.library.get(self.library.names[best_first]).subgoal


def achieved_goal(obs: Observation) -> np.ndarray:
    """The default planner state of a Dict observation: obs["achieved_goal"] (G,)."""
    if not isinstance(obs, Mapping):
        raise TypeError("achieved_goal needs Dict observations")
    return np.asarray(obs["achieved_goal"], dtype=np.float64)


def fit_outcome_model(env: Any, low: LowLevelPolicy, n_skills: int, horizon: int, steps: int, seed: int,
                      state: Callable[[Observation], np.ndarray] = achieved_goal, chain: int = 4,
                      segment: int | None = None) -> SkillOutcomeModel:
    """A SkillOutcomeModel from `steps` env steps of random skill chains: episodes reset with seed * 10_000 + i, each
    `chain` uniformly random skills (rng seed + 7) of `horizon` steps with the one-hot skill as subgoal; every
    `segment` steps of a skill (default: the whole horizon) add (state(obs) at the piece's start, z, state(obs) at its
    end), the outcome of running skill z that long. A piece cut short by the episode's end is dropped (its steps still
    count). state: obs -> (F,) planner state, the one SkillPlanner plans over."""
    seg = horizon if segment is None else int(segment)
    if not 1 <= seg <= horizon:
        raise ValueError(f"fit_outcome_model: segment must be in [1, horizon={horizon}], got {segment}")
    model = SkillOutcomeModel(n_skills)
    rng = np.random.default_rng(seed + 7)
    used, ep = 0, 0
    while used < steps:
        obs, _ = env.reset(seed=seed * 10_000 + ep)
        ep += 1
        for _ in range(chain):
            z = int(rng.integers(n_skills))
            start = np.asarray(state(obs), dtype=np.float64).copy()
            onehot = Subgoal("state", np.eye(n_skills)[z])
            done = False
            for t in range(horizon):
                obs, _, terminated, truncated, _ = env.step(low.act(obs, onehot))
                used += 1
                if terminated or truncated:
                    done = True
                    break
                if (t + 1) % seg == 0:
                    end = np.asarray(state(obs), dtype=np.float64).copy()
                    model.add(start, z, end)
                    start = end
            if done:
                break
    return model


def planner_agent(library: SkillLibrary, model: SkillOutcomeModel, low: LowLevelPolicy, depth: int = 3,
                  state_key: str = "achieved_goal", goal_key: str = "desired_goal", env: Any = None,
                  commit: int | None = None) -> HierarchicalAgent:
    """The SkillPlanner over library's skills driving `low`, each skill ended by its own detector / timeout
    (library.termination(env): pass the env when the library's env adapter needs it for its detectors). commit: run
    each chosen skill at most this many control steps before planning again (its timeout; default the skill's own),
    with a model fitted on pieces of that length (fit_outcome_model(..., segment=commit))."""
    if commit is not None:
        library = SkillLibrary([replace(s, timeout=int(commit)) for s in library], library.env_id)
    return HierarchicalAgent(SkillPlanner(library, model, depth, state_key, goal_key), low, library.termination(env))
