"""Core value types shared by every level of the hierarchy: Subgoal, Command, Correction.

All are frozen dataclasses; array values are copied and made read-only so a subgoal
held in a trace cannot be changed behind the agent's back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from collections.abc import Mapping

import numpy as np

SubgoalKind = Literal["language", "image", "state"]
SubgoalSource = Literal["policy", "human", "relabel", "expert"]
SUBGOAL_KINDS: tuple[str, ...] = ("language", "image", "state")
SUBGOAL_SOURCES: tuple[str, ...] = ("policy", "human", "relabel", "expert")

# An observation as envs return it: a flat state vector or a Dict-space mapping of arrays.
Observation = np.ndarray | Mapping[str, np.ndarray]


def dict_obs(obs: Observation) -> Mapping[str, np.ndarray]:
    """obs as the Dict-space observation of a goal-conditioned env (the same object); TypeError for a flat vector."""
    if isinstance(obs, np.ndarray):
        raise TypeError("expected a Dict observation (observation, achieved_goal, desired_goal), got a flat array")
    return obs


def _frozen_array(value: object, dtype: type | None = None) -> np.ndarray:
    arr = np.array(value, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Subgoal:
    """What the high level asks the low level to reach.

    kind     "language" -> value: non-empty str (an instruction)
             "image"    -> value: uint8 array (H, W, 3), a goal frame
             "state"    -> value: float64 array (G,), a goal state (e.g. positions)
    source   who produced it: the high-level policy, a human correction, hindsight relabeling or a scripted expert
    label    optional language description of an image/state goal ("go to the north-east room"); "" if none
    """

    kind: SubgoalKind
    value: str | np.ndarray
    source: SubgoalSource = "policy"
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SUBGOAL_KINDS:
            raise ValueError(f"Subgoal.kind must be one of {SUBGOAL_KINDS}, got {self.kind!r}")
        if self.source not in SUBGOAL_SOURCES:
            raise ValueError(f"Subgoal.source must be one of {SUBGOAL_SOURCES}, got {self.source!r}")
        if self.kind == "language":
            if not isinstance(self.value, str) or not self.value.strip():
                raise ValueError("language Subgoal.value must be a non-empty str")
        elif self.kind == "image":
            arr = np.asarray(self.value)
            if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
                raise ValueError(f"image Subgoal.value must be uint8 (H, W, 3), got {arr.dtype} {arr.shape}")
            object.__setattr__(self, "value", _frozen_array(arr))
        else:
            arr = np.asarray(self.value, dtype=np.float64)
            if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
                raise ValueError(f"state Subgoal.value must be a finite 1-D vector, got shape {arr.shape}")
            object.__setattr__(self, "value", _frozen_array(arr, np.float64))

    def with_source(self, source: SubgoalSource) -> Subgoal:
        """The same goal, attributed to another source (e.g. a human accepting a suggestion)."""
        return Subgoal(self.kind, self.value, source, self.label)

    def same_goal(self, other: Subgoal | None) -> bool:
        """True when other asks for the same thing (kind and value; the source is ignored)."""
        if other is None or other.kind != self.kind:
            return False
        if self.kind == "language":
            return self.value == other.value
        return bool(np.array_equal(self.value, other.value))

    @property
    def text(self) -> str:
        """Language form: the instruction, else the label, else a short description of the value."""
        if self.kind == "language":
            return str(self.value)
        return self.label or self.describe(max_len=200)

    def describe(self, max_len: int = 60) -> str:
        """Short human-readable text for traces, overlays and logs."""
        if self.kind == "language":
            text = str(self.value)
        elif self.label:
            text = self.label
        elif self.kind == "image":
            h, w = np.shape(self.value)[:2]
            text = f"image {w}x{h}"
        else:
            vec = np.asarray(self.value)  # (S,), already an array
            text = "state [" + ", ".join(f"{v:.2f}" for v in vec[:6]) + (", ...]" if vec.size > 6 else "]")
        return text if len(text) <= max_len else text[: max_len - 3] + "..."


@dataclass(frozen=True)
class Command:
    """The task command c given to the high level.

    text      the instruction as a person would give it ("open the drawer, then stack red on blue")
    subtasks  the env's own decomposition when known (canonical subtask instructions), else empty
    """

    text: str
    subtasks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError("Command.text must be a non-empty str")
        object.__setattr__(self, "subtasks", tuple(self.subtasks))


@dataclass(frozen=True, eq=False)
class Correction:
    """A corrector (a person or a script) replaced the high level's subgoal.

    step       control step (50 Hz ticks since episode start) at which the correction was made
    obs        the observation the correction refers to
    proposed   what the high level had proposed (None if it had not proposed anything yet)
    corrected  the subgoal that replaced it (source "human" for people and scripted correctors alike)
    source     "human" or "scripted": who corrected
    time       wall-clock seconds (time.time()) when the correction was made
    """

    step: int
    obs: Observation
    proposed: Subgoal | None
    corrected: Subgoal
    source: Literal["human", "scripted"] = "human"
    time: float = field(default=0.0)

    def __post_init__(self) -> None:
        if self.step < 0:
            raise ValueError(f"Correction.step must be >= 0, got {self.step}")
        if self.source not in ("human", "scripted"):
            raise ValueError(f"Correction.source must be 'human' or 'scripted', got {self.source!r}")
