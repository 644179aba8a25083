"""Camera views of a live session, rendered at the size the page displays them (no upscaled thumbnails).

    views = Views(env)                       # on the simulation thread (MuJoCo's GL context belongs to it)
    rgb = views.render("front", 640, 480)    # (480, 640, 3) uint8
    views.close()

VIEWS names what a page can ask for: "front" is the env's own camera (for Tabletop the fixed "front" camera, so
what a policy was trained to see); "top" looks straight down on the table, oriented like "front" (up on the screen
is away from the robot's base, +x), which is the view the teleop keys are aligned with. An env that is not MuJoCo
(no .model / .data) gets its own env.render() for every view. Sizes are clamped to [MIN_SIDE, MAX_SIDE] and
rounded to a multiple of 16, so a resizing window does not create a renderer per pixel."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

VIEWS = ("front", "top")  # what /api/frame.jpg?view= accepts
MIN_SIDE, MAX_SIDE = 64, 960  # rendered width / height bounds (pixels)
MAX_RENDERERS = 4  # renderers kept (one per view and size); the oldest is freed beyond this
# the top view: a free camera above the table centre, looking down, screen-up = +x (like the front camera)
TOP_LOOKAT, TOP_DISTANCE, TOP_AZIMUTH, TOP_ELEVATION = (0.50, 0.0, 0.0), 1.25, 0.0, -89.9
# Tabletop's "front" camera sees the dark background beyond the table's far edge in the top ~12 % of its frame: the
# front view of a scene with a "table" geom is rendered this much taller and that top band dropped (same camera, same
# visible workspace, the displayed size exactly)
FRONT_CROP_TOP = 0.14


def snap(side: int) -> int:
    """A requested side -> the rendered one (clamped, a multiple of 16)."""
    return int(min(MAX_SIDE, max(MIN_SIDE, 16 * round(int(side) / 16))))


class Views:
    """Renders the session's views; call every method from the simulation thread."""

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        base = env.unwrapped
        self.model, self.data = getattr(base, "model", None), getattr(base, "data", None)
        self._renderers: dict[tuple[str, int, int], Any] = {}
        if self.model is not None:
            import mujoco

            from hirl.adapters.render import offscreen_renderer

            self._new_renderer = offscreen_renderer
            if getattr(self.model, "vis", None) is not None:  # the offscreen buffer must hold the largest view
                g = self.model.vis.global_
                tall = int(MAX_SIDE / (1 - FRONT_CROP_TOP)) + 16
                g.offwidth, g.offheight = max(int(g.offwidth), MAX_SIDE), max(int(g.offheight), tall)
            self._mujoco = mujoco
            names = {self.model.camera(i).name for i in range(self.model.ncam)}
            self._front: Any = "front" if "front" in names else -1
            geoms = {self.model.geom(i).name for i in range(self.model.ngeom)}
            self._crop = FRONT_CROP_TOP if "front" in names and "table" in geoms else 0.0  # of the front view

    def render(self, view: str, width: int, height: int) -> np.ndarray | None:
        """(height', width', 3) uint8 of the view at the snapped size; None when the env cannot render."""
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r} (known: {', '.join(VIEWS)})")
        if self.model is None or self.data is None:
            frame = self.env.render()
            return frame if isinstance(frame, np.ndarray) else None
        w, h = snap(width), snap(height)
        rows = round(h / (1 - self._crop)) if view == "front" else h  # rendered rows; the top rows - h dropped
        key = (view, w, rows)
        renderer = self._renderers.get(key)
        if renderer is None:
            if len(self._renderers) >= MAX_RENDERERS:
                old = next(iter(self._renderers))
                self._renderers.pop(old).close()
            renderer = self._renderers[key] = self._new_renderer(self.model, w, rows)
        self._mujoco.mj_forward(self.model, self.data)
        return renderer.render(self.data, camera=self._camera(view))[rows - h:]

    def _camera(self, view: str) -> Any:
        if view == "front":
            return self._front
        cam = self._mujoco.MjvCamera()
        cam.type = self._mujoco.mjtCamera.mjCAMERA_FREE
        cam.lookat[:] = TOP_LOOKAT
        cam.distance, cam.azimuth, cam.elevation = TOP_DISTANCE, TOP_AZIMUTH, TOP_ELEVATION
        return cam

    def close(self) -> None:
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()
