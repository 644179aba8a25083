"""Correction text -> a known skill: validation (empty, too long, not UTF-8) and grounding (exact instruction, the
env's shipped paraphrases, then hirl.hierarchy.grounding.SkillGrounder: spelling-tolerant, aware of the scene's
attributes and of argument order, never the opposite skill; a text it cannot place on one skill is answered with
"which of these?" and the candidates, a GroundingError carrying them)."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hirl.encoders.text import TextEncoder
from hirl.errors import InputError
from hirl.hierarchy.grounding import GroundingError, SkillGrounder, env_knowledge, question


@dataclass(frozen=True)
class Resolution:
    """text        the correction as typed (whitespace-normalised)
    skill       the known skill (a candidate instruction of the high level) it stands for
    how         "exact" | "paraphrase" (the env knows the wording) | "grounded" (hirl.hierarchy.grounding)
    similarity  the grounder's score for the skill (1.0 for exact and paraphrase)"""

    text: str
    skill: str
    how: str
    similarity: float

    def message(self) -> str:
        if self.how == "exact":
            return f"accepted: {self.skill!r}"
        return f"accepted {self.text!r} as the known skill {self.skill!r} ({self.how}, similarity {self.similarity:.2f})"


def decode_text(raw: bytes | str, max_chars: int, what: str = "correction") -> str:
    """bytes/str -> normalised text; InputError for non-UTF-8, empty or overlong input."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{what}: not valid UTF-8 (byte {exc.start})") from None
    if not isinstance(raw, str):
        raise InputError(f"{what}: expected text, got {type(raw).__name__}")
    text = " ".join(raw.split())
    if not text:
        raise InputError(f"{what}: empty; type an instruction such as one of the suggestions")
    if len(text) > max_chars:
        raise InputError(f"{what}: {len(text)} characters, the limit is {max_chars}")
    for c in text:  # what is journaled is what a person can read back: no control, format or surrogate code points
        kind = unicodedata.category(c)
        if kind in ("Cc", "Cf", "Cs", "Co", "Cn"):  # control (incl. DEL), format (bidi overrides, zero width), ...
            raise InputError(f"{what}: contains the invisible or unprintable character U+{ord(c):04X} "
                             f"({unicodedata.name(c, kind)}); type plain text")
    return text


class SkillResolver:
    """Matches corrections against the high level's known skills.

    skills       candidate instructions of the high level (what it can be trained to emit)
    encoder      text encoder with encode(list[str]) -> (N, E) (the run's encoder); None: structure-only grounding
    canonical    env-specific text -> canonical instruction or None (shipped paraphrases), optional
    threshold    minimum grounding score to accept a skill
    margin       minimum lead of the best skill's score over the next one's
    exemplars    skill -> the env's training paraphrases of it (matched as the skill)
    attributes   object word -> attribute words the scene's object has (EnvAdapter.scene_attributes)"""

    def __init__(self, skills: Sequence[str], encoder: TextEncoder | None,
                 canonical: Callable[[str], str | None] | None = None, threshold: float = 0.6, max_chars: int = 200,
                 margin: float = 0.05, exemplars: Mapping[str, Sequence[str]] | None = None,
                 attributes: Mapping[str, Sequence[str]] | None = None) -> None:
        self.skills = list(dict.fromkeys(str(s) for s in skills))
        if not self.skills:
            raise ValueError("SkillResolver needs at least one known skill")
        self.encoder, self.canonical, self.max_chars = encoder, canonical, int(max_chars)
        self.grounder = SkillGrounder(self.skills, encoder, exemplars=exemplars, canonical=canonical,
                                      attributes=attributes, threshold=threshold, margin=margin)

    @classmethod
    def for_env(cls, ad: Any, skills: Sequence[str], encoder: TextEncoder | None, **kwargs: Any) -> SkillResolver:
        """A resolver with what the env's adapter knows: canonicalisation (kwargs "canonical"), its training
        paraphrases as exemplars and its scene attributes."""
        return cls(skills, encoder, **env_knowledge(ad, skills), **kwargs)

    @property
    def threshold(self) -> float:
        return self.grounder.threshold

    @property
    def margin(self) -> float:
        return self.grounder.margin

    def add(self, skill: str) -> str:
        """Make `skill` (validated text) known: a person explicitly adds a new skill. Returns it."""
        text = decode_text(skill, self.max_chars, "new skill")
        if text not in self.skills:
            self.skills.append(text)
            self.grounder.add(text)
        return text

    def suggestions(self, prefix: str = "") -> list[str]:
        p = prefix.strip().lower()
        return [s for s in self.skills if p in s.lower()] if p else list(self.skills)

    def resolve(self, raw: bytes | str, what: str = "correction") -> Resolution:
        """Resolution for raw text; InputError with the reason when it is not accepted, a GroundingError (its
        .candidates the skills offered) when it could be one of several."""
        text = decode_text(raw, self.max_chars, what)
        g = self.grounder.ground(text)
        if g.skill is None:
            raise GroundingError(question(g, what), [s for s, _ in g.candidates])
        return Resolution(text, g.skill, g.how, g.score)
