"""Rendering of hirl_envs scenes outside their envs (teleop views): the envs' own offscreen renderer."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hirl_envs.mujoco_base import OffscreenRenderer


def offscreen_renderer(model: Any, width: int, height: int) -> OffscreenRenderer:
    """A lazy MuJoCo renderer of ``model`` at width x height, the envs' own kind: freed by its close(), or at
    interpreter exit while the GL context is still valid, and closable from any thread (hirl_envs.mujoco_base)."""
    from hirl_envs.mujoco_base import OffscreenRenderer

    return OffscreenRenderer(model, width, height)
