"""The stage MDPs built from hirl.wrappers: SB3's checker passes, the high level's info carries what relabeling
needs, and PersistentReset keeps one task episode across short low-level episodes."""
import numpy as np
from stable_baselines3.common.env_checker import check_env

from hirl.rl.config import HighSpec
from hirl.rl.envs import PersistentReset, high_env
from tests.fixtures.point_env import GreedyLowLevel, PointGoalEnv


def test_high_level_env_passes_sb3_checker_and_reports_segments():
    env = high_env(PointGoalEnv(), GreedyLowLevel(), HighSpec(horizon=5, relative=True, relative_scale=0.3), 0.05, record=True)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    start, before = obs["achieved_goal"].copy(), env.env_steps
    _, reward, _, _, info = env.step(np.array([1.0, 0.0], dtype=np.float32))
    np.testing.assert_allclose(info["start"], start)
    np.testing.assert_allclose(info["subgoal"], start + np.array([0.3, 0.0]))
    assert info["low_actions"].shape == (info["low_steps"], 2)
    assert info["low_obs"]["achieved_goal"].shape == (info["low_steps"], 2)
    assert env.env_steps - before == info["low_steps"]
    assert reward == float(env.compute_reward(info["achieved"], obs["desired_goal"], info))
    np.testing.assert_array_equal(env.compute_reward(np.zeros((3, 2)), np.array([[0, 0], [1, 1], [0.01, 0]]), {}), [0, -1, 0])


def test_persistent_reset_continues_the_task_episode():
    env = PersistentReset(PointGoalEnv(max_steps=3))
    env.reset(seed=0)
    moved, *_ = env.step(np.array([1.0, 0.0], dtype=np.float32))
    again, _ = env.reset()  # the inner episode has not ended: no reset
    np.testing.assert_allclose(again["achieved_goal"], moved["achieved_goal"])
    env.step(np.zeros(2, dtype=np.float32))
    *_, truncated, _ = env.step(np.zeros(2, dtype=np.float32))
    assert truncated
    fresh, _ = env.reset()
    assert not np.allclose(fresh["achieved_goal"], moved["achieved_goal"])


def test_goal_reaching_reward_of_a_chain_reward_task_is_its_goal_reward():
    import gymnasium as gym

    import hirl_envs  # noqa: F401  (registers the envs)
    from hirl.rl.envs import goal_reaching_reward

    chain = gym.make("hirl/Tabletop-v0")  # step reward (and compute_reward): the chain reward, not a function of goals
    obs, _ = chain.reset(seed=0)
    ag, dg = obs["achieved_goal"], obs["desired_goal"]
    reward = goal_reaching_reward(chain)
    assert reward(ag, ag, None) == 0.0 and reward(ag, dg, None) == chain.unwrapped.goal_reward(ag, dg) == -1.0
    np.testing.assert_array_equal(reward(np.stack([ag, ag]), np.stack([ag, dg]), [{}, {}]), [0.0, -1.0])
    point = PointGoalEnv()  # no goal_reward: its compute_reward is the goal-reaching reward
    assert goal_reaching_reward(point) == point.compute_reward
