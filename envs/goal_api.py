"""The goal-env contract on the env gym.make returns: Gymnasium 1.x wrappers (TimeLimit, OrderEnforcing,
PassiveEnvChecker) no longer forward attribute access, so SB3's checker and HER, which call env.compute_reward on
the outermost wrapper, would not find it. Each hirl env id is registered with one of these as its outermost wrapper
(gymnasium EnvSpec.additional_wrappers); both only add compute_reward and never change a step.

    GoalReward   compute_reward = the env's own (goal ids: the step reward is compute_reward of the step's goals)
    ChainReward  compute_reward = the chain reward of the step, read from info["chain_reward"] (the default Tabletop
                 reward, 1.0 on the step a subtask completes, does not depend on the goals: HER relabelling leaves
                 it unchanged; use hirl/TabletopGoal-v0 for goal-reaching HER)
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

CHAIN_REWARD_KEY = "chain_reward"  # info key ChainReward stores the step's chain reward under


class GoalReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Pass-through wrapper exposing the unwrapped env's compute_reward (vectorised as the env's is)."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> Any:
        """The env's reward: (G,), (G,) -> float; (B, G), (B, G) -> (B,)."""
        base: Any = self.env.unwrapped  # a goal env (compute_reward)
        return base.compute_reward(achieved_goal, desired_goal, info)


class ChainReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Pass-through wrapper for a reward that is not a function of the goals: step() copies the reward into
    info["chain_reward"] and compute_reward returns it from the info (goals ignored), so reward == compute_reward
    holds for the step and for relabelled goals alike."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info[CHAIN_REWARD_KEY] = float(reward)
        return obs, reward, terminated, truncated, info

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> Any:
        """info["chain_reward"] of each step: info a dict -> float; a sequence / object array of B dicts -> (B,)."""
        if isinstance(info, Mapping):
            return float(info.get(CHAIN_REWARD_KEY, 0.0))
        return np.array([float(i.get(CHAIN_REWARD_KEY, 0.0)) for i in np.asarray(info, dtype=object).reshape(-1)])
