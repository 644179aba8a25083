"""stable-baselines3 glue: building SAC/TD3 (+ HerReplayBuffer) from an AlgoSpec with the high level's
transition-relabeling hook, and loading hirl's saved models (inference wrappers: hirl.rl.sb3_policies; replay-buffer
checkpoints: hirl.rl.replay_io)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import SAC, TD3
from stable_baselines3.common.buffers import DictReplayBuffer
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.her import HerReplayBuffer

from hirl.devices import resolve_device
from hirl.errors import InputError


MODEL_FILE = "model.zip"  # an SB3 model inside its component directory (RUN/models/<component>/) or checkpoint

class RelabelingMixin:
    """Off-policy algorithm whose stored actions/rewards pass through `self.relabeler(actions, rewards, infos)`
    first (hirl.rl.relabel.TransitionRelabeler); the relabeler is not saved with the model."""

    relabeler: Any = None

    def _store_transition(self, replay_buffer: Any, buffer_action: np.ndarray, new_obs: Any, reward: np.ndarray,
                          dones: np.ndarray, infos: list[dict[str, Any]]) -> None:
        if self.relabeler is not None:
            buffer_action, reward = self.relabeler(buffer_action, reward, infos)
        # (the ignore: in a mixin, super() is the SAC / TD3 it is mixed into, which mypy cannot see from here)
        super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)  # type: ignore[misc]  # mixin

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "relabeler"]  # type: ignore[misc]  # mixin super(), as above


class RelabelingSAC(RelabelingMixin, SAC):
    """SAC with the relabeling hook."""


class RelabelingTD3(RelabelingMixin, TD3):
    """TD3 with the relabeling hook."""


ALGORITHMS: dict[str, type[OffPolicyAlgorithm]] = {"sac": RelabelingSAC, "td3": RelabelingTD3}


class SubgoalTestHerReplayBuffer(HerReplayBuffer):
    """HerReplayBuffer that remembers which transitions are failed HAC subgoal tests (the relabeler marks them with
    info["subgoal_test_failed"]) and gives them reward `penalty` and no bootstrapping (done = 1) in every sample,
    the HER-relabelled ones included: the penalty says "this subgoal was out of the low level's reach", which does
    not depend on the task goal, and would otherwise be overwritten by compute_reward for k/(k+1) of the samples
    (Levy et al., HAC: subgoal-testing transitions use the penalty with discount 0)."""

    def __init__(self, *args: Any, penalty: float = -20.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.penalty = float(penalty)
        self.test_failed = np.zeros((self.buffer_size, self.n_envs), dtype=bool)  # (capacity, n_envs)

    def add(  # type: ignore[override]  # SB3's own HerReplayBuffer.add narrows obs to dicts the same way
        self, obs: dict[str, np.ndarray], next_obs: dict[str, np.ndarray], action: np.ndarray, reward: np.ndarray,
        done: np.ndarray, infos: list[dict[str, Any]],
    ) -> None:
        self.test_failed[self.pos] = [bool(i.get("subgoal_test_failed", False)) for i in infos]
        super().add(obs, next_obs, action, reward, done, infos)

    def _penalise(self, samples: Any, batch_indices: np.ndarray, env_indices: np.ndarray) -> Any:
        failed = self.test_failed[batch_indices, env_indices]
        if not failed.any():
            return samples
        mask = self.to_torch(failed.astype(np.float32)).reshape(-1, 1)
        return samples._replace(rewards=samples.rewards * (1 - mask) + self.penalty * mask,
                                dones=torch.maximum(samples.dones, mask))

    def _get_real_samples(self, batch_indices: np.ndarray, env_indices: np.ndarray, env: Any = None) -> Any:
        return self._penalise(super()._get_real_samples(batch_indices, env_indices, env), batch_indices, env_indices)

    def _get_virtual_samples(self, batch_indices: np.ndarray, env_indices: np.ndarray, env: Any = None) -> Any:
        return self._penalise(super()._get_virtual_samples(batch_indices, env_indices, env), batch_indices, env_indices)


class _StoredRewards:
    """Stands in for the VecEnv during one virtual-sample draw: env_method("compute_reward", ...) -> [the stored
    rewards (B,)] (the draw's transitions, in order)."""

    def __init__(self, rewards: np.ndarray) -> None:
        self.rewards = rewards

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[np.ndarray]:
        return [self.rewards]


class StoredRewardHerReplayBuffer(HerReplayBuffer):
    """HerReplayBuffer for an env whose reward does not depend on the goals (reward_depends_on_goals False: Tabletop's
    chain reward, 1.0 on the step a subtask completes): relabelled samples keep the reward stored with their
    transition, which is exactly what compute_reward gives for any goal, without copying every step's info dict
    (SB3 passes empty infos to compute_reward unless copy_info_dict, and replay checkpoints keep no infos)."""

    def _get_virtual_samples(self, batch_indices: np.ndarray, env_indices: np.ndarray, env: Any = None) -> Any:
        vec_env, self.env = self.env, _StoredRewards(self.rewards[batch_indices, env_indices])  # type: ignore[assignment]
        try:
            return super()._get_virtual_samples(batch_indices, env_indices, env)
        finally:
            self.env = vec_env


def build_model(spec: Any, env: gym.Env, seed: int, tensorboard_log: str | None = None,
                subgoal_penalty: float | None = None) -> Any:
    """A fresh SB3 learner for env (a Dict-observation goal env) from an AlgoSpec; with subgoal_penalty (the high
    level with HAC subgoal testing) its HER buffer keeps failed subgoal tests at that penalty."""
    kwargs: dict[str, Any] = dict(
        learning_rate=spec.learning_rate, buffer_size=spec.buffer_size, batch_size=spec.batch_size,
        learning_starts=spec.learning_starts, train_freq=spec.train_freq, gradient_steps=spec.gradient_steps,
        gamma=spec.gamma, tau=spec.tau, policy_kwargs={"net_arch": list(spec.net_arch)}, seed=seed,
        tensorboard_log=tensorboard_log, verbose=0, device=resolve_device(spec.device, "algo.device"),
    )
    if spec.her_strategy != "none":
        her = {"n_sampled_goal": spec.her_k, "goal_selection_strategy": spec.her_strategy}
        if subgoal_penalty is None:
            goal_reward = getattr(env.unwrapped, "reward_depends_on_goals", True)
            kwargs.update(replay_buffer_class=HerReplayBuffer if goal_reward else StoredRewardHerReplayBuffer,
                          replay_buffer_kwargs=her)
        else:
            kwargs.update(replay_buffer_class=SubgoalTestHerReplayBuffer,
                          replay_buffer_kwargs={**her, "penalty": subgoal_penalty})
    if spec.algo == "td3":
        if not isinstance(env.action_space, gym.spaces.Box):
            raise InputError(f"td3 needs a continuous (Box) action space, got {env.action_space}")
        n = env.action_space.shape[0]
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), spec.action_noise * np.ones(n))
    return ALGORITHMS[spec.algo]("MultiInputPolicy", env, **kwargs)


def load_model(path: Path, env: gym.Env | None = None, device: str = "auto") -> Any:
    """An SB3 model saved by hirl (our own .zip; SAC or TD3 is read from its metadata), on device (hirl.devices)."""
    if not path.is_file():
        raise InputError(f"{path}: no saved model (train this stage first)")
    try:
        with zipfile.ZipFile(path) as z:
            data = json.loads(z.read("data"))
        module = str(data["policy_class"]["__module__"])  # e.g. stable_baselines3.sac.policies
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:  # not a zip / no metadata
        raise InputError(f"{path}: not an SB3 model file ({exc.__class__.__name__})") from None
    algo = "td3" if ".td3." in module else "sac"
    # Without an env (a frozen policy for inference) the replay buffer is not needed: a 1-slot plain buffer avoids
    # HER's need for an env and the memory of the training buffer.
    frozen = {} if env is not None else {"replay_buffer_class": DictReplayBuffer, "replay_buffer_kwargs": {}, "buffer_size": 1}
    return ALGORITHMS[algo].load(path, env=env, device=resolve_device(device, f"{path}: device"), custom_objects=frozen)
