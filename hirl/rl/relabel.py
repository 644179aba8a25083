"""Corrections of high-level transitions before they are stored (pure numpy, no SB3).

The high level's action a in [-1, 1]^G asks for a subgoal; the frozen low level then runs for up to H control
steps. What is stored in the replay buffer is one of:

    HAC hindsight action   a' = encode(state reached): the transition the low level actually executed, so the
                           high level learns from a low level that looks optimal (Levy et al., HAC).
                           Subgoal testing: a tested subgoal the low level missed keeps a and gets `penalty`.
    HIRO goal correction   a' = argmax over candidates of log pi_LL(a_0..a_T | o_0..o_T, g(candidate))
                           (Nachum et al., HIRO): candidates are a, encode(reached), and Gaussians around it.

Each correction is a TransitionRelabeler strategy registered in RELABELERS under its `high.relabel` name
(hac | hiro | none); adding one is one @RELABELERS.register class with a from_spec constructor:

    relabeler = relabeler_class(spec.relabel).from_spec(spec, encode, decode, low_mean, seed)
    actions, rewards = relabeler(actions, rewards, infos)
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, cast

import numpy as np

from hirl.registry import Registry

Encode = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (subgoals (B, G), start states (B, G)) -> actions (B, G)
Decode = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (actions (B, G), start states (B, G)) -> subgoals (B, G)
LowMean = Callable[[Mapping[str, np.ndarray], np.ndarray], np.ndarray]  # (obs batch of T, goals (T, G)) -> actions (T, A)


def hac_relabel(actions: np.ndarray, start: np.ndarray, achieved: np.ndarray, reached: np.ndarray, rewards: np.ndarray,
                encode: Encode, tested: np.ndarray | None = None, penalty: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """HAC hindsight actions for B high-level transitions.

    actions (B, G) proposed, start (B, G) achieved goal when proposed, achieved (B, G) when the segment ended,
    reached (B,) bool the low level reached the proposed subgoal, rewards (B,), tested (B,) bool subgoal tests.
    Returns (actions (B, G), rewards (B,)): reached -> unchanged; missed and tested -> unchanged action, reward
    `penalty`; missed otherwise -> action encode(achieved, start), reward unchanged."""
    actions = np.array(actions, dtype=np.float32, copy=True)
    rewards = np.array(rewards, dtype=np.float32, copy=True)
    reached = np.asarray(reached, dtype=bool)
    tested = np.zeros_like(reached) if tested is None else np.asarray(tested, dtype=bool)
    penalised = ~reached & tested
    hindsight = ~reached & ~tested
    if hindsight.any():
        actions[hindsight] = encode(np.asarray(achieved)[hindsight], np.asarray(start)[hindsight])
    rewards[penalised] = penalty
    return actions, rewards


def hiro_candidates(action: np.ndarray, start: np.ndarray, achieved: np.ndarray, encode: Encode, n: int, sigma: float,
                    rng: np.random.Generator) -> np.ndarray:
    """(2 + n, G) candidate actions for one transition: the original, the state reached, and n draws from
    N(encode(reached), sigma^2) clipped to [-1, 1]."""
    reached = encode(np.asarray(achieved)[None], np.asarray(start)[None])[0]
    noise = rng.normal(0.0, sigma, size=(n, reached.shape[0]))
    return np.clip(np.vstack([np.asarray(action)[None], reached[None], reached[None] + noise]), -1.0, 1.0).astype(np.float32)


def hiro_log_likelihoods(candidates: np.ndarray, start: np.ndarray, low_obs: Mapping[str, np.ndarray],
                         low_actions: np.ndarray, decode: Decode, low_mean: LowMean) -> np.ndarray:
    """(C,) Gaussian surrogate log-likelihood -1/2 sum_t ||a_t - mu(o_t, g_c)||^2 of the low level's T actions
    (T, A) under each candidate's subgoal g_c = decode(candidate, start); low_obs holds T observations per key."""
    C, T = len(candidates), len(low_actions)
    goals = decode(np.asarray(candidates, dtype=np.float64), np.repeat(np.asarray(start)[None], C, axis=0))  # (C, G)
    obs = {k: np.tile(np.asarray(v), (C,) + (1,) * (np.asarray(v).ndim - 1)) for k, v in low_obs.items()}  # (C*T, ...)
    mu = low_mean(obs, np.repeat(goals, T, axis=0)).reshape(C, T, -1)
    return -0.5 * ((mu - np.asarray(low_actions)[None]) ** 2).sum(axis=(1, 2))


def hiro_correct(action: np.ndarray, start: np.ndarray, achieved: np.ndarray, low_obs: Mapping[str, np.ndarray],
                 low_actions: np.ndarray, encode: Encode, decode: Decode, low_mean: LowMean, n: int, sigma: float,
                 rng: np.random.Generator) -> np.ndarray:
    """The candidate action (G,) that maximises the low level's log-likelihood of what it did."""
    cands = hiro_candidates(action, start, achieved, encode, n, sigma, rng)
    return cands[int(np.argmax(hiro_log_likelihoods(cands, start, low_obs, low_actions, decode, low_mean)))]


