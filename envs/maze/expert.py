"""Scripted maze expert: BFS over the grid -> corner waypoints -> PD controller.

`MazeExpert.reach` doubles as a scripted low-level policy for arbitrary state subgoals (straight line,
assumes no wall in between); `MazeExpert.next_subgoal` gives the high-level (state, language) subgoal.
"""
from __future__ import annotations

from collections.abc import Mapping

import gymnasium as gym
import numpy as np

from hirl_envs.maze.env import MazeEnv
from hirl_envs.maze.layouts import Cell, bfs_path

KP = 3.0  # proportional gain (action per metre of error); saturates beyond 1/3 m
KD = 0.1  # derivative gain (action per m/s); with the MJCF damping gives damping ratio ~0.7
WAYPOINT_RADIUS = 0.3  # metres: switch to the next intermediate waypoint inside this radius of the current one
OFF_CENTRE = 0.28  # metres: if the robot is further than this off the first segment's axis, go via its cell centre first


def _with_article(region: str) -> str:
    """'north room' -> 'the north room'; 'the centre' stays."""
    return region if region.startswith("the ") else f"the {region}"


class MazeExpert:
    """Full expert for hirl/Maze-v0: plans with BFS, follows corner waypoints with a PD controller.

    Observations are the env's dicts: "observation" (4,) [x, y, vx, vy], "achieved_goal" (2,),
    "desired_goal" (2,). Actions are (2,) float32 in [-1, 1].
    """

    def __init__(
        self,
        env: gym.Env | MazeEnv,
        noise: float = 0.0,  # std of Gaussian noise added to every action (before clipping)
        seed: int | None = None,  # seed of the expert's own noise generator (independent of the env's)
        waypoint_radius: float = WAYPOINT_RADIUS,  # metres; see WAYPOINT_RADIUS
    ) -> None:
        unwrapped = env.unwrapped
        if not isinstance(unwrapped, MazeEnv):
            raise TypeError(f"MazeExpert needs a MazeEnv, got {type(unwrapped).__name__}")
        self.env: MazeEnv = unwrapped
        self.noise, self.waypoint_radius = float(noise), float(waypoint_radius)
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        """Forget the current plan (call at every episode start)."""
        self._waypoints: list[np.ndarray] = []
        self._path_cells: set[Cell] = set()
        self._idx = 0
        self._goal: np.ndarray | None = None

    # ------------------------------------------------------------------ planning
    def plan(self, obs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Plan from the robot's cell to the goal; store and return the waypoints, each (2,) float64 xy.

        Waypoints are the centres of the cells where the BFS path turns, then the goal itself, so the
        straight segments between consecutive waypoints run along free corridors."""
        env = self.env
        pos = np.asarray(obs["achieved_goal"], dtype=np.float64)
        goal = np.asarray(obs["desired_goal"], dtype=np.float64)
        start, goal_cell = self._robot_cell(pos), env.xy_to_cell(goal)
        path = bfs_path(env.layout, start, goal_cell)
        waypoints: list[np.ndarray] = []
        if len(path) > 1:
            first_dir = np.array([path[1][1] - path[0][1], path[0][0] - path[1][0]], dtype=np.float64)  # (dx, dy)
            offset = pos - env.cell_to_xy(start)
            perpendicular = abs(offset[0] * first_dir[1] - offset[1] * first_dir[0])
            if perpendicular > OFF_CENTRE * env.cell_size:
                waypoints.append(env.cell_to_xy(start))
        for i in range(1, len(path) - 1):
            d_in = (path[i][0] - path[i - 1][0], path[i][1] - path[i - 1][1])
            d_out = (path[i + 1][0] - path[i][0], path[i + 1][1] - path[i][1])
            if d_in != d_out:
                waypoints.append(env.cell_to_xy(path[i]))
        waypoints.append(goal.copy())
        self._waypoints, self._idx, self._goal = waypoints, 0, goal.copy()
        self._path_cells = set(path)
        return [w.copy() for w in waypoints]

    def next_subgoal(self, obs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, str]:
        """Current waypoint (2,) float64 and its language label; advances past reached waypoints.

        Replans when the goal changed or the robot left the planned path's cells."""
        pos = np.asarray(obs["achieved_goal"], dtype=np.float64)
        goal = np.asarray(obs["desired_goal"], dtype=np.float64)
        if (
            not self._waypoints
            or self._goal is None
            or not np.allclose(goal, self._goal)
            or self._robot_cell(pos) not in self._path_cells
        ):
            self.plan(obs)
        while self._idx < len(self._waypoints) - 1 and np.linalg.norm(self._waypoints[self._idx] - pos) < self.waypoint_radius:
            self._idx += 1
        waypoint = self._waypoints[self._idx]
        region = _with_article(self.env.region_name(waypoint))
        label = f"go to the goal in {region}" if self._idx == len(self._waypoints) - 1 else f"go to {region}"
        return waypoint.copy(), label

    # ------------------------------------------------------------------ control
    def reach(self, obs: Mapping[str, np.ndarray], target_xy: np.ndarray) -> np.ndarray:
        """PD action (2,) float32 in [-1, 1] driving the robot in a straight line to target_xy (2,).

        Direction-preserving saturation: the command is scaled down, not clipped per axis."""
        state = np.asarray(obs["observation"], dtype=np.float64)
        a = KP * (np.asarray(target_xy, dtype=np.float64)[:2] - state[:2]) - KD * state[2:4]
        peak = np.max(np.abs(a))
        if peak > 1.0:
            a = a / peak
        return a.astype(np.float32)

    def act(self, obs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, str]:
        """Full expert: (action (2,) float32, current waypoint (2,) float64, language label)."""
        waypoint, label = self.next_subgoal(obs)
        action = self.reach(obs, waypoint).astype(np.float64)
        if self.noise > 0:
            action = action + self.rng.normal(0.0, self.noise, size=2)
        return np.clip(action, -1.0, 1.0).astype(np.float32), waypoint, label

    # ------------------------------------------------------------------ internals
    def _robot_cell(self, pos: np.ndarray) -> Cell:
        """Cell of pos (2,), or the nearest free cell if contact penetration put the centre over a wall cell."""
        cell = self.env.xy_to_cell(pos)
        if self.env.is_free(cell):
            return cell
        free = self.env.free_cells()
        centres = np.array([self.env.cell_to_xy(c) for c in free])
        return free[int(np.argmin(np.linalg.norm(centres - pos, axis=1)))]
