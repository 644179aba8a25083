"""Affordance-scored high level (SayCan-style): the next skill maximises relevance x affordance.

    relevance(skill)   softmax over skills of cos(MiniLM(current step of the command), MiniLM(skill description)) / T
    affordance(skill)  p(the frozen low level completes the skill from here), a learned AffordanceModel
    current step       the command is split into steps (split_command); a step is done when the skill most
                       relevant to it completes (an enabling skill chosen for its affordance, e.g. "open the drawer"
                       before "put the red block in the drawer", does not end the step)

A veto is a proposal where the most relevant skill was not chosen because of its affordance; `history` keeps every
proposal (never cleared by reset) for measuring how often a vetoed skill could not have worked.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from hirl.encoders.text import TextEncoder
from hirl.policies.base import HighLevelPolicy
from hirl.skills.library import SkillLibrary
from hirl.types import Command, Observation, Subgoal

class Affordance(Protocol):
    """p(skill succeeds | obs): hirl.skills.affordance.AffordanceModel (learned) or PreconditionAffordance (oracle)."""

    def probabilities(self, obs: Observation, skills: Sequence[str]) -> np.ndarray: ...


# step separators of a free-form command, longest first (case-insensitive)
CONNECTORS = (r",?\s*and after that\s*", r",?\s*after that\s*", r",?\s*and then\s*", r",?\s*then\s*", r",?\s*next\s*",
              r",?\s*afterwards\s*", r"\s*;\s*", r"\.\s+", r",?\s*and finally\s*", r",?\s*finally\s*", r",\s*", r"\s+and\s+")
QUANTIFIERS = r"\b(every block|each block|all (?:the |three )?blocks|all three|the blocks)\b"


def split_command(text: str, objects: Sequence[str] = ()) -> list[str]:
    """A free-form command -> its steps: split at connectors ("then", "after that", ", ", " and ", ...), a leading
    "first" dropped; a step naming every block ("every block", "all blocks", ...) is repeated once per object in
    `objects` (e.g. "the red block"), in that order."""
    t = re.sub(r"^\s*(first|start by|begin by)\s*,?\s*", "", text.strip().rstrip("."), flags=re.I)
    parts = [p.strip() for p in re.split("|".join(CONNECTORS), t, flags=re.I) if p and p.strip()]
    steps: list[str] = []
    for p in parts:
        if objects and re.search(QUANTIFIERS, p, flags=re.I):
            steps += [re.sub(QUANTIFIERS, o, p, flags=re.I) for o in objects]
        else:
            steps.append(p)
    return steps or [text]


def block_objects(library: SkillLibrary) -> list[str]:
    """The objects the library's descriptions name as "the <word> block", in first-mention order."""
    seen: list[str] = []
    for s in library:
        for m in re.findall(r"the (\w+) block", s.description):
            if f"the {m} block" not in seen:
                seen.append(f"the {m} block")
    return seen


class AffordanceHighLevel(HighLevelPolicy):
    """See the module docstring. admissible (optional): (skill name, obs) -> None | why not, the env's initiation
    check, used only to label vetoes in `history` (never to choose)."""

    def __init__(self, library: SkillLibrary, model: Affordance, encoder: TextEncoder, temperature: float = 0.1,
                 admissible: Callable[[str, Observation], str | None] | None = None) -> None:
        if temperature <= 0:
            raise ValueError(f"AffordanceHighLevel.temperature must be > 0, got {temperature}")
        self.library, self.model, self.encoder, self.temperature = library, model, encoder, float(temperature)
        self.admissible = admissible
        self.names = library.names
        self.skill_embs = self._unit(encoder.encode([s.description for s in library]))  # (K, E), computed once
        self.objects = block_objects(library)
        self.history: list[dict[str, Any]] = []
        self.reset()

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)

    def reset(self) -> None:
        self._command: str | None = None
        self._steps: list[str] = []
        self._rel: np.ndarray = np.zeros((0, len(self.names)))
        self._k = 0
        self._excluded: set[str] = set()  # refused at this decision (HierarchicalAgent.refused)
        self._just_done: str | None = None  # the skill that just ended (completed or timed out): not proposed again at once
        self._last: str | None = None  # the last proposal
        self._episode = len({h["episode"] for h in self.history})

    def _parse(self, command: Command) -> None:
        self._command = command.text
        self._steps = split_command(command.text, self.objects)
        sims = self._unit(self.encoder.encode(self._steps)) @ self.skill_embs.T / self.temperature  # (n_steps, K)
        e = np.exp(sims - sims.max(axis=1, keepdims=True))
        self._rel = e / e.sum(axis=1, keepdims=True)

    @property
    def steps(self) -> list[str]:
        return list(self._steps)

    def relevance(self) -> np.ndarray:
        """(K,) relevance of each skill to the current step (the last step once all are done)."""
        return self._rel[min(self._k, len(self._steps) - 1)]

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        if command.text != self._command:
            self._parse(command)
        elif self._just_done is None and self._last is not None:  # the last skill ended without completing
            self._just_done = self._last
        rel, aff = self.relevance(), self.model.probabilities(obs, self.names)
        score = rel * aff
        for name in self._excluded | ({self._just_done} if self._just_done else set()):
            score[self.names.index(name)] = -1.0
        top, chosen = int(np.argmax(rel)), int(np.argmax(score))
        record: dict[str, Any] = {"episode": self._episode, "step_index": self._k, "chosen": self.names[chosen],
                                  "most_relevant": self.names[top], "affordance_of_most_relevant": float(aff[top]),
                                  "veto": top != chosen and self.names[top] not in self._excluded
                                  and self.names[top] != self._just_done}
        if record["veto"] and self.admissible is not None:
            record["vetoed_outside_initiation"] = self.admissible(self.names[top], obs) is not None
        self.history.append(record)
        self._excluded, self._just_done, self._last = set(), None, self.names[chosen]
        return self.library.get(self.names[chosen]).subgoal

    def refused(self, subgoal: Subgoal, why: str) -> None:
        skill = self.library.of(subgoal)
        if skill is not None:
            self._excluded.add(skill.name)

    def completed(self, subgoal: Subgoal) -> None:
        skill = self.library.of(subgoal)
        self._just_done = skill.name if skill is not None else None
        self._last = None
        if skill is not None and self._k < len(self._steps) and self.names[int(np.argmax(self.relevance()))] == skill.name:
            self._k += 1
