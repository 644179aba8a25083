"""hirl: two-level hierarchical imitation and reinforcement learning for robot control in MuJoCo."""
from __future__ import annotations

__version__ = "0.1.0"

from hirl.types import Command, Correction, Subgoal  # noqa: E402

__all__ = ["Command", "Correction", "Subgoal", "__version__"]
