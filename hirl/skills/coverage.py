"""State coverage: which discrete cells of a state space a run of episodes visited (maze cells; Tabletop gripper
voxels), for comparing exploration (DIAYN skills vs a random policy vs SAC+HER) at equal env steps."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

CellFn = Callable[[Any], Hashable]  # one Dict observation -> the cell it is in


class VisitCounter(gym.Wrapper):
    """Records cell_fn(obs) of every observation (reset and step) in `visited`."""

    def __init__(self, env: gym.Env, cell_fn: CellFn) -> None:
        super().__init__(env)
        self.cell_fn = cell_fn
        self.visited: set[Hashable] = set()
        self.steps = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        self.visited.add(self.cell_fn(obs))
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, r, term, trunc, info = self.env.step(action)
        self.visited.add(self.cell_fn(obs))
        self.steps += 1
        return obs, r, term, trunc, info


def maze_cell_fn(env: gym.Env) -> CellFn:
    """The maze cell (row, col) of obs["achieved_goal"]."""
    base: Any = env.unwrapped
    return lambda obs: tuple(int(v) for v in base.xy_to_cell(np.asarray(obs["achieved_goal"])))


def voxel_fn(key: str, idx: list[int], size: float) -> CellFn:
    """The voxel (size m edges) of obs[key][idx], e.g. Tabletop's gripper position obs["observation"][0:3]."""
    return lambda obs: tuple(int(v) for v in np.floor(np.asarray(obs[key])[idx] / size))
