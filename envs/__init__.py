"""hirl's MuJoCo environments. Importing this package registers them with Gymnasium.

    import gymnasium as gym, hirl_envs
    env = gym.make("hirl/Tabletop-v0")
    env = gym.make("hirl/Maze-v0", layout="large")
"""
from __future__ import annotations

import os

# Headless rendering: must be chosen before mujoco is first imported.
os.environ.setdefault("MUJOCO_GL", "egl")

from gymnasium.envs.registration import register, registry

_ENVS = {
    "hirl/Tabletop-v0": ("hirl_envs.tabletop.env:TabletopEnv", 1250),
    "hirl/Maze-v0": ("hirl_envs.maze.env:MazeEnv", 1000),
}

for _env_id, (_entry_point, _max_steps) in _ENVS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point, max_episode_steps=_max_steps)

ENV_IDS: tuple[str, ...] = tuple(_ENVS)
