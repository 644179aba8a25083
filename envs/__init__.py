"""hirl's MuJoCo environments, registered with Gymnasium.

    import gymnasium as gym
    env = gym.make("hirl/Tabletop-v0")           # chain reward (1.0 when a subtask completes)
    env = gym.make("hirl/TabletopGoal-v0")       # goal reward (compute_reward, 0 / -1): for HER
    env = gym.make("hirl/Maze-v0", layout="large")

No import is needed first: the installed hirl distribution declares register_envs in the "gymnasium.envs" entry-point
group and its start-up hook (autoregister.py, shipped as a .pth file) calls it when gymnasium is imported. Importing
this package registers them too (idempotent), as does gym.make("hirl_envs:hirl/Maze-v0").
"""
from __future__ import annotations

from typing import Any

# id -> (entry point, max_episode_steps, constructor kwargs); every id's outermost wrapper is goal_api.GoalReward
ENV_SPECS: dict[str, tuple[str, int, dict[str, Any]]] = {
    "hirl/Tabletop-v0": ("hirl_envs.tabletop.env:TabletopEnv", 1250, {}),
    "hirl/TabletopGoal-v0": ("hirl_envs.tabletop.env:TabletopEnv", 1250, {"reward_type": "goal"}),
    "hirl/Maze-v0": ("hirl_envs.maze.env:MazeEnv", 1000, {}),
}
ENV_IDS: tuple[str, ...] = tuple(ENV_SPECS)


def register_envs() -> None:
    """Register every id of ENV_SPECS with Gymnasium (ids already registered are left alone)."""
    from gymnasium.envs.registration import WrapperSpec, register, registry

    outer = WrapperSpec("GoalReward", "hirl_envs.goal_api:GoalReward", {})
    for env_id, (entry_point, max_steps, kwargs) in ENV_SPECS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps, kwargs=dict(kwargs),
                     additional_wrappers=(outer,))


register_envs()
