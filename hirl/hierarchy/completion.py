"""Completion detectors: has the low level reached the active subgoal?

A detector can be wrong both ways. One that never fires would stall the robot, which is why
OnCompletion always carries a timeout; one that fires early is what fixed-interval replanning guards against.
"""
from __future__ import annotations

import abc
from typing import Any, Protocol
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from hirl.registry import COMPLETION_DETECTORS
from hirl.types import Observation, Subgoal


class CompletionDetector(abc.ABC):
    """done(obs, subgoal, info) -> bool, evaluated once per control step while a subgoal is active."""

    def reset(self) -> None:
        """Called at the start of every episode."""

    @abc.abstractmethod
    def done(self, obs: Observation, subgoal: Subgoal, info: Mapping[str, Any]) -> bool: ...


def achieved_state(obs: Observation, key: str = "achieved_goal") -> np.ndarray:
    """The achieved goal vector (G,) of an observation: obs[key] for Dict observations, the vector itself otherwise."""
    if isinstance(obs, Mapping):
        if key not in obs:
            raise KeyError(f"observation has no {key!r} entry (keys: {sorted(obs)})")
        return np.asarray(obs[key], dtype=np.float64)
    return np.asarray(obs, dtype=np.float64)


@COMPLETION_DETECTORS.register("never")
class Never(CompletionDetector):
    """Never fires: a subgoal that runs for exactly its timeout (e.g. a discovered skill of fixed duration)."""

    def done(self, obs: Observation, subgoal: Subgoal, info: Mapping[str, Any]) -> bool:
        return False


@COMPLETION_DETECTORS.register("state_distance")
class StateDistance(CompletionDetector):
    """Done when ||achieved[dims] - goal[dims]||_2 <= epsilon, for state subgoals.

    epsilon  distance threshold, in the units of the achieved-goal vector
    key      observation entry holding the achieved goal (G,)
    dims     which goal components to compare (None: all)
    """

    def __init__(self, epsilon: float = 0.05, key: str = "achieved_goal", dims: Sequence[int] | None = None) -> None:
        if epsilon <= 0:
            raise ValueError(f"StateDistance.epsilon must be > 0, got {epsilon}")
        self.epsilon, self.key = float(epsilon), key
        self.dims = None if dims is None else np.asarray(dims, dtype=int)

    def done(self, obs: Observation, subgoal: Subgoal, info: Mapping[str, Any]) -> bool:
        if subgoal.kind != "state":
            raise TypeError(f"state_distance detector needs state subgoals, got a {subgoal.kind} subgoal")
        achieved, goal = achieved_state(obs, self.key), np.asarray(subgoal.value)
        if achieved.shape != goal.shape:
            raise ValueError(f"state_distance: achieved goal shape {achieved.shape} != subgoal shape {goal.shape}")
        if self.dims is not None:
            achieved, goal = achieved[self.dims], goal[self.dims]
        return bool(np.linalg.norm(achieved - goal) <= self.epsilon)


@COMPLETION_DETECTORS.register("env_predicate")
class EnvPredicate(CompletionDetector):
    """Done when the environment says so through info.

    info[key] may be a bool (the active subgoal's completion), or a mapping from language
    instruction to bool (e.g. Tabletop's "subtask_success"); then the subgoal's text, passed
    through `canonicalize` when given (paraphrase -> the env's name for it), selects the entry.
    An instruction the env does not know is never complete: the replan timeout ends it.
    """

    def __init__(self, key: str = "subtask_success", canonicalize: Callable[[str], str | None] | None = None) -> None:
        self.key, self.canonicalize = key, canonicalize

    def done(self, obs: Observation, subgoal: Subgoal, info: Mapping[str, Any]) -> bool:
        if self.key not in info:
            raise KeyError(f"env_predicate detector: info has no {self.key!r} entry (keys: {sorted(info)})")
        flag = info[self.key]
        if isinstance(flag, Mapping):
            if subgoal.kind != "language":
                raise TypeError(
                    f"env_predicate: info[{self.key!r}] is keyed by instruction, but the subgoal is {subgoal.kind}")
            text = str(subgoal.value)
            name = self.canonicalize(text) if self.canonicalize is not None else text
            return bool(name is not None and flag.get(name, False))
        return bool(flag)


@COMPLETION_DETECTORS.register("chain_progress")
class ChainProgress(CompletionDetector):
    """Done when the env's task chain advanced since this subgoal became active: len(info[key]) grew.

    Works for any subgoal kind (image and state subgoals have no instruction to look up), on envs that report
    completed subtasks (Tabletop's "completed_subtasks"). A subgoal's baseline is the count at the previous call (the
    step it was proposed at), so a subtask completed by the very first step of a new subgoal still counts (with a
    replan every few steps, 1 in k completions would otherwise go unseen); when the chain goes back (a disturbance
    undid a subtask), the baseline follows it down, so redoing that subtask counts as progress.
    """

    def __init__(self, key: str = "completed_subtasks") -> None:
        self.key = key
        self._subgoal: Subgoal | None = None
        self._start = 0
        self._last: int | None = None  # the count at the previous call (None: no call since reset)

    def reset(self) -> None:
        self._subgoal, self._start, self._last = None, 0, None

    def done(self, obs: Observation, subgoal: Subgoal, info: Mapping[str, Any]) -> bool:
        if self.key not in info:
            raise KeyError(f"chain_progress detector: info has no {self.key!r} entry (keys: {sorted(info)})")
        count = len(info[self.key])
        if subgoal is not self._subgoal:
            self._subgoal, self._start = subgoal, count if self._last is None else self._last
        self._start = min(self._start, count)  # the chain went back (a subtask undone): progress counts from here
        self._last = count
        return count > self._start


class SuccessClassifier(Protocol):
    """A learned model of subgoal completion."""

    def success_probability(self, obs: Observation, subgoal: Subgoal) -> float: ...


@COMPLETION_DETECTORS.register("learned")
class LearnedCompletion(CompletionDetector):
    """Done when a learned success classifier's probability reaches threshold."""

    def __init__(self, classifier: SuccessClassifier, threshold: float = 0.5) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"LearnedCompletion.threshold must be in (0, 1], got {threshold}")
        self.classifier, self.threshold = classifier, float(threshold)

    def done(self, obs: Observation, subgoal: Subgoal, info: Mapping[str, Any]) -> bool:
        return bool(self.classifier.success_probability(obs, subgoal) >= self.threshold)


@COMPLETION_DETECTORS.register("noisy")
class NoisyDetector(CompletionDetector):
    """Wraps a detector and flips its answer at random: false positives with probability
    false_positive per step, misses with probability false_negative. For replan-rule studies."""

    def __init__(
        self, inner: CompletionDetector, false_positive: float = 0.0, false_negative: float = 0.0, seed: int = 0
    ) -> None:
        for name, p in (("false_positive", false_positive), ("false_negative", false_negative)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"NoisyDetector.{name} must be in [0, 1], got {p}")
        self.inner, self.false_positive, self.false_negative, self.seed = inner, false_positive, false_negative, seed
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        self.inner.reset()

    def done(self, obs: Observation, subgoal: Subgoal, info: Mapping[str, Any]) -> bool:
        truth = self.inner.done(obs, subgoal, info)
        flip = self.rng.random() < (self.false_negative if truth else self.false_positive)
        return truth != flip
