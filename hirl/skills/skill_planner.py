"""A planner over skills of fixed duration (e.g. discovered DIAYN skills): a nearest-neighbour model of where each skill
ends from where it starts, fitted on rollout segments, and a search over skill sequences toward the goal.

    model = SkillOutcomeModel(n_skills); model.add(start (F,), z, end (F,)) ...
    high = SkillPlanner(library, model, depth=3)     # propose(): the first skill of the best sequence
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from hirl.policies.base import HighLevelPolicy
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
