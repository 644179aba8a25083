"""The goal-env contract on the env gym.make returns: Gymnasium 1.x wrappers (TimeLimit, OrderEnforcing,
PassiveEnvChecker) no longer forward attribute access, so SB3's checker and HER, which call env.compute_reward on
the outermost wrapper, would not find it. Every hirl env id is registered with GoalReward as its outermost wrapper
(gymnasium EnvSpec.additional_wrappers): it only adds compute_reward, the unwrapped env's, and never changes a step.
Each env's compute_reward reproduces its step reward: of the goals for goal rewards (Maze, hirl/TabletopGoal-v0),
from the step's info["chain_reward"] for Tabletop's chain reward, which does not depend on the goals (HER
relabelling leaves it unchanged; use hirl/TabletopGoal-v0 for goal-reaching HER).
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

CHAIN_REWARD_KEY = "chain_reward"  # info key under which Tabletop's step stores its chain reward


class GoalReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Pass-through wrapper exposing the unwrapped env's compute_reward (vectorised as the env's is)."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> Any:
        """The env's reward: (G,), (G,) -> float; (B, G), (B, G) -> (B,)."""
        base: Any = self.env.unwrapped  # a goal env (compute_reward)
        return base.compute_reward(achieved_goal, desired_goal, info)
