"""SB3 models behind hirl's policy interfaces: deterministic batched actions, a goal-conditioned SB3 model as a
low level, one trained on SubgoalEnv as a high level, a flat one as a whole agent."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.flat import SingleLevelAgent
from hirl.types import Command, Observation, Subgoal, dict_obs


def action_means(model: Any, obs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Deterministic actions (B, A) in the env's action units for a batch of Dict observations {key: (B, ...)}."""
    policy = model.policy
    with torch.no_grad():
        t = {k: torch.as_tensor(np.array(v, dtype=np.float32)) for k, v in obs.items()}
        a = policy._predict(t, deterministic=True).numpy()
    return policy.unscale_action(a) if policy.squash_output else np.clip(a, model.action_space.low, model.action_space.high)


def _goal_obs(obs: Observation, goal: np.ndarray) -> dict[str, np.ndarray]:
    o = dict_obs(obs)
    return {"observation": np.asarray(o["observation"])[None], "achieved_goal": np.asarray(o["achieved_goal"])[None],
            "desired_goal": np.asarray(goal, dtype=np.float64)[None]}


class SB3LowLevel(LowLevelPolicy):
    """A goal-conditioned SB3 model as pi_LL(a | o, g): state subgoals only, deterministic."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        return action_means(self.model, _goal_obs(obs, np.asarray(subgoal.value)))[0].astype(np.float32)

    def mean(self, obs: Mapping[str, np.ndarray], goals: np.ndarray) -> np.ndarray:
        """Batched: obs {key: (T, ...)} with goals (T, G) as desired_goal -> actions (T, A) (HIRO's likelihood)."""
        batch = {"observation": obs["observation"], "achieved_goal": obs["achieved_goal"], "desired_goal": goals}
        return action_means(self.model, batch)


class SB3HighLevel(HighLevelPolicy):
    """An SB3 model trained on SubgoalEnv as pi_HL(g | o): decode(action, achieved) -> state subgoal (G,)."""

    def __init__(self, model: Any, decode: Any) -> None:
        self.model, self.decode = model, decode

    def action(self, obs: Observation) -> np.ndarray:
        return action_means(self.model, _goal_obs(obs, np.asarray(dict_obs(obs)["desired_goal"])))[0]

    def propose(self, obs: Observation, command: Command | None) -> Subgoal:
        """The command is not read (the goal is in obs), so None is accepted too."""
        achieved = np.asarray(dict_obs(obs)["achieved_goal"], dtype=np.float64)
        return Subgoal("state", self.decode(self.action(obs), achieved), "policy")


class SB3FlatAgent(SingleLevelAgent):
    """A flat goal-conditioned SB3 model as a rollout agent (run_episode): no high level, no subgoals."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        self.step_count += 1
        return action_means(self.model, _goal_obs(obs, np.asarray(dict_obs(obs)["desired_goal"])))[0].astype(np.float32)
