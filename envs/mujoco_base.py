"""Pieces every hirl MuJoCo environment shares: the 50 Hz clock check, action validation,
physics stepping that reports blow-ups instead of raising, and lazy offscreen rendering."""
from __future__ import annotations

import os
from pathlib import Path

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


def validate_action(action: object, shape: tuple[int, ...], env_name: str) -> np.ndarray:
    """Return the action as a float64 array; raise ValueError naming the expected shape if it is wrong or not finite."""
    try:
        arr = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{env_name}: action must be a numeric array of shape {shape}, got {type(action).__name__}") from exc
    if arr.shape != shape:
        raise ValueError(f"{env_name}: action must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{env_name}: action of shape {shape} contains NaN or inf: {arr}")
    return arr


_INSTABILITY = np.array(
    [mujoco.mjtWarning.mjWARN_BADQACC, mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL], dtype=int
)


def step_physics(model: mujoco.MjModel, data: mujoco.MjData, n_substeps: int) -> str | None:
    """Advance n_substeps physics steps. Returns None, or a one-line description of a physics blow-up so the env
    can end the episode with info["physics_error"]. MuJoCo itself flags NaN/huge qpos, qvel and qacc with its
    instability warnings (and resets the state), so counting those warnings catches every blow-up cheaply."""
    before = data.warning.number[_INSTABILITY]
    mujoco.mj_step(model, data, nstep=n_substeps)
    grew = data.warning.number[_INSTABILITY] > before
    if grew.any():
        name = ("bad qacc", "bad qpos", "bad qvel")[int(np.argmax(grew))]
        return f"MuJoCo warning: {name} (unstable simulation) at t={data.time:.3f}s"
    return None


class OffscreenRenderer:
    """Creates the MuJoCo renderer on first use (so envs that never render pay nothing) and renders a camera to uint8 HxWx3."""

    def __init__(self, model: mujoco.MjModel, width: int, height: int, camera: str | int = -1) -> None:
        self.model, self.width, self.height, self.camera = model, width, height, camera
        self._renderer: mujoco.Renderer | None = None

    def render(self, data: mujoco.MjData) -> np.ndarray:
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, height=self.height, width=self.width)
        self._renderer.update_scene(data, camera=self.camera)
        return self._renderer.render().copy()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
