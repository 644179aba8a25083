"""Any Agent (hirl.hierarchy.rollout) behind stable-baselines3's predict(obs, state, episode_start, deterministic) signature,
so SB3's evaluate_policy and other SB3-facing tools can drive a hierarchical agent."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hirl.hierarchy.rollout import Agent
from hirl.types import Observation


def _batch_size(obs: Observation, single_shape: tuple[int, ...] | None) -> int | None:
    """1 for a batch of one, None for an unbatched observation."""
    first = next(iter(obs.values())) if isinstance(obs, Mapping) else obs
    arr = np.asarray(first)
    if single_shape is None or arr.shape == single_shape:
        return None
    if arr.shape[1:] == single_shape:
        return arr.shape[0]
    raise ValueError(f"predict: observation shape {arr.shape} matches neither {single_shape} nor a batch of it")


class AgentPredictor:
    """SB3-style predictor around one agent (one environment).

    obs_shape: shape of one (unbatched) observation vector, or of the first Dict entry, used to tell a
    batch of one (1, ...) from a single observation. Batches larger than 1 need one agent per env: use one predictor each.
    """

    def __init__(self, agent: Agent, obs_shape: tuple[int, ...] | None = None) -> None:
        self.agent, self.obs_shape = agent, obs_shape

    def predict(
        self,
        observation: Observation,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Returns (action (A,) or (1, A), state). episode_start[0] == True resets the agent first."""
        batch = _batch_size(observation, self.obs_shape)
        if batch is not None and batch != 1:
            raise ValueError(f"AgentPredictor drives one env; got a batch of {batch} observations")
        if episode_start is not None and bool(np.asarray(episode_start).reshape(-1)[0]):
            self.agent.reset()
        single = observation
        if batch == 1 and isinstance(observation, Mapping):
            single = {k: np.asarray(v)[0] for k, v in observation.items()}
        elif batch == 1:
            single = np.asarray(observation)[0]
        action = np.asarray(self.agent.act(single))
        return (action[None] if batch == 1 else action), state
