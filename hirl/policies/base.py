"""The two policy interfaces of the hierarchy. Numpy in, numpy out; torch stays inside implementations."""
from __future__ import annotations

import abc

import numpy as np

from hirl.types import Command, Observation, Subgoal


class HighLevelPolicy(abc.ABC):
    """pi_HL(g | o, c): turns the task command and an observation into a subgoal."""

    def reset(self) -> None:
        """Called at the start of every episode."""

    @abc.abstractmethod
    def propose(self, obs: Observation, command: Command) -> Subgoal:
        """Return the next subgoal for obs (one env observation, unbatched)."""

    def observe(self, subgoal: Subgoal) -> None:
        """Told that subgoal became active without being proposed (a correction); policies with memory update it."""

    def completed(self, subgoal: Subgoal) -> None:
        """Told, just before the propose() of a completion replan, that the replan rule judged subgoal done; a policy
        may then not propose it again at once (LanguageHighLevel does not). Default: ignored."""

    def refused(self, subgoal: Subgoal, why: str) -> None:
        """Told that a proposal was refused (outside its skill's initiation set; HierarchicalAgent's `initiation`),
        just before the agent asks again in the same step. Default: ignored."""


class HighLevelWrapper(HighLevelPolicy):
    """A high level around another (`inner`): reset and the three notifications are forwarded; subclasses define
    propose (e.g. timing it, or changing what it proposes)."""

    def __init__(self, inner: HighLevelPolicy) -> None:
        self.inner = inner

    def reset(self) -> None:
        self.inner.reset()

    def observe(self, subgoal: Subgoal) -> None:
        self.inner.observe(subgoal)

    def completed(self, subgoal: Subgoal) -> None:
        self.inner.completed(subgoal)

    def refused(self, subgoal: Subgoal, why: str) -> None:
        self.inner.refused(subgoal, why)


class LowLevelPolicy(abc.ABC):
    """pi_LL(a | o, g): a goal-conditioned controller run at the env's 50 Hz control rate."""

    def reset(self) -> None:
        """Called at the start of every episode."""

    @abc.abstractmethod
    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        """Return one action (A,) for obs (unbatched) and the active subgoal."""
