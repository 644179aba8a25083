"""The robotics extra: gymnasium-robotics PointMaze through the same wrappers and stage configs. Skipped cleanly
when gymnasium-robotics is not installed (it is optional)."""
import pytest

from hirl.config import load_config
from hirl.errors import InputError
from hirl.integrations import adapter
from hirl.rl.config import RLRunConfig

import hirl.adapters.robotics  # noqa: F401  (registers the gymnasium-robotics adapters)


def test_adapters_register_without_the_extra():
    assert adapter("PointMaze_UMaze-v3").env_id == "PointMaze_UMaze-v3"


def test_missing_extra_is_one_line(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "gymnasium_robotics":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(InputError, match=r"robotics extra: pip install -e '\.\[robotics\]'"):
        adapter("PointMaze_UMaze-v3").make()


def test_pointmaze_low_and_high_stages_run(tmp_path):
    pytest.importorskip("gymnasium_robotics")
    from stable_baselines3.common.env_checker import check_env

    from hirl.rl.envs import GoalCurriculum, low_env
    from hirl.adapters.robotics import maze_goal_points
    from hirl.rl.stages import train_rl

    task = adapter("PointMaze_UMaze-v3").make(max_episode_steps=60)
    points = maze_goal_points(task)
    assert points.shape == (7, 2)
    # the GoalConditionedEnv inside TimeLimit
    check_env(low_env(task, 0.45, 20, GoalCurriculum(points, 1.0, 3.0, 0.5, 0.2)).env, skip_render_check=True)
    common = ["env=PointMaze_UMaze-v3", "env_kwargs={max_episode_steps: 60}", "steps=200", "eval.every=0", "eval.episodes=2",
              "progress=false", "algo.learning_starts=50", "algo.batch_size=32", "algo.net_arch=[16]", "low.episode_steps=20",
              "high.horizon=10", "checkpoint_every=1000"]
    run = tmp_path / "pm"
    assert train_rl(load_config(RLRunConfig, None, ["stage=low", *common]), run)["env_steps"] == 200
    summary = train_rl(load_config(RLRunConfig, None, ["stage=high", *common, "algo.learning_starts=5"]), run)
    assert summary["env_steps"] >= 200 and 0.0 <= summary["final_success_rate"] <= 1.0
