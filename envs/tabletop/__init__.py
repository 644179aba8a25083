"""Tabletop manipulation environment (hirl/Tabletop-v0): gripper, three blocks, drawer, button and light,
with CALVIN-style chains of language-labelled subtasks and a scripted expert."""
from __future__ import annotations

from hirl_envs.tabletop.env import TabletopEnv
from hirl_envs.tabletop.expert import TabletopExpert

__all__ = ["TabletopEnv", "TabletopExpert"]
