"""Pieces every hirl MuJoCo environment shares: the 50 Hz clock check, action validation,
physics stepping that reports blow-ups instead of raising, and lazy offscreen rendering."""
from __future__ import annotations

import atexit
import copy
import math
import os
import sys
import weakref
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco
import numpy as np

CONTROL_DT = 0.02  # seconds per control step: every hirl env runs its controller at 50 Hz
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


def asset_path(name: str) -> Path:
    """Absolute path of an MJCF file in assets/ (works from a checkout and from an installed wheel)."""
    for base in (ASSETS_DIR, Path(__file__).resolve().parent / "assets"):
        if (base / name).is_file():
            return base / name
    try:  # installed wheel: assets ship as the package hirl_envs.assets
        from importlib.resources import files

        candidate = Path(str(files("hirl_envs.assets") / name))
        if candidate.is_file():
            return candidate
    except ModuleNotFoundError:
        pass
    raise FileNotFoundError(f"MJCF asset {name!r} not found in {ASSETS_DIR}")


def check_control_rate(model: mujoco.MjModel, frame_skip: int, env_name: str) -> None:
    """Raise ValueError unless timestep * frame_skip is exactly the 50 Hz control period."""
    dt = model.opt.timestep * frame_skip
    if not np.isclose(dt, CONTROL_DT, rtol=0, atol=1e-9):
        raise ValueError(
            f"{env_name}: timestep {model.opt.timestep} x frame_skip {frame_skip} = {dt:.6f} s, "
            f"but the controller must run at 50 Hz ({CONTROL_DT} s)"
        )


def clipped_action(action: object, shape: tuple[int, ...], env_name: str) -> np.ndarray:
    """The action as a float64 array of `shape` clipped to [-1, 1]; ValueError naming the expected shape if it is
    wrong or not finite. A float ndarray of the right 1-D shape (what policies pass) takes a path of plain Python
    floats: on Maze, whose physics costs ~11 us per control step, numpy's per-call overhead was a quarter of it."""
    if isinstance(action, np.ndarray) and action.shape == shape and len(shape) == 1 and action.dtype.kind == "f":
        values = action.tolist()
        if not all(map(math.isfinite, values)):
            raise ValueError(f"{env_name}: action of shape {shape} contains NaN or inf: {action}")
        return np.array([min(1.0, max(-1.0, v)) for v in values])
    try:
        arr = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{env_name}: action must be a numeric array of shape {shape}, got {type(action).__name__}") from exc
    if arr.shape != shape:
        raise ValueError(f"{env_name}: action must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{env_name}: action of shape {shape} contains NaN or inf: {arr}")
    return np.clip(arr, -1.0, 1.0)


# MuJoCo's instability warnings (it flags NaN / huge qacc, qpos, qvel and resets the state) and their names
_INSTABILITY = ((int(mujoco.mjtWarning.mjWARN_BADQACC), "bad qacc"), (int(mujoco.mjtWarning.mjWARN_BADQPOS), "bad qpos"),
                (int(mujoco.mjtWarning.mjWARN_BADQVEL), "bad qvel"))


def step_physics(model: mujoco.MjModel, data: mujoco.MjData, n_substeps: int) -> str | None:
    """Advance n_substeps physics steps. Returns None, or a one-line description of a physics blow-up so the env
    can end the episode with info["physics_error"]. MuJoCo itself flags NaN/huge qpos, qvel and qacc with its
    instability warnings (and resets the state), so counting those warnings catches every blow-up cheaply."""
    counts = data.warning.number  # a live view of data's warning counters
    before = counts.tolist()
    mujoco.mj_step(model, data, nstep=n_substeps)
    after = counts.tolist()
    for i, name in _INSTABILITY:
        if after[i] > before[i]:
            return f"MuJoCo warning: {name} (unstable simulation) at t={data.time:.3f}s"
    return None


# Every OffscreenRenderer holding an open mujoco.Renderer (close_live_renderers closes them at interpreter exit).
_LIVE_RENDERERS: weakref.WeakSet[OffscreenRenderer] = weakref.WeakSet()
_EXIT_RELEASE_REGISTERED = False  # whether close_live_renderers is registered with atexit (once, after the first renderer)


def close_live_renderers() -> None:
    """Close every OffscreenRenderer that still holds an open MuJoCo renderer.

    Registered with atexit right after the process's first renderer is made, that is after MuJoCo's EGL backend
    registered the termination of its display (done when it creates its first context); atexit runs last-in
    first-out, so the renderers are released while their contexts are still valid, instead of by Renderer.__del__
    during interpreter teardown."""
    for renderer in list(_LIVE_RENDERERS):
        renderer.close()


