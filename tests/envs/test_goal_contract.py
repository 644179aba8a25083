"""Every hirl env keeps the goal-env contract it advertises (a Dict observation with achieved_goal / desired_goal and
a compute_reward): compute_reward(achieved_goal, desired_goal, info) of a step is that step's reward, for the
unwrapped env as for the one gym.make returns. SB3's checker and HER rely on it; the unwrapped default Tabletop env
once returned the goal-reaching reward (0 / -1) from compute_reward while its steps paid the chain reward (1 / 0)."""
from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import hirl_envs
from hirl_envs.maze.expert import MazeExpert
from hirl_envs.tabletop.env import TabletopEnv
from hirl_envs.tabletop.expert import TabletopExpert

VARIANTS = [(env_id, {}) for env_id in hirl_envs.ENV_IDS] + [
    ("hirl/Tabletop-v0", {"goal_task": "tower"}), ("hirl/TabletopGoal-v0", {"goal_task": "tower"})]
RANDOM_STEPS = 40  # random-action steps checked per env (then, for chains and the maze, an expert episode, which earns
# the non-zero rewards random actions rarely do)


@pytest.mark.parametrize("env_id", hirl_envs.ENV_IDS)
def test_sb3_and_gymnasium_checkers_pass_on_the_unwrapped_env(env_id: str) -> None:
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3's "we detected your env to be a GoalEnv" notice: it is one
        sb3_check(env.unwrapped, skip_render_check=True)
        gym_check(env.unwrapped, skip_render_check=True)
    env.close()


def _expert(env: gym.Env) -> Any:
    """obs, info -> action of the env's scripted expert."""
    if isinstance(env.unwrapped, TabletopEnv):
        tabletop = TabletopExpert(env, noise=0.0, seed=0)
        return lambda obs, info: tabletop.act_chain(obs, info)[0]
    maze = MazeExpert(env, noise=0.0, seed=0)
    return lambda obs, info: maze.act(obs)[0]


def _assert_reward_is_compute_reward(env: gym.Env, obs: dict[str, np.ndarray], reward: float, info: dict) -> None:
    """The step's reward from compute_reward of the outermost wrapper and of the unwrapped env, one step and a batch."""
    ag, dg = obs["achieved_goal"], obs["desired_goal"]
    for owner in (env, env.unwrapped):
        compute: Any = owner.compute_reward  # type: ignore[attr-defined]  # goal envs (goal_api wrappers, the envs)
        assert float(compute(ag, dg, info)) == reward, (type(owner).__name__, reward, info)
        batch = compute(np.stack([ag, ag]), np.stack([dg, dg]), np.array([info, info], dtype=object))
        np.testing.assert_array_equal(batch, [reward, reward])


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=[f"{i}-{k.get('goal_task', 'default')}" for i, k in VARIANTS])
def test_compute_reward_reproduces_every_step_reward(env_id: str, kwargs: dict[str, Any]) -> None:
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(0)
    obs, info = env.reset(seed=3, options=None if "goal_task" in kwargs or "Maze" in env_id else {"chain_length": 1})
    for _ in range(RANDOM_STEPS):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        _assert_reward_is_compute_reward(env, obs, float(reward), info)
        if terminated or truncated:
            obs, info = env.reset()
    if "goal_task" not in kwargs:  # the expert completes the chain's subtask / reaches the maze goal
        obs, info = env.reset(seed=4, options=None if "Maze" in env_id else {"chain_length": 1})
        act, rewards, done = _expert(env), set(), False
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs, info))
            _assert_reward_is_compute_reward(env, obs, float(reward), info)
            rewards.add(float(reward))
            done = terminated or truncated
        assert len(rewards) == 2, rewards  # both the success and the no-success reward were checked
    env.close()


def test_goal_reward_is_the_goal_reaching_rule_whatever_the_reward_type() -> None:
    for reward_type in ("chain", "goal"):
        env = TabletopEnv(reward_type=reward_type)
        obs, _ = env.reset(seed=1)
        ag, dg = obs["achieved_goal"], obs["desired_goal"]
        assert env.goal_reward(ag, ag) == 0.0
        np.testing.assert_array_equal(env.goal_reward(np.stack([ag, ag]), np.stack([ag, ag + 1.0])), [0.0, -1.0])
        assert env.goal_reward(ag, dg) == TabletopEnv.goal_reward(ag, dg)


def test_chain_compute_reward_without_a_step_info_says_so() -> None:
    env = TabletopEnv()
    obs, info = env.reset(seed=0)
    with pytest.raises(ValueError, match="chain_reward"):
        env.compute_reward(obs["achieved_goal"], obs["desired_goal"], info)  # a reset's info has no step reward
    with pytest.raises(ValueError, match="info=None"):
        env.compute_reward(obs["achieved_goal"], obs["desired_goal"], None)
