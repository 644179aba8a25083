"""DIAYN (Eysenbach et al., "Diversity is all you need") on SB3 SAC: skills z ~ p(z) = uniform over K condition the
policy; a discriminator q(z | s) learns to tell skills apart from the states they visit, and the policy's reward is

    r(s', z) = log q(z | phi(s')) - log p(z) = log_softmax(D(phi(s')))[z] + log K

(plus SAC's entropy bonus). phi(s) selects the features the skills should differ in (maze: the xy position; Tabletop:
the gripper position). Rewards are recomputed with the current discriminator whenever SAC samples its replay buffer
(DiaynReplayBuffer), so they never go stale; the discriminator is trained from the same buffer (DiaynCallback).

    env = DiaynEnv(base_env, n_skills=8, obs_key="observation", feature_idx=[0, 1], horizon=50)
    model, disc = train_diayn(env, steps=40_000, seed=0)
    save_diayn(DIR, model, disc, env); library = diayn_library(DIR); low = DiaynLowLevel.load(DIR)
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from hirl.devices import resolve_device
from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.policies.base import LowLevelPolicy
from hirl.skills.library import Always, Skill, SkillLibrary
from hirl.types import Observation, Subgoal
from hirl.weights import load_weights, save_weights


def diayn_reward(logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """logits (B, K) of q(. | s'), z (B,) int64 -> (B,) log q(z | s') - log p(z) with p uniform over the K skills."""
    k = logits.shape[-1]
    return torch.log_softmax(logits, dim=-1).gather(-1, z.view(-1, 1)).squeeze(-1) + math.log(k)


class Discriminator(nn.Module):
    """q(z | phi(s)): MLP (F,) -> (K,) logits; features are scaled by 1 / `scale` (F,) first."""

    scale: torch.Tensor  # (F,) buffer

    def __init__(self, n_features: int, n_skills: int, hidden: int = 128, scale: Sequence[float] | None = None) -> None:
        super().__init__()
        self.n_features, self.n_skills, self.hidden = int(n_features), int(n_skills), int(hidden)
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_skills))
        self.register_buffer("scale", torch.as_tensor(scale if scale is not None else [1.0] * n_features,
                                                      dtype=torch.float32))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features / self.scale)


class DiaynEnv(gym.Wrapper):
    """A skill-conditioned view of a Dict-observation env: observation (S + K,) = [obs[obs_key] (S,), one-hot z (K,)];
    z ~ uniform at reset (reset(options={"skill": i}) fixes it); the episode is truncated after `horizon` steps; the
    env's own reward is replaced by 0 (the replay buffer computes DIAYN's) and its termination is kept."""

    def __init__(self, env: gym.Env, n_skills: int, obs_key: str, feature_idx: Sequence[int], horizon: int,
                 feature_scale: Sequence[float] | None = None) -> None:
        super().__init__(env)
        if n_skills < 2 or horizon < 1:
            raise InputError(f"DIAYN needs n_skills >= 2 and horizon >= 1, got {n_skills} and {horizon}")
        spaces_: Any = env.observation_space
        base = spaces_[obs_key]
        self.n_skills, self.obs_key, self.horizon = int(n_skills), obs_key, int(horizon)
        self.state_dim = int(np.prod(base.shape))
        self.feature_idx = [int(i) for i in feature_idx]
        self.feature_scale = list(feature_scale) if feature_scale is not None else [1.0] * len(self.feature_idx)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(self.state_dim + self.n_skills,), dtype=np.float32)
        self.skill, self._t = 0, 0
        self.last_obs: Any = None

    def vector(self, obs: Mapping[str, np.ndarray], skill: int) -> np.ndarray:
        onehot = np.zeros(self.n_skills, dtype=np.float32)
        onehot[skill] = 1.0
        return np.concatenate([np.asarray(obs[self.obs_key], dtype=np.float32).ravel(), onehot])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        options = dict(options or {})
        skill = options.pop("skill", None)
        obs, info = self.env.reset(seed=seed, options=options or None)
        self.skill = int(self.np_random.integers(self.n_skills)) if skill is None else int(skill)
        self._t, self.last_obs = 0, obs
        return self.vector(obs, self.skill), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = self.env.step(action)
        self._t += 1
        self.last_obs = obs
        return self.vector(obs, self.skill), 0.0, bool(terminated), bool(truncated or self._t >= self.horizon), info


class DiaynReplayBuffer(ReplayBuffer):
    """A replay buffer whose sampled rewards are DIAYN's, from the current discriminator (set `discriminator`,
    `feature_idx` and `n_skills` before learning; DiaynCallback does)."""

    discriminator: Discriminator | None = None
    feature_idx: list[int] = []
    n_skills: int = 0

    def skill_features(self, next_obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """next_obs (B, S + K) -> (features (B, F), z (B,))."""
        z = next_obs[:, -self.n_skills:].argmax(-1)
        return next_obs[:, self.feature_idx], z

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> Any:
        samples = super()._get_samples(batch_inds, env)
        if self.discriminator is None:
            raise RuntimeError("DiaynReplayBuffer: no discriminator set")
        with torch.no_grad():
            feats, z = self.skill_features(samples.next_observations)
            r = diayn_reward(self.discriminator(feats), z).view(-1, 1)
        return samples._replace(rewards=r)


class DiaynCallback(BaseCallback):
    """Trains the discriminator by cross-entropy on replay-buffer batches (next-state features -> skill), every
    `every` env steps once learning has started; logs its accuracy."""

    def __init__(self, discriminator: Discriminator, feature_idx: Sequence[int], n_skills: int, every: int = 4,
                 batch: int = 256, lr: float = 3e-4) -> None:
        super().__init__()
        self.disc, self.feature_idx, self.n_skills = discriminator, list(feature_idx), int(n_skills)
        self.every, self.batch = int(every), int(batch)
        self.opt = torch.optim.Adam(discriminator.parameters(), lr=lr)
        self.accuracy: list[tuple[int, float]] = []  # (env step, batch accuracy), about every 1000 env steps
        self.updates = 0

    def _on_training_start(self) -> None:
        model: Any = self.model
        buf = model.replay_buffer
        if not isinstance(buf, DiaynReplayBuffer):
            raise InputError("DIAYN needs replay_buffer_class=DiaynReplayBuffer")
        buf.discriminator, buf.feature_idx, buf.n_skills = self.disc, self.feature_idx, self.n_skills

    def _on_step(self) -> bool:
        model: Any = self.model
        buf = model.replay_buffer
        if self.num_timesteps < model.learning_starts or self.num_timesteps % self.every or buf.size() < 2:
            return True
        idx = np.random.randint(0, buf.size(), size=self.batch)
        nxt = torch.as_tensor(buf.next_observations[idx, 0], dtype=torch.float32)
        feats, z = nxt[:, self.feature_idx], nxt[:, -self.n_skills:].argmax(-1)
        logits = self.disc(feats)
        loss = nn.functional.cross_entropy(logits, z)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.updates += 1
        if self.num_timesteps % 1000 < self.every:
            self.accuracy.append((int(self.num_timesteps), float((logits.argmax(-1) == z).float().mean())))
        return True


def train_diayn(env: DiaynEnv, steps: int, seed: int, net_arch: Sequence[int] = (128, 128), learning_starts: int = 1000,
                train_freq: int = 4, gradient_steps: int = 2, gamma: float = 0.95, ent_coef: Any = "auto",
                callbacks: Sequence[BaseCallback] = (), device: str = "auto") -> tuple[SAC, Discriminator, DiaynCallback]:
    """SAC on env with DIAYN rewards for `steps` env steps; returns (model, discriminator, its callback).
    device: auto | cpu | cuda[:i] for the SAC networks (hirl.devices; the small discriminator stays on the CPU)."""
    torch.manual_seed(seed)
    disc = Discriminator(len(env.feature_idx), env.n_skills, scale=env.feature_scale)
    model = SAC("MlpPolicy", env, learning_starts=learning_starts, train_freq=train_freq, gradient_steps=gradient_steps,
                gamma=gamma, ent_coef=ent_coef, policy_kwargs={"net_arch": list(net_arch)}, seed=seed, verbose=0,
                replay_buffer_class=DiaynReplayBuffer, buffer_size=max(steps, 1000),
                device=resolve_device(device, "train_diayn device"))
    cb = DiaynCallback(disc, env.feature_idx, env.n_skills, every=train_freq)
    model.learn(total_timesteps=steps, callback=[cb, *callbacks])
    return model, disc, cb


def save_diayn(directory: str | Path, model: SAC, disc: Discriminator, env: DiaynEnv) -> Path:
    """DIR/model.zip (SB3), DIR/discriminator.safetensors, DIR/diayn.json (what the skills need to run)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / "model.zip")
    save_weights(disc, directory / "discriminator.safetensors")
    atomic_write_json(directory / "diayn.json", {"n_skills": env.n_skills, "obs_key": env.obs_key,
                                                 "feature_idx": env.feature_idx, "feature_scale": env.feature_scale,
                                                 "horizon": env.horizon, "hidden": disc.hidden})
    return directory


