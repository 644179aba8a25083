"""Any Agent (hirl.hierarchy.rollout) behind stable-baselines3's predict(obs, state, episode_start, deterministic)
signature, so SB3's evaluate_policy and other SB3-facing tools can drive a hierarchical agent.

SB3's loops never hand predict() the env's info, yet replan rules and completion detectors read it (chain_progress
reads info["completed_subtasks"]) and the episode's command comes from the reset info. `predictor.wrap_env(env)`
puts a pass-through InfoFeed on the env that reports each reset / step info to the predictor, so

    predictor = AgentPredictor(agent, command_fn=adapter.command)
    evaluate_policy(predictor, predictor.wrap_env(env), n_eval_episodes=10)

runs the agent exactly as hirl.hierarchy.rollout.run_episode does: reset(command_fn(reset info)) at each episode
start, then act(obs, latest info) every step. predict(..., info=...) passes an info by hand instead.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from hirl.hierarchy.rollout import Agent, CommandFn
from hirl.types import Command, Observation


def _batch_size(obs: Observation, single_shape: tuple[int, ...] | None) -> int | None:
    """1 for a batch of one, None for an unbatched observation."""
    first = next(iter(obs.values())) if isinstance(obs, Mapping) else obs
    arr = np.asarray(first)
    if single_shape is None or arr.shape == single_shape:
        return None
    if arr.shape[1:] == single_shape:
        return arr.shape[0]
    raise ValueError(f"predict: observation shape {arr.shape} matches neither {single_shape} nor a batch of it")


def _first_shape(space: gym.Space) -> tuple[int, ...] | None:
    """Shape of one observation vector, or of the first entry of a Dict space (None when it has none)."""
    if isinstance(space, gym.spaces.Dict):
        space = next(iter(space.spaces.values()))
    return tuple(space.shape) if space.shape is not None else None


class AgentPredictor:
    """SB3-style predictor around one agent (one environment).

    obs_shape   shape of one (unbatched) observation vector, or of the first Dict entry, used to tell a batch of
                one (1, ...) from a single observation (wrap_env fills it from the env when None). Batches larger
                than 1 need one agent per env: use one predictor each.
    command_fn  reset info -> the episode's Command (an env adapter's `command`); None: reset(None), the agent
                keeps the command it was built with
    """

    def __init__(self, agent: Agent, obs_shape: tuple[int, ...] | None = None,
                 command_fn: CommandFn | None = None) -> None:
        self.agent, self.obs_shape, self.command_fn = agent, obs_shape, command_fn
        self.info: Mapping[str, Any] = {}  # the latest reset / step info an InfoFeed reported ({} before any)
        self.reset_info: Mapping[str, Any] | None = None  # the info of the latest reset an InfoFeed reported

    def wrap_env(self, env: gym.Env) -> InfoFeed:
        """env behind an InfoFeed reporting to this predictor (pass the result to evaluate_policy)."""
        if self.obs_shape is None:
            self.obs_shape = _first_shape(env.observation_space)
        return InfoFeed(env, self)

    def command(self, reset_info: Mapping[str, Any] | None = None) -> Command | None:
        """The episode's command from reset_info (None: the latest reset info an InfoFeed reported); None without a
        command_fn or an info."""
        reset_info = self.reset_info if reset_info is None else reset_info
        if self.command_fn is None or reset_info is None:
            return None
        return self.command_fn(reset_info)

    def predict(
        self,
        observation: Observation,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
        info: Mapping[str, Any] | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Returns (action (A,) or (1, A), state). info None: the latest info an InfoFeed reported. episode_start[0]
        == True resets the agent first, with command(info) (info: then the episode's reset info)."""
        batch = _batch_size(observation, self.obs_shape)
        if batch is not None and batch != 1:
            raise ValueError(f"AgentPredictor drives one env; got a batch of {batch} observations")
        if episode_start is not None and bool(np.asarray(episode_start).reshape(-1)[0]):
            self.agent.reset(self.command(info))
        single = observation
        if batch == 1 and isinstance(observation, Mapping):
            single = {k: np.asarray(v)[0] for k, v in observation.items()}
        elif batch == 1:
            single = np.asarray(observation)[0]
        action = np.asarray(self.agent.act(single, self.info if info is None else info))
        return (action[None] if batch == 1 else action), state


class InfoFeed(gym.Wrapper):
    """Pass-through wrapper reporting every reset / step info to an AgentPredictor (see the module docstring)."""

    def __init__(self, env: gym.Env, predictor: AgentPredictor) -> None:
        super().__init__(env)
        self.predictor = predictor

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.predictor.info = self.predictor.reset_info = dict(info)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.predictor.info = dict(info)
        return obs, reward, terminated, truncated, info
