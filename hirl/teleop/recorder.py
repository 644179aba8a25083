"""CorrectionRecorder: turns a correction made during run_episode into a Correction, applies it to the agent
(effective at this control step's act) and journals it with its provenance and the steps that led to it."""
from __future__ import annotations

import collections
import time
from typing import Any
from collections.abc import Mapping

import numpy as np

from hirl.hierarchy.agent import HierarchicalAgent
from hirl.policies.obs import obs_vector
from hirl.teleop.journal import CorrectionJournal
from hirl.teleop.skills import Resolution
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
    provenance     extra fields written into every record (session id, run dir, corrector config, ...)"""

    def __init__(self, journal: CorrectionJournal, obs_keys: tuple[str, ...], context_steps: int = 10,
                 provenance: Mapping[str, Any] | None = None) -> None:
        self.journal, self.obs_keys, self.context_steps = journal, tuple(obs_keys), int(context_steps)
        self.provenance = dict(provenance or {})
        self.episode = -1
        self.corrections: list[Correction] = []
        self._context: collections.deque[np.ndarray] = collections.deque(maxlen=self.context_steps + 1)
        self._segment_step = -1

    def start_episode(self, episode: int) -> None:
        self.episode = int(episode)
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
                command: str, kind: str = "human") -> Correction:
        """Override the agent's subgoal with resolution.text (source "human") and journal the correction."""
        proposed = agent.subgoal
        corrected = Subgoal("language", resolution.text, "human")
        agent.override(corrected)
        correction = Correction(step=int(t), obs=obs, proposed=proposed, corrected=corrected,
                                source="scripted" if source == "scripted" else "human", time=time.time())
        context = list(self._context)[:-1] if self.context_steps else []  # the last entry is obs itself
        record = dict(self.provenance)
        record.update(
            episode=self.episode, step=int(t), time=correction.time, source=correction.source, kind=kind,
            command=command, proposed=None if proposed is None else proposed.text, corrected=resolution.text,
            skill=resolution.skill, how=resolution.how, similarity=round(float(resolution.similarity), 4),
            previous=self._previous(agent), obs=_json_obs(obs), obs_keys=list(self.obs_keys),
            context=[v.astype(np.float64).tolist() for v in context[-self.context_steps:]] if self.context_steps else [],
        )
        self.journal.append(record)
        self.corrections.append(correction)
        return correction

    def _previous(self, agent: HierarchicalAgent) -> str | None:
        """Text of the subgoal active before the current segment began (the high level's memory when it proposed)."""
        starts = [i for i, e in enumerate(agent.trace) if e.reason is not None]
        if not starts or starts[-1] == 0:
            return None
        return agent.trace[starts[-1] - 1].subgoal.text