def _meta(directory: Path) -> dict[str, Any]:
    path = directory / "diayn.json"
    if not path.is_file():
        raise InputError(f"{directory}: no DIAYN skills (diayn.json missing)")
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return meta


def load_discriminator(directory: str | Path) -> Discriminator:
    directory = Path(directory)
    meta = _meta(directory)
    disc = Discriminator(len(meta["feature_idx"]), meta["n_skills"], meta.get("hidden", 128), meta["feature_scale"])
    load_weights(disc, directory / "discriminator.safetensors")
    return disc.eval()


class DiaynLowLevel(LowLevelPolicy):
    """The skill-conditioned SAC policy as a low level: act(obs, subgoal) with subgoal.value the one-hot skill (K,)."""

    def __init__(self, model: SAC, obs_key: str, n_skills: int) -> None:
        self.model, self.obs_key, self.n_skills = model, obs_key, int(n_skills)

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> DiaynLowLevel:
        directory = Path(directory)
        meta = _meta(directory)
        model = SAC.load(directory / "model.zip", device=resolve_device(device, "DIAYN low level device"),
                         custom_objects={"replay_buffer_class": ReplayBuffer})
        return cls(model, meta["obs_key"], meta["n_skills"])

    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        if not isinstance(obs, Mapping):
            raise TypeError("DiaynLowLevel needs Dict observations")
        z = np.asarray(subgoal.value, dtype=np.float32)
        if z.shape != (self.n_skills,):
            raise ValueError(f"DiaynLowLevel: subgoal must be a one-hot skill ({self.n_skills},), got {z.shape}")
        x = np.concatenate([np.asarray(obs[self.obs_key], dtype=np.float32).ravel(), z])
        action, _ = self.model.predict(x, deterministic=True)
        return np.asarray(action, dtype=np.float32)


def diayn_library(directory: str | Path, env_id: str = "") -> SkillLibrary:
    """The discovered skills as a library: skill i = Subgoal("state", one-hot i), any state may start it (Always),
    it ends after the training horizon (detector "never" + timeout = horizon)."""
    meta = _meta(Path(directory))
    k, horizon = int(meta["n_skills"]), int(meta["horizon"])
    return SkillLibrary([Skill(f"diayn_{i}", f"discovered skill {i}", Subgoal("state", np.eye(k)[i], label=f"skill {i}"),
                               Always(), "never", {}, horizon) for i in range(k)], env_id)
