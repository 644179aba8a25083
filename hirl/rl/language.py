"""Stage language: a language-conditioned low level trained by RL (SAC/TD3) on Tabletop subtasks, with hindsight
language relabeling. A failed attempt at instruction c during which subtask d was achieved (the env's completion
predicates turned d from false to true) is stored a second time as a successful attempt at d's instruction, up
to the step d completed (hirl.data.relabel.hindsight_language decides the label)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback

from hirl.data.relabel import hindsight_language
from hirl.encoders.text import TEXT_DIM, TextEncoder
from hirl.encoders.text_factory import make_text_encoder
from hirl.errors import InputError
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter as env_adapter
from hirl.policies.flat import SingleLevelAgent
from hirl.types import Command, Observation


class LanguageSubtaskEnv(gym.Env):
    """One attempt = one commanded instruction (uniform over `instructions`, re-drawn until feasible in the sampled
    scene). Observation Dict: the task entries `obs_keys` and "instruction" (E,) embedding. Reward 0 when the
    commanded subtask's predicate holds (terminates), else -1; truncated after `episode_steps`.
    After an episode ends, `pop_hindsight()` returns the relabelled copy of a failed attempt (or [])."""

    def __init__(self, task: gym.Env, instructions: list[str], encoder: TextEncoder, obs_keys: list[str], episode_steps: int,
                 relabel: bool) -> None:
        self.task, self.obs_keys, self.episode_steps, self.relabel = task, list(obs_keys), int(episode_steps), relabel
        space: Any = task.observation_space  # a spaces.Dict
        missing = [k for k in obs_keys if k not in space.spaces]
        if missing:
            raise InputError(f"language.obs_keys: {missing} not in the env's observation ({', '.join(space.spaces)})")
        self.names: list[str] = []  # every instruction the env's predicates report, in a fixed order (predicate columns)
        base: Any = task.unwrapped  # the env's subtask vocabulary (canonical, instruction, subtask_names)
        names = [base.canonical(t) for t in instructions]
        unknown = [t for t, n in zip(instructions, names, strict=True) if n is None]
        if unknown or not instructions:
            raise InputError(f"language.subtasks: unknown instructions {unknown} (the env's are {base.subtask_names()})")
        self.commands = [base.instruction(n) for n in names]  # canonical instructions (the predicates' keys)
        self.encoder = encoder
        self._emb: dict[str, np.ndarray] = {}
        emb_dim = int(encoder.dim)
        spaces_ = {k: space[k] for k in obs_keys}
        spaces_["instruction"] = spaces.Box(-np.inf, np.inf, shape=(emb_dim,), dtype=np.float32)
        self.observation_space = spaces.Dict(spaces_)
        self.action_space = task.action_space
        self._episode: list[tuple[dict, dict, np.ndarray, dict]] = []
        self._hindsight: list[tuple[dict, dict, np.ndarray, float, bool]] = []
        self.command: str = self.commands[0]
        self._t = 0

    def embed(self, text: str) -> np.ndarray:
        if text not in self._emb:
            self._emb[text] = np.asarray(self.encoder.encode([text]), dtype=np.float32).reshape(-1)
        return self._emb[text]

    def _obs(self, obs: Mapping[str, np.ndarray], text: str) -> dict[str, np.ndarray]:
        out = {k: np.asarray(obs[k]) for k in self.obs_keys}
        out["instruction"] = self.embed(text)
        return out

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        for _ in range(100):
            self.command = self.commands[int(self.np_random.integers(len(self.commands)))]
            try:
                obs, info = self.task.reset(seed=int(self.np_random.integers(2**31)), options={"task": [self.command]})
                break
            except ValueError:  # not feasible in this scene (e.g. "open the drawer" with the drawer open)
                continue
        else:
            raise InputError(f"language.subtasks: none of {self.commands} is feasible in 100 sampled scenes")
        if not self.names:
            self.names = list(info["subtask_success"])
        self._t, self._episode = 0, []
        self._last, self._reset_info = (obs, info), info
        return self._obs(obs, self.command), {"is_success": False}

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        prev_obs, _ = self._last
        obs, _, terminated, truncated, info = self.task.step(action)
        self._t += 1
        success = bool(info["subtask_success"].get(self.command, False))
        truncated = truncated or (self._t >= self.episode_steps and not success)
        terminated = success or (terminated and not truncated)
        self._episode.append((prev_obs, obs, np.asarray(action, dtype=np.float32), info))
        self._last = (obs, info)
        if (terminated or truncated) and self.relabel and not success:
            self._hindsight.extend(self._relabel(self._reset_info))
        return self._obs(obs, self.command), 0.0 if success else -1.0, terminated, truncated, {"is_success": success}

    def _relabel(self, first_info: Mapping[str, Any]) -> list[tuple[dict, dict, np.ndarray, float, bool]]:
        start = np.array([[first_info["subtask_success"][n] for n in self.names]])
        end = np.array([[self._episode[-1][3]["subtask_success"][n] for n in self.names]])
        r = hindsight_language(np.array([self.names.index(self.command)]), start, end)
        if not r.relabelled[0]:
            return []
        achieved = self.names[int(r.label[0])]
        out = []
        for prev, nxt, action, info in self._episode:
            done = bool(info["subtask_success"][achieved])
            out.append((self._obs(prev, achieved), self._obs(nxt, achieved), action, 0.0 if done else -1.0, done))
            if done:
                break
        return out

    def pop_hindsight(self) -> list[tuple[dict, dict, np.ndarray, float, bool]]:
        out, self._hindsight = self._hindsight, []
        return out


class HindsightLanguageCallback(BaseCallback):
    """Moves each finished attempt's relabelled transitions into the learner's replay buffer; counts them."""

    def __init__(self, env: LanguageSubtaskEnv) -> None:
        super().__init__()
        self.env, self.added, self.episodes = env, 0, 0

    def _on_step(self) -> bool:
        batch = self.env.pop_hindsight()
        if batch:
            self.episodes += 1
        for obs, nxt, action, reward, done in batch:
            buffer = self.model.replay_buffer  # type: ignore[attr-defined]  # an off-policy learner's
            buffer.add({k: v[None] for k, v in obs.items()}, {k: v[None] for k, v in nxt.items()}, action[None],
                       np.array([reward]), np.array([done]), [{}])
            self.added += 1
        return True


def language_env(cfg: Any) -> LanguageSubtaskEnv:
    task = env_adapter(cfg.env).make(**cfg.env_kwargs)
    if "subtask_success" not in task.reset(seed=0)[1]:
        raise InputError(f"stage language needs an env reporting info['subtask_success'] (e.g. hirl/Tabletop-v0), "
                         f"not {cfg.env!r}")
    spec = cfg.language
    return LanguageSubtaskEnv(task, list(spec.subtasks), make_text_encoder(spec.text_encoder, TEXT_DIM), list(spec.obs_keys),
                              spec.episode_steps, spec.relabel)


class PredictAgent(SingleLevelAgent):
    """An SB3 model's deterministic action (model.predict) for each observation (any Dict observation the model
    was trained on, e.g. LanguageSubtaskEnv's), as a run_episode agent without a high level."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        self.step_count += 1
        action, _ = self.model.predict(obs, deterministic=True)
        return np.asarray(action)


def success_rate(model: Any, env: LanguageSubtaskEnv, episodes: int, seed: int) -> float:
    """Fraction of `episodes` attempts (seeds seed + i) whose commanded subtask was completed (deterministic policy);
    no hindsight copies are made meanwhile."""
    relabel, env.relabel = env.relabel, False
    try:
        agent = PredictAgent(model)
        results = [run_episode(env, agent, lambda info: Command(env.command), seed=seed + i) for i in range(episodes)]
    finally:
        env.relabel = relabel
    return sum(r.success for r in results) / episodes
