"""hirl/Maze-v0: a point-mass robot in a grid maze, goal-conditioned (HER-ready Dict observations).

Coordinates: cell (r, c) has its centre at x = (c + 0.5 - cols / 2) * cell_size,
y = (rows / 2 - r - 0.5) * cell_size, so the maze is centred on the origin, row 0 is north (+y)
and column 0 is west (-x).
"""
from __future__ import annotations

import math
from typing import Any
from collections.abc import Sequence

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from hirl_envs.maze.layouts import Cell, get_layout
from hirl_envs.mujoco_base import (
    CONTROL_DT,
    OffscreenRenderer,
    SnapshotMixin,
    asset_path,
    check_control_rate,
    clipped_action,
    step_physics,
)

ENV_NAME = "hirl/Maze-v0"
CELL_SIZE = 1.0  # metres per grid cell; the MJCF robot (radius 0.1 m, 2.4 m/s top speed) is tuned for this
WALL_HALF_HEIGHT = 0.25  # metres; low walls keep the top-down camera view unoccluded
MAX_SPEED = 10.0  # m/s bound of the velocity observation (free-motion top speed is 2.4 m/s)

_ROW_NAMES = ("north", "", "south")
_COL_NAMES = ("west", "", "east")


def goal_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Euclidean distance between xy points: (2,) x (2,) -> float, (B, 2) x (B, 2) -> (B,)."""
    d = np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), axis=-1)
    return float(d) if np.ndim(d) == 0 else d


class MazeEnv(SnapshotMixin, gym.Env):
    """Point-mass maze navigation at 50 Hz with a goal-conditioned Dict observation.

    Observation (dict, all float64):
        "observation":   (4,) [x, y, vx, vy] of the robot (m, m/s)
        "achieved_goal": (2,) [x, y] of the robot
        "desired_goal":  (2,) [x, y] of the goal
    Action: (2,) float32 in [-1, 1], motor force command along x and y (terminal speed 2.4 m/s per unit).
    Reward: 0.0 if the robot is within `eps` of the goal else -1.0 (sparse, Fetch/SB3 convention).
    The episode terminates on success (unless continuing=True) or on a physics blow-up
    (info["physics_error"]); truncation comes from the registered TimeLimit.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": round(1.0 / CONTROL_DT)}

    def __init__(
        self,
        layout: str | Sequence[Sequence[int]] | np.ndarray = "u",  # maze name ("u", "medium", "large") or a 0/1 grid
        render_mode: str | None = None,  # None or "rgb_array"
        width: int = 128,  # rendered image width in pixels
        height: int = 128,  # rendered image height in pixels
        eps: float = 0.45,  # success radius in metres (PointMaze's value for 1 m cells: roughly "inside the goal cell")
        continuing: bool = False,  # if True, reaching the goal does not terminate the episode
        cell_noise: float = 0.25,  # start/goal are uniform within +-cell_noise * cell_size of their cell centre
        frame_skip: int = 4,  # physics steps per control step: 4 x 0.005 s = 0.02 s (50 Hz)
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"{ENV_NAME}: render_mode must be None or 'rgb_array', got {render_mode!r}")
        if not 0.0 <= cell_noise < 0.4:
            raise ValueError(
                f"{ENV_NAME}: cell_noise must be in [0, 0.4) so the robot starts clear of walls, got {cell_noise}")
        if eps <= 0:
            raise ValueError(f"{ENV_NAME}: eps must be positive, got {eps}")
        self.layout: np.ndarray = get_layout(layout)  # (rows, cols) int8, 1 = wall
        self.layout_name: str = layout if isinstance(layout, str) else "custom"
        self.cell_size = CELL_SIZE
        self.eps, self.continuing, self.cell_noise = float(eps), bool(continuing), float(cell_noise)
        self.render_mode, self.width, self.height = render_mode, int(width), int(height)
        self.frame_skip = int(frame_skip)

        self.model = mujoco.MjModel.from_xml_string(self._build_xml())
        self.data = mujoco.MjData(self.model)
        check_control_rate(self.model, self.frame_skip, ENV_NAME)
        self._goal_site = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, "goal")
        self._free: np.ndarray = np.argwhere(self.layout == 0)  # (n_free, 2) rows/cols of free cells

        rows, cols = self.layout.shape
        half = np.array([cols, rows], dtype=np.float64) * self.cell_size / 2.0
        goal_space = spaces.Box(-half, half, shape=(2,), dtype=np.float64)
        obs_high = np.concatenate([half, [MAX_SPEED, MAX_SPEED]])
        self.observation_space = spaces.Dict(
            {
                "observation": spaces.Box(-obs_high, obs_high, shape=(4,), dtype=np.float64),
                "achieved_goal": goal_space,
                "desired_goal": goal_space,
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

        self.goal: np.ndarray = self.cell_to_xy(tuple(self._free[-1]))  # (2,) goal xy, resampled on reset
        self._last_obs: dict[str, np.ndarray] | None = None
        self._renderer: OffscreenRenderer | None = None

    # ------------------------------------------------------------------ geometry helpers
    @property
    def dt(self) -> float:
        """Control period in seconds (0.02)."""
        return float(self.model.opt.timestep * self.frame_skip)

    @property
    def maze_size(self) -> tuple[int, int]:
        """Grid shape (rows, cols), border walls included."""
        return (int(self.layout.shape[0]), int(self.layout.shape[1]))

    @property
    def extent(self) -> np.ndarray:
        """(2,) half-width and half-height of the maze in metres (x, y)."""
        return np.array([self.layout.shape[1], self.layout.shape[0]], dtype=np.float64) * self.cell_size / 2.0

    def cell_to_xy(self, cell: Sequence[int]) -> np.ndarray:
        """Centre (2,) float64 [x, y] of grid cell (row, col)."""
        r, c = int(cell[0]), int(cell[1])
        rows, cols = self.layout.shape
        return np.array([(c + 0.5 - cols / 2.0) * self.cell_size, (rows / 2.0 - r - 0.5) * self.cell_size])

    def xy_to_cell(self, xy: np.ndarray) -> Cell:
        """Grid cell (row, col) containing the point xy (2,); may lie outside the grid for outside points."""
        x, y = float(xy[0]), float(xy[1])
        rows, cols = self.layout.shape
        return (int(np.floor(rows / 2.0 - y / self.cell_size)), int(np.floor(x / self.cell_size + cols / 2.0)))

    def free_cells(self) -> list[Cell]:
        """All free cells as (row, col), row-major order."""
        return [(int(r), int(c)) for r, c in self._free]

    def is_free(self, cell: Sequence[int]) -> bool:
        """True if (row, col) is inside the grid and not a wall."""
        r, c = int(cell[0]), int(cell[1])
        return 0 <= r < self.layout.shape[0] and 0 <= c < self.layout.shape[1] and self.layout[r, c] == 0

    def region_name(self, xy: np.ndarray) -> str:
        """Coarse compass region of the point xy (2,): the maze interior (border walls excluded) split 3x3.

        Returns e.g. "north-east room", "north room", "west room", or "the centre"."""
        rows, cols = self.layout.shape
        inner = np.array([cols - 2, rows - 2], dtype=np.float64) * self.cell_size  # interior width, height
        fx = (float(xy[0]) + inner[0] / 2.0) / inner[0]  # 0 at the west interior edge, 1 at the east
        fy = (inner[1] / 2.0 - float(xy[1])) / inner[1]  # 0 at the north interior edge, 1 at the south
        ci, ri = int(np.clip(np.floor(fx * 3), 0, 2)), int(np.clip(np.floor(fy * 3), 0, 2))
        parts = [p for p in (_ROW_NAMES[ri], _COL_NAMES[ci]) if p]
        return "the centre" if not parts else "-".join(parts) + " room"

    def goal_distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
        """Euclidean distance, (2,) -> float or (B, 2) -> (B,)."""
        return goal_distance(a, b)

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any = None) -> np.ndarray | float:
        """Sparse reward, vectorised: (2,) -> float, (B, 2) -> (B,) float64; 0.0 within eps, else -1.0."""
        d = goal_distance(achieved_goal, desired_goal)
        r = -(np.asarray(d) > self.eps).astype(np.float64)
        return float(r) if r.ndim == 0 else r

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Sample start and goal cells (distinct, uniform over free cells; options 'start_cell' / 'goal_cell' fix them)."""
        super().reset(seed=seed)
        options = options or {}
        start_cell = self._option_cell(options, "start_cell")
        goal_cell = self._option_cell(options, "goal_cell")
        if start_cell is None:
            if goal_cell is None:
                i, j = self.np_random.choice(len(self._free), size=2, replace=False)
                start_cell, goal_cell = tuple(self._free[i]), tuple(self._free[j])
            else:
                start_cell = self._sample_cell(exclude=goal_cell)
        elif goal_cell is None:
            goal_cell = self._sample_cell(exclude=start_cell)
        elif start_cell == goal_cell:
            raise ValueError(f"{ENV_NAME}: start_cell and goal_cell must differ, both are {start_cell}")
        start = self.cell_to_xy(start_cell) + self._cell_jitter()
        self.goal = self.cell_to_xy(goal_cell) + self._cell_jitter()

        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:2] = start
        self.data.qvel[:2] = 0.0
        self.model.site_pos[self._goal_site, :2] = self.goal
        mujoco.mj_forward(self.model, self.data)
        obs = self._get_obs()
        self._last_obs = obs
        info = {"is_success": bool(self.compute_reward(obs["achieved_goal"], obs["desired_goal"]) == 0.0),
                "start_cell": (int(start_cell[0]), int(start_cell[1])), "goal_cell": (int(goal_cell[0]), int(goal_cell[1]))}
        return obs, info

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply a (2,) action for one 0.02 s control step. Never raises on physics blow-ups."""
        self.data.ctrl[:2] = clipped_action(action, (2,), ENV_NAME)
        error = step_physics(self.model, self.data, self.frame_skip)
        if error is not None:
            # The state is garbage (or was reset by MuJoCo): report the last valid observation and end the episode.
            obs = self._last_obs if self._last_obs is not None else self._get_obs()
            return obs, -1.0, True, False, {"is_success": False, "physics_error": error}
        obs = self._get_obs()
        self._last_obs = obs
        x, y = obs["achieved_goal"].tolist()
        gx, gy = self.goal.tolist()
        success = math.hypot(x - gx, y - gy) <= self.eps  # scalar form of compute_reward: same rule, a tenth of the cost
        return obs, 0.0 if success else -1.0, success and not self.continuing, False, {"is_success": success}

    def render(self) -> np.ndarray | None:
        """Top-down (height, width, 3) uint8 image of the whole maze, or None if render_mode is None."""
        if self.render_mode is None:
            return None
        if self._renderer is None:
            self._renderer = OffscreenRenderer(self.model, self.width, self.height, camera="top")
        return self._renderer.render(self.data)

    def close(self) -> None:
        """Release the offscreen renderer."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ------------------------------------------------------------------ internals
    def _get_obs(self) -> dict[str, np.ndarray]:
        """{"observation": (4,) [x, y, vx, vy], "achieved_goal": (2,) [x, y], "desired_goal": (2,)}, float64 copies."""
        state = np.concatenate((self.data.qpos[:2], self.data.qvel[:2]))
        return {"observation": state, "achieved_goal": state[:2].copy(), "desired_goal": self.goal.astype(np.float64)}

    def _option_cell(self, options: dict[str, Any], key: str) -> Cell | None:
        if options.get(key) is None:
            return None
        cell = tuple(int(v) for v in np.asarray(options[key]).reshape(-1))
        if len(cell) != 2 or not self.is_free(cell):
            raise ValueError(f"{ENV_NAME}: {key} {options[key]!r} is not a free cell of the {self.maze_size} maze")
        return cell

    def _sample_cell(self, exclude: Cell) -> Cell:
        choices = [i for i, rc in enumerate(self._free) if tuple(rc) != tuple(exclude)]
        r, c = self._free[choices[int(self.np_random.integers(len(choices)))]]
        return int(r), int(c)

    def _cell_jitter(self) -> np.ndarray:
        return self.np_random.uniform(-self.cell_noise, self.cell_noise, size=2) * self.cell_size

    def _build_xml(self) -> str:
        """MJCF text: the template with floor/camera sized to the layout and one box per horizontal run of wall cells."""
        rows, cols = self.layout.shape
        hx, hy = cols * self.cell_size / 2.0, rows * self.cell_size / 2.0
        walls = []
        for r in range(rows):
            c = 0
            while c < cols:
                if self.layout[r, c] != 1:
                    c += 1
                    continue
                c_end = c
                while c_end + 1 < cols and self.layout[r, c_end + 1] == 1:
                    c_end += 1
                x0, y = self.cell_to_xy((r, c))
                x1, _ = self.cell_to_xy((r, c_end))
                half_len = (c_end - c + 1) * self.cell_size / 2.0
                walls.append(
                    f'<geom name="wall_{r}_{c}" type="box" pos="{(x0 + x1) / 2:.4f} {y:.4f} {WALL_HALF_HEIGHT}" '
                    f'size="{half_len:.4f} {self.cell_size / 2:.4f} {WALL_HALF_HEIGHT}" '
                    'material="wall" contype="0" conaffinity="1"/>'
                )
                c = c_end + 1
        fovy_half = np.deg2rad(45.0) / 2.0
        cam_z = 1.04 * max(hx, hy) / np.tan(fovy_half) + 2 * WALL_HALF_HEIGHT
        xml = asset_path("maze_base.xml").read_text()
        floor = f"{max(hx, hy) + 2:.3f}"
        for key, value in {"__FLOOR_HX__": floor, "__FLOOR_HY__": floor, "__CAM_Z__": f"{cam_z:.3f}",
                           "__TEXREPEAT__": "1", "<!--WALLS-->": "\n    ".join(walls)}.items():
            xml = xml.replace(key, value)
        return xml
