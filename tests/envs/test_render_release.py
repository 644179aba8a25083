"""An env's offscreen renderer is released cleanly: by env.close() (from any thread, not only the one that rendered)
and, for an env never closed, at interpreter exit while MuJoCo's EGL display still exists, so a process that
rendered prints no "Exception ignored in: <function Renderer.__del__>" / EGLError on its way out."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import gymnasium as gym
import pytest

import hirl_envs  # noqa: F401  (registers the envs)
from hirl_envs import mujoco_base

ROOT = Path(__file__).resolve().parents[2]
RENDER_ENV_IDS = ("hirl/Tabletop-v0", "hirl/Maze-v0")  # the ids whose envs render (rgb_array)

# argv: env id, where it renders ("main" or "thread"), whether it closes the env (on the main thread) before exit
RENDER_AND_EXIT = """
import sys, threading
import gymnasium as gym
env_id, where, close = sys.argv[1], sys.argv[2], sys.argv[3] == "close"
env = gym.make(env_id, render_mode="rgb_array")
env.reset(seed=0)
if where == "main":
    frame = env.render()
else:
    frames = []
    worker = threading.Thread(target=lambda: frames.append(env.render()))
    worker.start()
    worker.join()
    frame = frames[0]
assert frame.ndim == 3 and frame.shape[2] == 3, frame.shape
if close:
    env.close()
print("rendered", frame.shape)
"""


@pytest.mark.parametrize("env_id", RENDER_ENV_IDS)
@pytest.mark.parametrize(("where", "close"), [("main", "open"), ("thread", "open"), ("thread", "close")])
def test_a_process_that_rendered_exits_without_renderer_errors(env_id: str, where: str, close: str) -> None:
    env = {**os.environ, "MUJOCO_GL": "egl"}
    out = subprocess.run([sys.executable, "-c", RENDER_AND_EXIT, env_id, where, close], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "rendered" in out.stdout, out.stderr[-3000:]
    for bad in ("Exception ignored", "EGLError", "Traceback"):
        assert bad not in out.stderr, out.stderr[-3000:]


def test_close_and_the_exit_hook_free_the_renderer() -> None:
    before = mujoco_base.live_renderers()
    env = gym.make("hirl/Maze-v0", render_mode="rgb_array", width=32, height=32)
    env.reset(seed=0)
    env.render()
    assert mujoco_base.live_renderers() == before + 1
    env.close()
    assert mujoco_base.live_renderers() == before
    other = gym.make("hirl/Tabletop-v0", render_mode="rgb_array", width=32, height=32)
    other.reset(seed=0)
    worker = threading.Thread(target=other.render)  # rendered on another thread, released by the exit hook here
    worker.start()
    worker.join()
    assert mujoco_base.live_renderers() == before + 1
    mujoco_base.close_live_renderers()
    assert mujoco_base.live_renderers() == 0
    assert other.render().shape == (32, 32, 3)  # a closed renderer is made again on the next frame
    other.close()
