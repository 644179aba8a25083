"""Gymnasium wrappers: checkers pass, rewards are vectorised, the SMDP runs the low level, the predictor drives an agent."""
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from hirl.hierarchy import FixedInterval, HierarchicalAgent
from hirl.types import Command
from hirl.wrappers import AgentPredictor, GoalConditionedEnv, SubgoalEnv, sparse_goal_reward
from tests.fixtures.point_env import GreedyLowLevel, PointGoalEnv, WaypointHighLevel


def test_sparse_goal_reward_vectorised():
    a = np.array([[0.0, 0.0], [1.0, 0.0], [0.03, 0.0]])
    d = np.zeros((3, 2))
    np.testing.assert_array_equal(sparse_goal_reward(a, d, 0.05), [0.0, -1.0, 0.0])
    np.testing.assert_array_equal(sparse_goal_reward(a, d, 0.05, negative=False), [1.0, 0.0, 1.0])
    assert sparse_goal_reward(a[1], d[1], 0.05) == -1.0


def sampler(rng, obs):
    return rng.uniform(-0.5, 0.5, size=2)


@pytest.mark.parametrize("goal_sampler", [None, sampler])
def test_goal_conditioned_env_passes_both_checkers(goal_sampler):
    env = GoalConditionedEnv(PointGoalEnv(), epsilon=0.05, goal_sampler=goal_sampler)
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(GoalConditionedEnv(PointGoalEnv(), epsilon=0.05, goal_sampler=goal_sampler), warn=True)


def test_goal_conditioned_env_reward_follows_set_goal():
    env = GoalConditionedEnv(PointGoalEnv(), epsilon=0.05)
    obs, info = env.reset(seed=0)
    env.set_goal(obs["achieved_goal"] + np.array([0.1, 0.0]))
    obs, reward, terminated, _, info = env.step(np.array([0.0, 0.0], np.float32))
    assert reward == -1.0 and not terminated and not info["is_success"]
    obs, reward, terminated, _, info = env.step(np.array([1.0, 0.0], np.float32))
    assert reward == 0.0 and terminated and info["is_success"]
    batch = env.compute_reward(np.stack([obs["achieved_goal"]] * 4), np.stack([obs["desired_goal"]] * 4), [{}] * 4)
    assert batch.shape == (4,)
    with pytest.raises(ValueError, match="goal shape"):
        env.set_goal(np.zeros(3))
    obs, _ = env.reset(seed=1, options={"goal": [0.2, 0.2]})
    np.testing.assert_array_equal(obs["desired_goal"], [0.2, 0.2])


def test_goal_conditioned_env_rejects_unmatched_spaces():
    from gymnasium import spaces

    env = PointGoalEnv()
    env.observation_space = spaces.Dict({"observation": env.observation_space["observation"],
                                         "achieved_goal": spaces.Box(-1, 1, (3,)), "desired_goal": spaces.Box(-1, 1, (2,))})
    with pytest.raises(ValueError, match="share one space"):
        GoalConditionedEnv(env)


def test_subgoal_env_passes_both_checkers_and_runs_low_level():
    gym_check_env(SubgoalEnv(PointGoalEnv(), GreedyLowLevel(), horizon=10), skip_render_check=True)
    sb3_check_env(SubgoalEnv(PointGoalEnv(), GreedyLowLevel(), horizon=10, relative=True, relative_scale=0.3), warn=True)
    low = GreedyLowLevel()
    env = SubgoalEnv(PointGoalEnv(), low, horizon=10, epsilon=0.01)
    obs, _ = env.reset(seed=0)
    target = obs["achieved_goal"] + np.array([0.25, 0.0])
    action = env.encode(target, obs["achieved_goal"])
    obs, _, _, _, info = env.step(action)
    assert info["reached"] and info["low_steps"] == 3 and low.calls == 3
    np.testing.assert_allclose(info["subgoal"], target, atol=1e-6)
    np.testing.assert_allclose(env.decode(env.encode(target, obs["achieved_goal"]), obs["achieved_goal"]), target, atol=1e-6)
    far = env.encode(np.array([0.99, 0.99]), obs["achieved_goal"])
    *_, info = env.step(far)
    assert info["low_steps"] <= 10
    with pytest.raises(ValueError, match="shape \\(2,\\)"):
        env.step(np.zeros(3, np.float32))


def test_agent_predictor_has_sb3_signature_and_resets_on_episode_start():
    high = WaypointHighLevel()
    agent = HierarchicalAgent(high, GreedyLowLevel(), FixedInterval(5), Command("reach the goal"))
    predictor = AgentPredictor(agent, obs_shape=(2,))
    env = PointGoalEnv()
    obs, _ = env.reset(seed=0)
    action, state = predictor.predict(obs, episode_start=np.array([True]))
    assert action.shape == (2,) and state is None and agent.step_count == 1
    batched = {k: v[None] for k, v in obs.items()}
    action, _ = predictor.predict(batched, deterministic=True)
    assert action.shape == (1, 2) and agent.step_count == 2
    predictor.predict(batched, episode_start=np.array([True]))
    assert agent.step_count == 1
    with pytest.raises(ValueError, match="batch of 3"):
        predictor.predict({k: np.stack([v] * 3) for k, v in obs.items()})
