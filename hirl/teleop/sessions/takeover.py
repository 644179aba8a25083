"""Teleoperated takeovers (HG-DAgger): a person (or the scripted corrector) drives the robot for a while; the actions
they give are executed instead of the low level's and recorded, with the intervention flag, as low-level rows.

    agent = TakeoverAgent(hierarchical_agent, TakeoverRecorder(journal, obs_keys, provenance))
    agent.start_takeover(driver, skill, source="human")   # driver(obs, subgoal) -> (A,) action, from the next act()
    ...                                                    # every act() now records (obs, skill, human action)
    agent.stop_takeover()                                  # the segment is journaled (fsynced) as ONE record

During a takeover the hierarchy still runs underneath (its replan rule ticks and its trace grows, so the episode's
subgoal segments stay right), but its low level's action is discarded. A takeover segment is labelled with the skill
the person says they perform (validated against the known skills by the caller); it ends at stop_takeover(), at
relabel() (a language correction during the takeover: a new segment with the new skill) or when the episode ends.

Journal records (SESSION/takeovers.jsonl, one per segment; kept apart from the language corrections in
SESSION/corrections.jsonl): id, episode, start, end (control steps, end exclusive), skill, source, command, obs
(the (S,) state vectors in obs_keys order), actions (the (A,) actions given), obs_keys + the provenance fields."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hirl.hierarchy.rollout import Agent, AgentWrapper
from hirl.policies.obs import obs_vector
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.types import Command, Observation, Subgoal

Driver = Callable[[Observation, Subgoal], np.ndarray]  # (obs, subgoal) -> (A,) action in the env's action space


@dataclass
class Segment:
    """One takeover in progress: where it started, what it performs, the (obs, action) pairs so far."""

    episode: int
    start: int
    skill: str
    source: str
    command: str
    obs: list[np.ndarray] = field(default_factory=list)  # (S,) each
    actions: list[np.ndarray] = field(default_factory=list)  # (A,) each


class TakeoverRecorder:
    """Journals takeover segments (one fsynced record each). provenance: fields written into every record."""

    def __init__(self, journal: CorrectionJournal, obs_keys: Sequence[str], provenance: Mapping[str, Any] | None = None,
                 id_prefix: str | None = None) -> None:
        self.journal, self.obs_keys = journal, tuple(obs_keys)
        self.provenance = dict(provenance or {})
        self.id_prefix = f"{uuid.uuid4().hex[:10]}-" if id_prefix is None else id_prefix
        self.records: list[dict[str, Any]] = []  # this recorder's journaled segments, in order

    def write(self, seg: Segment) -> dict[str, Any] | None:
        """Journal a finished segment (None when it holds no step). OSError when it could not be written."""
        if not seg.actions:
            return None
        record = dict(self.provenance)
        record.update(id=f"{self.id_prefix}e{seg.episode}-t{seg.start}", kind="takeover", episode=seg.episode,
                      start=seg.start, end=seg.start + len(seg.actions), skill=seg.skill, source=seg.source,
                      command=seg.command, time=time.time(), obs_keys=list(self.obs_keys),
                      obs=[np.asarray(o, np.float64).round(6).tolist() for o in seg.obs],
                      actions=[np.asarray(a, np.float64).round(6).tolist() for a in seg.actions])
        self.journal.append(record)
        self.records.append(record)
        return record


def mark_takeovers(record: dict[str, Any], steps: Sequence[int]) -> dict[str, Any]:
    """An EpisodeRecorder record with the intervention flag also set at every driven step (the stored episode then
    says which actions were the person's); returns the record."""
    flags = record["infos"]["intervention"]
    for t in steps:
        if 0 <= t < len(flags) - 1:
            flags[t] = True
    return record


class TakeoverAgent(AgentWrapper):
    """An Agent around a HierarchicalAgent whose actions a driver can take over (see the module docstring).

    episode   index written into the records (set by the session / loop before each episode)
    steps     takeover steps of the current episode (the intervention flag of the episode's steps)"""

    def __init__(self, inner: Agent, recorder: TakeoverRecorder) -> None:
        super().__init__(inner)
        self.recorder = recorder
        self.episode = 0
        self.driver: Driver | None = None
        self.segment: Segment | None = None
        self.steps: list[int] = []
        self.segments: list[tuple[int, int]] = []  # (start, end) of this episode's finished takeovers

    @property
    def active(self) -> bool:
        return self.driver is not None

    def reset(self, command: Command | None = None) -> None:
        self.flush()
        self.driver, self.steps, self.segments = None, [], []
        self.inner.reset(command)

    def start_takeover(self, driver: Driver, skill: str, source: str = "human") -> None:
        """From the next act() on, driver gives the actions, recorded as performing `skill` (a known skill)."""
        self.flush()
        self.driver = driver
        command = getattr(self.inner, "command", None)
        self.segment = Segment(self.episode, self.step_count, str(skill), source,
                               command.text if command is not None else "")

    def relabel(self, skill: str) -> None:
        """The person now performs another skill: the open segment is journaled, a new one starts (same driver)."""
        if self.driver is not None and self.segment is not None and self.segment.skill != skill:
            driver, source = self.driver, self.segment.source
            self.start_takeover(driver, skill, source)

    def stop_takeover(self) -> dict[str, Any] | None:
        """Hand control back to the low level; the segment's record (None when it had no step)."""
        self.driver = None
        return self.flush()

    def flush(self) -> dict[str, Any] | None:
        """Journal the open segment (if any) and close it."""
        seg, self.segment = self.segment, None
        if seg is None:
            return None
        if seg.actions:
            self.segments.append((seg.start, seg.start + len(seg.actions)))
        return self.recorder.write(seg)

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        action = self.inner.act(obs, info)  # the hierarchy keeps its subgoal bookkeeping even when overridden
        if self.driver is None:
            return action
        subgoal = self.inner.subgoal
        assert subgoal is not None and self.segment is not None
        human = np.asarray(self.driver(obs, subgoal), np.float32).reshape(np.shape(action))
        self.segment.obs.append(obs_vector(obs, self.recorder.obs_keys))
        self.segment.actions.append(human.copy())
        self.steps.append(self.step_count - 1)
        return human