def live_renderers() -> int:
    """How many OffscreenRenderers hold an open MuJoCo renderer (for tests and leak checks)."""
    return len(_LIVE_RENDERERS)


def _release_gl_context() -> None:
    """Make no EGL context current on this thread, so that whichever thread frees a renderer next (an env's close on
    another thread, the garbage collector, the exit hook) can bind its context. MuJoCo leaves a renderer's context
    current after creating it and after each frame, and EGL refuses to bind a context current on another thread
    (EGL_BAD_ACCESS). Only EGL, the backend hirl selects, is released: with MUJOCO_GL=osmesa or glfw a renderer has
    to be closed on the thread that rendered with it last."""
    egl: Any = sys.modules.get("mujoco.egl")
    if egl is not None and egl.EGL_DISPLAY is not None:
        api = egl.EGL
        api.eglMakeCurrent(egl.EGL_DISPLAY, api.EGL_NO_SURFACE, api.EGL_NO_SURFACE, api.EGL_NO_CONTEXT)


def _register_exit_release() -> None:
    """atexit.register(close_live_renderers), once; called after a renderer exists, so it runs before MuJoCo's own
    EGL exit hook."""
    global _EXIT_RELEASE_REGISTERED
    if not _EXIT_RELEASE_REGISTERED:
        atexit.register(close_live_renderers)
        _EXIT_RELEASE_REGISTERED = True


class OffscreenRenderer:
    """Creates the MuJoCo renderer on first use (so envs that never render pay nothing) and renders a camera to uint8
    HxWx3. close() frees it (a later render makes a new one); one still open at interpreter exit is closed by
    close_live_renderers. Its GL context is never left current, so any thread may render with it or close it."""

    def __init__(self, model: mujoco.MjModel, width: int, height: int, camera: str | int = -1) -> None:
        self.model, self.width, self.height, self.camera = model, width, height, camera
        self._renderer: mujoco.Renderer | None = None

    def render(self, data: mujoco.MjData, camera: str | int | mujoco.MjvCamera | None = None) -> np.ndarray:
        """The frame of ``camera`` (default: the one given at construction) for the state in ``data``."""
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, height=self.height, width=self.width)
            _release_gl_context()
            _LIVE_RENDERERS.add(self)
            _register_exit_release()
        self._renderer.update_scene(data, camera=self.camera if camera is None else camera)
        try:
            return self._renderer.render().copy()
        finally:
            _release_gl_context()

    def close(self) -> None:
        """Free the GL resources now."""
        if self._renderer is not None:
            _LIVE_RENDERERS.discard(self)
            self._renderer.close()
            self._renderer = None


# env attributes a snapshot leaves alone: the model (restore() re-applies what an env writes into it), the physics
# data (copied whole with mj_copyData instead) and the renderer (GL resources: never copied)
SNAPSHOT_SHARED = frozenset({"model", "data", "_renderer", "action_space", "observation_space", "spec", "metadata"})


class EnvSnapshot:
    """An env's exact state at one moment: a copy of its whole MjData (state and derived quantities: contacts, sensor
    values, warm start) and a deep copy of its Python-side attributes (counters, chain, random generator, ...).
    Taken by SnapshotMixin.snapshot()."""

    def __init__(self, data: mujoco.MjData, attributes: dict[str, Any]) -> None:
        self.data, self.attributes = data, attributes


class SnapshotMixin:
    """snapshot() / restore(snapshot) for a MuJoCo gym env holding `model` and `data`: a look-ahead (the scripted
    expert run k steps further to see where it goes) steps the env itself and then puts it back exactly, so the
    episode continues bit for bit as if nothing had happened (tests/envs/test_snapshot.py).

    An env whose step writes into its model (Tabletop's light colour) re-applies that in _after_restore()."""

    model: mujoco.MjModel
    data: mujoco.MjData

    def snapshot(self) -> EnvSnapshot:
        attributes = {k: v for k, v in vars(self).items() if k not in SNAPSHOT_SHARED}
        return EnvSnapshot(copy.copy(self.data), copy.deepcopy(attributes))

    def restore(self, snapshot: EnvSnapshot) -> None:
        """Put the env back into the state `snapshot` was taken in (the snapshot stays usable; self.data stays the
        same object, so whatever holds it -- a renderer -- keeps working)."""
        mujoco.mj_copyData(self.data, self.model, snapshot.data)
        vars(self).update(copy.deepcopy(snapshot.attributes))
        self._after_restore()

    def _after_restore(self) -> None:
        """Re-apply what the env's step writes into its model (default: nothing)."""
