"""RL low level on Tabletop position goals: GoalComponents restricts the 14-d goal to the gripper (or a block),
the goal-reaching MDP passes SB3's checker, and a short stage low run trains and evaluates on reaching goals."""
import json
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env

from hirl.config import load_config
from hirl.integrations import adapter
from hirl.rl.config import RLRunConfig
from hirl.rl.task import evaluate_success, goal_curriculum, make_task
from hirl.rl.stages import train_rl
from hirl.wrappers import GoalComponents, GoalConditionedEnv


CONFIG = Path(__file__).resolve().parents[2] / "experiments" / "tabletop" / "rl_low_gripper.yaml"


def tabletop_cfg(*extra):
    return load_config(RLRunConfig, CONFIG, ["progress=false", *extra])


def test_goal_components_project_the_goal_and_share_one_space():
    env = GoalComponents(adapter("hirl/Tabletop-v0").make(), [3, 4, 5])
    obs, _ = env.reset(seed=0)
    full = env.unwrapped._achieved_goal()
    np.testing.assert_allclose(obs["achieved_goal"], full[3:6])
    assert obs["desired_goal"].shape == (3,)
    assert env.observation_space["achieved_goal"] == env.observation_space["desired_goal"]
    raw = env.unwrapped._obs()
    goal_keys = ("observation", "achieved_goal", "desired_goal")
    extra = [raw[k] for k in env.unwrapped.observation_space.spaces if k not in goal_keys]
    assert extra, "Tabletop has observation entries besides the goal ones (velocity, ...)"
    np.testing.assert_allclose(obs["observation"], np.concatenate([raw["observation"], *extra]))  # the others appended
    assert set(obs) == {"observation", "achieved_goal", "desired_goal"}
    assert env.observation_space["observation"].shape == obs["observation"].shape
    np.testing.assert_allclose(env.project(np.arange(28.0).reshape(2, 14)), [[3, 4, 5], [17, 18, 19]])
    with pytest.raises(ValueError, match="distinct components of the 14-d goal"):
        GoalComponents(adapter("hirl/Tabletop-v0").make(), [0, 14])


def test_gripper_goal_mdp_passes_sb3_checker_with_curriculum_goals():
    cfg = tabletop_cfg()
    task = make_task(cfg)
    cur = goal_curriculum(cfg, task)
    assert cur.points.shape[1] == 3 and len(cur.points) == 315  # the gripper grid, duplicates dropped
    env = GoalConditionedEnv(task, epsilon=cfg.low.epsilon, goal_sampler=cur)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=1)
    assert np.linalg.norm(obs["desired_goal"] - obs["achieved_goal"]) <= cur.radius + 0.05  # within the radius + jitter


class _GoalReacher:
    """A proportional gripper controller towards desired_goal (gain 20 x `on`; on=0: stands still), as an Agent."""

    step_count = num_queries = num_replans = 0
    subgoal = None

    def __init__(self, on: float) -> None:
        self.gain = 20.0 * on

    def reset(self, command=None) -> None:
        pass

    def act(self, obs, info=None) -> np.ndarray:
        return np.append(np.clip(self.gain * (obs["desired_goal"] - obs["achieved_goal"]), -1, 1), 0.0).astype(np.float32)


def test_tabletop_gripper_stage_trains_and_evaluates_on_goals(tmp_path):
    cfg = tabletop_cfg("steps=300", "checkpoint_every=150", "eval.every=150", "eval.episodes=2", "algo.learning_starts=50",
                       "algo.batch_size=32", "algo.buffer_size=2000", "algo.net_arch=[16, 16]", "low.episode_steps=20")
    summary = train_rl(cfg, tmp_path / "run")
    assert summary["env_steps"] == 300 and [p["env_steps"] for p in summary["curve"]] == [150, 300]
    assert all(p["success_rate"] in (0.0, 0.5, 1.0) for p in summary["curve"])  # fractions of the eval.episodes=2 episodes
    # the same goal evaluation credits a controller that reaches the goals, and not one that stands still
    assert evaluate_success(lambda env: _GoalReacher(1), cfg, 2)["success_rate"] == 1.0
    assert evaluate_success(lambda env: _GoalReacher(0), cfg, 2)["success_rate"] == 0.0
    saved = json.loads((tmp_path / "run" / "train" / "low" / "summary.json").read_text())
    assert saved["final_success_rate"] == summary["curve"][-1]["success_rate"]
