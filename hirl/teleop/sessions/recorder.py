"""CorrectionRecorder: turns a correction made during run_episode into a Correction, journals it (fsynced) with its
provenance and the steps that led to it, then applies it to the agent (effective at this control step's act).

Every record has an id: ID_PREFIX + "e<episode>-s<step>" (+ "-<k>" for the k-th further correction at the same
step). A scripted loop passes a deterministic prefix ("r<round>-"), a live session a random one per process, so
ids never collide between two processes on one session folder."""
from __future__ import annotations

import collections
import time
import uuid
from typing import Any
from collections.abc import Mapping

import numpy as np

from hirl.hierarchy.agent import HierarchicalAgent
from hirl.policies.obs import obs_vector
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.skills import Resolution
from hirl.types import Correction, Observation, Subgoal


def _json_obs(obs: Observation) -> Any:
    if isinstance(obs, Mapping):
        return {str(k): np.asarray(v, dtype=np.float64).ravel().tolist() for k, v in obs.items()}
    return np.asarray(obs, dtype=np.float64).ravel().tolist()


class CorrectionRecorder:
    """Hook pair for run_episode (call on_step before the corrector acts) and the correction entry point.

    journal        where records go (one fsynced JSON line each)
    obs_keys       Dict obs entries the high level reads (context vectors are stored flattened in this order)
    context_steps  K: the up-to-K observations before the correction within the same subgoal segment are kept
    provenance     extra fields written into every record (session id, run dir, corrector config, ...)
    id_prefix      prefix of record ids (None: a random one, unique to this recorder)"""

    def __init__(self, journal: CorrectionJournal, obs_keys: tuple[str, ...], context_steps: int = 10,
                 provenance: Mapping[str, Any] | None = None, id_prefix: str | None = None) -> None:
        self.journal, self.obs_keys, self.context_steps = journal, tuple(obs_keys), int(context_steps)
        self.provenance = dict(provenance or {})
        self.id_prefix = f"{uuid.uuid4().hex[:10]}-" if id_prefix is None else id_prefix
        self.episode = -1
        self.corrections: list[Correction] = []
        self.records: list[dict[str, Any]] = []  # the records journaled by this recorder, in order
        self._at_step: dict[tuple[int, int], int] = {}  # (episode, step) -> corrections recorded there
        self._context: collections.deque[np.ndarray] = collections.deque(maxlen=self.context_steps + 1)
        self._segment_step = -1

    def start_episode(self, episode: int) -> None:
        self.episode = int(episode)
        self._at_step.clear()
        self._context.clear()
        self._segment_step = -1

    def on_step(self, t: int, agent: HierarchicalAgent, obs: Observation, info: Mapping[str, Any]) -> None:
        trace = agent.trace
        if trace and trace[-1].reason is not None and trace[-1].step != self._segment_step:
            self._segment_step = trace[-1].step  # a new subgoal segment started at the previous step
            self._context.clear()
        if self.context_steps:
            self._context.append(obs_vector(obs, self.obs_keys))

    def correct(self, t: int, agent: HierarchicalAgent, obs: Observation, resolution: Resolution, source: str,
                command: str, kind: str = "human", replaces: str | None = None, apply: bool = True) -> Correction:
        """Journal the correction (fsynced; OSError when it could not be, and then nothing is applied), then override
        the agent's subgoal with the MATCHED skill resolution.skill (source "human"; the typed text is kept in the
        record). replaces: id of an earlier record of the same state that this one supersedes (it then trains
        nothing). apply False: journal only (the caller overrides later, e.g. when a paused session resumes).
        The record is self.records[-1]."""
        proposed = agent.subgoal
        corrected = Subgoal("language", resolution.skill, "human")  # the low level executes the MATCHED skill
        k = self._at_step.get((self.episode, int(t)), 0)
        correction = Correction(step=int(t), obs=obs, proposed=proposed, corrected=corrected,
                                source="scripted" if source == "scripted" else "human", time=time.time())
        context = list(self._context)[:-1] if self.context_steps else []  # the last entry is obs itself
        record = dict(self.provenance)
        record.update(
            id=f"{self.id_prefix}e{self.episode}-s{int(t)}" + (f"-{k}" if k else ""), replaces=replaces,
            episode=self.episode, step=int(t), time=correction.time, source=correction.source, kind=kind,
            command=command, proposed=None if proposed is None else proposed.text, corrected=resolution.text,
            skill=resolution.skill, how=resolution.how, similarity=round(float(resolution.similarity), 4),
            previous=self._previous(agent), obs=_json_obs(obs), obs_keys=list(self.obs_keys),
            context=[v.astype(np.float64).tolist() for v in context[-self.context_steps:]] if self.context_steps else [],
        )
        self.journal.append(record)
        if apply:
            agent.override(corrected)
        self._at_step[(self.episode, int(t))] = k + 1
        self.records.append(record)
        self.corrections.append(correction)
        return correction

    def _previous(self, agent: HierarchicalAgent) -> str | None:
        """Text of the subgoal active before the current segment began (the high level's memory when it proposed)."""
        starts = [i for i, e in enumerate(agent.trace) if e.reason is not None]
        if not starts or starts[-1] == 0:
            return None
        return agent.trace[starts[-1] - 1].subgoal.text
