"""hirl: two-level hierarchical imitation and reinforcement learning for robot control in MuJoCo.

    import hirl
    agent = hirl.load_agent("runs/demo/run", "hier_language")   # any trained agent of a run, in one call
"""
from __future__ import annotations

import os

# Headless EGL unless the user chose a backend: MuJoCo reads MUJOCO_GL once, when `mujoco` is first imported, and
# OGBench / dm_control import it before hirl_envs.mujoco_base (which sets the same default) when they come first;
# with the default (GLFW) and no display, every render then fails.
os.environ.setdefault("MUJOCO_GL", "egl")

from typing import TYPE_CHECKING, Any

from hirl.types import Command, Correction, Subgoal
from hirl.version import __version__

if TYPE_CHECKING:
    import gymnasium as gym


def load_agent(run: Any, name: str, env: gym.Env | None = None, **kwargs: Any) -> Any:
    """Agent `name` of a trained run (see hirl.runs.load_agent; env None: the run's own env is made for it)."""
    from hirl.runs import load_agent as _load

    return _load(run, name, env, **kwargs)


def make_env(run: Any, render: bool = False) -> gym.Env:
    """The env a trained run's agents are evaluated in (same id and gym.make arguments as in training)."""
    from hirl.runs import RunDir, run_kind

    run_dir = RunDir(run).require()
    kind = run_kind(run_dir.kind())
    return kind.make_env(kind.load_config(run_dir), render=render)


__all__ = ["Command", "Correction", "Subgoal", "__version__", "load_agent", "make_env"]
