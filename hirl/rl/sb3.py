"""stable-baselines3 glue: building SAC/TD3 (+ HerReplayBuffer) from an AlgoSpec, the transition-relabeling hook
of the high level, SB3 models behind hirl's policy interfaces, and a pickle-free replay-buffer checkpoint."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import SAC, TD3
from stable_baselines3.common.buffers import DictReplayBuffer
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.her import HerReplayBuffer

from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes, atomic_write_json
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.flat import SingleLevelAgent
from hirl.types import Command, Observation, Subgoal, dict_obs


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


def build_model(spec: Any, env: gym.Env, seed: int, tensorboard_log: str | None = None,
                subgoal_penalty: float | None = None) -> Any:
    """A fresh SB3 learner for env (a Dict-observation goal env) from an AlgoSpec; with subgoal_penalty (the high
    level with HAC subgoal testing) its HER buffer keeps failed subgoal tests at that penalty."""
    kwargs: dict[str, Any] = dict(
        learning_rate=spec.learning_rate, buffer_size=spec.buffer_size, batch_size=spec.batch_size,
        learning_starts=spec.learning_starts, train_freq=spec.train_freq, gradient_steps=spec.gradient_steps,
        gamma=spec.gamma, tau=spec.tau, policy_kwargs={"net_arch": list(spec.net_arch)}, seed=seed,
        tensorboard_log=tensorboard_log, verbose=0, device="cpu",
    )
    if spec.her_strategy != "none":
        her = {"n_sampled_goal": spec.her_k, "goal_selection_strategy": spec.her_strategy}
        if subgoal_penalty is None:
            kwargs.update(replay_buffer_class=HerReplayBuffer, replay_buffer_kwargs=her)
        else:
            kwargs.update(replay_buffer_class=SubgoalTestHerReplayBuffer,
                          replay_buffer_kwargs={**her, "penalty": subgoal_penalty})
    if spec.algo == "td3":
        if not isinstance(env.action_space, gym.spaces.Box):
            raise InputError(f"td3 needs a continuous (Box) action space, got {env.action_space}")
        n = env.action_space.shape[0]
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), spec.action_noise * np.ones(n))
    return ALGORITHMS[spec.algo]("MultiInputPolicy", env, **kwargs)


def load_model(path: Path, env: gym.Env | None = None) -> Any:
    """An SB3 model saved by hirl (our own .zip; SAC or TD3 is read from its metadata)."""
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
    return ALGORITHMS[algo].load(path, env=env, device="cpu", custom_objects=frozen)


# -- fast deterministic inference ---------------------------------------------------------------------------
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


# -- replay buffer checkpoints without pickle ---------------------------------------------------------------
_SKIP = {"infos"}  # per-transition info dicts (empty unless copy_info_dict): not array data, restored empty


def save_buffer(buffer: Any, path: Path) -> Path:
    """Every numpy array of the replay buffer (Dict observations flattened to 'observations.key') -> .npz
    (no pickle), scalars (pos, full) -> the .json beside it. Both written atomically."""
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(buffer).items():
        if name in _SKIP:
            continue
        if isinstance(value, np.ndarray) and value.dtype != object:
            arrays[name] = value
        elif isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values()):
            arrays.update({f"{name}.{k}": v for k, v in value.items()})
    raw = io.BytesIO()
    np.savez(raw, allow_pickle=False, **arrays)  # object arrays were skipped above
    atomic_write_bytes(path, raw.getvalue())
    atomic_write_json(path.with_suffix(".json"), {"pos": int(buffer.pos), "full": bool(buffer.full)})
    return path


def load_buffer(buffer: Any, path: Path) -> None:
    """Inverse of save_buffer into a buffer of the same shape (InputError naming the file otherwise)."""
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        with np.load(path, allow_pickle=False) as z:
            for key in z.files:
                name, _, sub = key.partition(".")
                target = getattr(buffer, name)[sub] if sub else getattr(buffer, name)
                if target.shape != z[key].shape:
                    raise ValueError(f"{key}: shape {z[key].shape} != buffer's {target.shape}")
                target[...] = z[key]
    except (OSError, ValueError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable replay-buffer checkpoint ({exc})") from None
    buffer.pos, buffer.full = int(meta["pos"]), bool(meta["full"])
