"""The OGBench env adapter: ids, evaluation task ids, OGBench's success as hirl's, the goal observation."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ogbench")

from hirl.adapters.ogbench.adapter import OGBENCH_ENVS, PREFIX, command
from hirl.adapters.ogbench.env import OgbenchEnv, maze_cells, ogbench_names
from hirl.errors import InputError
from hirl.integrations import adapter


def test_every_state_based_ogbench_env_is_registered() -> None:
    assert sorted(OGBENCH_ENVS) == ogbench_names()
    for name in OGBENCH_ENVS:
        assert adapter(PREFIX + name).env_id == PREFIX + name


def test_task_ids_goal_observation_and_seed_cycle() -> None:
    env = adapter("ogbench/pointmaze-medium-v0").make()
    base = env.unwrapped
    for k in (1, 3, 5):
        obs, info = env.reset(seed=7, options={"task_id": k})
        assert info["task"] == [base.task_name(k)] and info["task_id"] == k
        np.testing.assert_array_equal(obs["desired_goal"], info["goal"])  # OGBench's goal observation
        assert obs["observation"].shape == info["goal"].shape == (2,)
        cmd = command(info)
        assert cmd.subtasks == (base.task_name(k),)
    ids = [env.reset(seed=100_000 + i)[1]["task_id"] for i in range(10)]  # hirl eval: episode i -> (seed + i) % 5 + 1
    assert ids == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    env.close()


def test_ogbench_success_is_hirl_success() -> None:
    env = adapter("ogbench/pointmaze-medium-v0").make()
    base = env.unwrapped
    env.reset(seed=0, options={"task_id": 2})
    _, _, terminated, _, info = env.step(np.zeros(2))
    assert not info["is_success"] and not info["success"] and info["completed_subtasks"] == []
    base.base.set_xy(np.asarray(base.base.cur_goal_xy))  # put the point on the goal: OGBench reports success
    _, reward, terminated, _, info = env.step(np.zeros(2))
    assert info["success"] and info["is_success"] and terminated and reward == 1.0
    assert info["completed_subtasks"] == info["task"] == [base.task_name(2)]
    env.close()


def test_manipulation_env_goal_and_step_limit() -> None:
    env = adapter("ogbench/cube-single-v0").make()
    obs, info = env.reset(seed=3)
    assert obs["observation"].shape == (28,) and info["goal"].shape == (28,)
    assert not np.allclose(obs["observation"], obs["desired_goal"])
    assert env.unwrapped.spec_steps == 200  # OGBench's step limit for cube-single
    env.close()


def test_bad_collection_styles_and_unsupported_envs() -> None:
    with pytest.raises(ValueError, match="navigate"):
        OgbenchEnv("scene-v0", collection="navigate")
    with pytest.raises(InputError, match="ant / humanoid"):
        OgbenchEnv("antmaze-large-v0")
    with pytest.raises(InputError, match="evaluation tasks"):
        env = adapter("ogbench/puzzle-3x3-v0").make()
        env.reset(seed=0)
        env.unwrapped.oracle_action()
    with pytest.raises(TypeError, match="collection, max_episode_steps"):
        adapter("ogbench/scene-v0").make(layout="x")


def test_maze_vertex_cells_exclude_corridor_middles() -> None:
    m = np.array([[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 1, 1, 1, 1]])
    free, vertex = maze_cells(m)
    assert free == [(1, 1), (1, 2), (1, 3), (2, 3)]
    assert vertex == [(1, 1), (1, 3), (2, 3)]  # (1, 2) is the middle of a horizontal corridor


def test_hirl_renders_headless_when_ogbench_imports_mujoco_first() -> None:
    """OGBench (through dm_control) imports mujoco before hirl_envs sets MUJOCO_GL: hirl's own import sets it, so a
    process that never set it still renders without a display (it picked GLFW and failed before)."""
    import os
    import subprocess
    import sys

    script = ("from hirl.integrations import adapter\nimport hirl.learn.gc_plugin\n"
              "e = adapter('ogbench/pointmaze-medium-v0').make(); e.reset(seed=0); e.close()\n"
              "import gymnasium as gym\nt = gym.make('hirl/Tabletop-v0', render_mode='rgb_array', width=32, height=32)\n"
              "t.reset(seed=0); print(t.render().shape); t.close()\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr.strip().splitlines()[-1]
    assert out.stdout.strip().endswith("(32, 32, 3)")
