"""The optional `robotics` extra: gymnasium-robotics PointMaze / AntMaze as EnvAdapters, so the RL stage configs
(GoalConditionedEnv, SubgoalEnv, HER) run unchanged on environments hirl did not write.

    pip install -e ".[robotics]"
    hirl train experiments/maze/rl_low.yaml env=PointMaze_UMaze-v3 env_kwargs={} --out runs/pointmaze

Importing this module registers them (hirl.integrations.ROBOTICS_ENVS) and needs
nothing; making an env without gymnasium-robotics installed is one InputError line.
Their mazes keep running after success unless continuing_task=False (set by default here), report
info["success"] (mirrored to info["is_success"]) and use a 0/1 sparse reward (used as is: HER recomputes it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from hirl.errors import InputError
from hirl.integrations import ENVIRONMENTS, ROBOTICS_ENVS, EnvAdapter
from hirl.types import Command



class SuccessInfo(gym.Wrapper):
    """Mirrors gymnasium-robotics' info["success"] to hirl's info["is_success"]."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, info = self.env.reset(**kwargs)
        return obs, dict(info, is_success=bool(info.get("success", False)))

    def step(self, action: np.ndarray) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, dict(info, is_success=bool(info.get("success", False)))


def maze_goal_points(env: gym.Env) -> np.ndarray:
    """(N, 2) xy centres of the free cells of a gymnasium-robotics maze (goal/reset cells count as free)."""
    base: Any = env.unwrapped  # a gymnasium-robotics maze env (optional, untyped dependency); .maze is its Maze
    maze = base.maze
    grid = np.array([[0 if c in (0, "g", "r", "c") else 1 for c in row] for row in maze.maze_map])
    return np.array([maze.cell_rowcol_to_xy(rc) for rc in np.argwhere(grid == 0)], dtype=np.float64)


def _no_expert(env: gym.Env, noise: float, seed: int) -> Any:
    raise InputError(f"{env.spec.id if env.spec else 'this env'}: gymnasium-robotics envs have no scripted expert in hirl")


@dataclass(frozen=True)
class RoboticsAdapter(EnvAdapter):
    def make(self, render: bool = False, width: int = 128, height: int = 128, **kwargs: Any) -> gym.Env:
        try:
            import gymnasium_robotics
        except ImportError:
            raise InputError(f"env {self.env_id!r} needs the robotics extra: pip install -e '.[robotics]'") from None
        gym.register_envs(gymnasium_robotics)
        kwargs.setdefault("continuing_task", False)
        if render:
            kwargs.update(render_mode="rgb_array", width=width, height=height)
        return SuccessInfo(gym.make(self.env_id, **kwargs))


for _id in ROBOTICS_ENVS:
    if _id not in ENVIRONMENTS._entries:  # exact check: no plugin loading while plugins load
        ENVIRONMENTS.register(_id)(lambda _id=_id: RoboticsAdapter(
            _id, "state", lambda info: Command("reach the goal"), _no_expert, lambda env: {}, lambda chain_length: None,
            goal_points=maze_goal_points))
