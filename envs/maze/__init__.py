"""hirl/Maze-v0: point-mass maze navigation (env), its grid layouts, and a BFS + PD expert."""
import hirl_envs.mujoco_base  # noqa: F401  (first: it defaults MUJOCO_GL before mujoco is imported)
from hirl_envs.maze.env import MazeEnv, goal_distance
from hirl_envs.maze.layouts import LAYOUTS, get_layout

__all__ = ["LAYOUTS", "MazeEnv", "get_layout", "goal_distance"]