class TransitionRelabeler(ABC):
    """Strategy applied to each batch of high-level transitions before storage (one per env of a VecEnv).

    infos carry "start", "achieved", "reached" and, for HIRO, "low_obs" / "low_actions" (see hirl.rl.envs.HighLevelEnv).
    __call__(actions (N, G), rewards (N,), infos) -> (actions (N, G), rewards (N,)); `counts` holds running totals
    for logging ("transitions", "relabelled", "penalised")."""

    records_low_level: ClassVar[bool] = False  # True: needs the low level's segments in info (HighLevelEnv record=True)

    def __init__(self) -> None:
        self.counts = {"transitions": 0, "relabelled": 0, "penalised": 0}  # running totals for logging

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: Any, encode: Encode, decode: Decode, low_mean: LowMean | None,
                  seed: int) -> TransitionRelabeler:
        """The strategy configured by a HighSpec, over the high level's action coding and the low level's means."""

    @property
    def buffer_penalty(self) -> float | None:
        """Reward the replay buffer keeps failed subgoal tests at (sb3.SubgoalTestHerReplayBuffer), else None."""
        return None

    def __call__(self, actions: np.ndarray, rewards: np.ndarray, infos: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
        start = np.stack([i["start"] for i in infos])  # (N, G)
        achieved = np.stack([i["achieved"] for i in infos])  # (N, G)
        reached = np.array([bool(i["reached"]) for i in infos])  # (N,)
        self.counts["transitions"] += len(infos)
        return self.relabel(actions, rewards, infos, start, achieved, reached)

    @abstractmethod
    def relabel(self, actions: np.ndarray, rewards: np.ndarray, infos: Sequence[dict], start: np.ndarray,
                achieved: np.ndarray, reached: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stored (actions (N, G), rewards (N,)); start / achieved (N, G) and reached (N,) are read from infos."""


RELABELERS: Registry[TransitionRelabeler] = Registry("transition relabeler")  # high.relabel -> TransitionRelabeler class


def relabeler_class(name: str) -> type[TransitionRelabeler]:
    """The registered strategy class `name` (RegistryError listing the known ones otherwise)."""
    return cast("type[TransitionRelabeler]", RELABELERS.get(name))


@RELABELERS.register("none")
class NoRelabel(TransitionRelabeler):
    """Store what the high level proposed (only counts the transitions)."""

    @classmethod
    def from_spec(cls, spec: Any, encode: Encode, decode: Decode, low_mean: LowMean | None, seed: int) -> NoRelabel:
        return cls()

    def relabel(self, actions: np.ndarray, rewards: np.ndarray, infos: Sequence[dict], start: np.ndarray,
                achieved: np.ndarray, reached: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return actions, rewards


@RELABELERS.register("hac")
class HACRelabel(TransitionRelabeler):
    """HAC hindsight actions (hac_relabel) with subgoal testing: each transition is a test with probability
    subgoal_test (one rng draw per transition and call); a missed tested subgoal gets `penalty` and is marked
    info["subgoal_test_failed"] for the replay buffer."""

    def __init__(self, encode: Encode, subgoal_test: float = 0.0, penalty: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        self.encode, self.subgoal_test, self.penalty = encode, subgoal_test, penalty
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_spec(cls, spec: Any, encode: Encode, decode: Decode, low_mean: LowMean | None, seed: int) -> HACRelabel:
        return cls(encode, spec.subgoal_test, spec.subgoal_penalty, seed)

    @property
    def buffer_penalty(self) -> float | None:
        return self.penalty if self.subgoal_test > 0 else None

    def relabel(self, actions: np.ndarray, rewards: np.ndarray, infos: Sequence[dict], start: np.ndarray,
                achieved: np.ndarray, reached: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tested = self.rng.random(len(infos)) < self.subgoal_test
        out, r = hac_relabel(actions, start, achieved, reached, rewards, self.encode, tested, self.penalty)
        # the replay buffer keeps these at the penalty (sb3.SubgoalTestHerReplayBuffer)
        for j in np.flatnonzero(~reached & tested):
            infos[int(j)]["subgoal_test_failed"] = True
        self.counts["relabelled"] += int((~reached & ~tested).sum())
        self.counts["penalised"] += int((~reached & tested).sum())
        return out, r


@RELABELERS.register("hiro")
class HIROCorrection(TransitionRelabeler):
    """HIRO goal correction (hiro_correct) of every transition: n Gaussian candidates of std sigma per transition,
    drawn from one rng in transition order."""

    records_low_level = True

    def __init__(self, encode: Encode, decode: Decode, low_mean: LowMean | None, n: int = 8, sigma: float = 0.5,
                 seed: int = 0) -> None:
        if low_mean is None:
            raise ValueError("HIRO correction needs the low level's action means (low_mean)")
        super().__init__()
        self.encode, self.decode, self.low_mean, self.n, self.sigma = encode, decode, low_mean, n, sigma
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_spec(cls, spec: Any, encode: Encode, decode: Decode, low_mean: LowMean | None, seed: int) -> HIROCorrection:
        return cls(encode, decode, low_mean, spec.hiro_candidates, spec.hiro_sigma, seed)

    def relabel(self, actions: np.ndarray, rewards: np.ndarray, infos: Sequence[dict], start: np.ndarray,
                achieved: np.ndarray, reached: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.array(actions, dtype=np.float32, copy=True)
        for j, info in enumerate(infos):
            out[j] = hiro_correct(actions[j], start[j], achieved[j], info["low_obs"], info["low_actions"], self.encode,
                                  self.decode, self.low_mean, self.n, self.sigma, self.rng)
            self.counts["relabelled"] += int(not np.allclose(out[j], actions[j]))
        return out, rewards
