"""hirl/Maze-v0 (hirl_envs.maze): the EnvAdapter of the point maze with state subgoals, registered when this module
is imported (hirl.integrations declares it by module)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from hirl.integrations import ENVIRONMENTS, EnvAdapter, unwrapped_as
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.types import Command, Subgoal

if TYPE_CHECKING:
    from hirl_envs.maze.env import MazeEnv


def maze_base(env: gym.Env) -> MazeEnv:
    """env's unwrapped MazeEnv."""
    from hirl_envs.maze.env import MazeEnv

    return unwrapped_as(env, MazeEnv, "a hirl/Maze-v0 env")


def scripted_expert(env: gym.Env, noise: float, seed: int) -> tuple[HighLevelPolicy, LowLevelPolicy]:
    from hirl_envs.maze.expert import MazeExpert

    expert = MazeExpert(env.unwrapped, noise=noise, seed=seed)

    def propose(obs: Any, command: Command) -> Subgoal:
        waypoint, label = expert.next_subgoal(obs)
        return Subgoal("state", waypoint, "expert", label)

    def act(obs: Any, subgoal: Subgoal) -> np.ndarray:
        action = expert.reach(obs, np.asarray(subgoal.value)).astype(np.float64)  # a state subgoal: value (2,)
        if noise > 0:
            action += expert.rng.normal(0.0, noise, size=action.shape)
        return np.clip(action, -1.0, 1.0)

    return ScriptedHighLevel(propose, expert.reset), ScriptedLowLevel(act)


def goal_points(env: gym.Env) -> np.ndarray:
    """(n_free, 2) centres of the maze's free cells: the goals of RL curricula."""
    base = maze_base(env)
    return np.array([base.cell_to_xy(c) for c in base.free_cells()])


ENVIRONMENTS.register("hirl/Maze-v0")(
    lambda: EnvAdapter(
        "hirl/Maze-v0", "state", lambda info: Command("reach the goal"), scripted_expert,
        lambda env: {}, lambda chain_length: None,
        goal_points=goal_points,
    )
)
