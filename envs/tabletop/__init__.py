"""Tabletop manipulation environment (hirl/Tabletop-v0): gripper, three blocks, drawer, button and light,
with CALVIN-style chains of language-labelled subtasks and a scripted expert."""
from __future__ import annotations

import hirl_envs.mujoco_base  # noqa: F401  (first: it defaults MUJOCO_GL before mujoco is imported)
from hirl_envs.tabletop.env import TabletopEnv
from hirl_envs.tabletop.expert import TabletopExpert

__all__ = ["TabletopEnv", "TabletopExpert"]
