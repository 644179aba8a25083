"""Correction text -> a known skill: validation (empty, too long, not UTF-8) and matching (exact instruction,
the env's shipped paraphrases, or the nearest known skill by text embedding above a threshold)."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Sequence

from hirl.encoders.text import TextEncoder
from hirl.errors import InputError


@dataclass(frozen=True)
class Resolution:
    """text        the correction as typed (whitespace-normalised)
    skill       the known skill (a candidate instruction of the high level) it stands for
    how         "exact" | "paraphrase" (the env knows the wording) | "embedding" (nearest skill by cosine)
    similarity  cosine similarity of text and skill embeddings (1.0 for exact)"""

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
    if any(ord(c) < 32 for c in text):
        raise InputError(f"{what}: contains control characters")
    return text


class SkillResolver:
    """Matches corrections against the high level's known skills.

    skills       candidate instructions of the high level (what it can be trained to emit)
    encoder      text encoder with encode(list[str]) -> (N, E) (the run's encoder)
    canonical    env-specific text -> canonical instruction or None (shipped paraphrases), optional
    threshold    minimum cosine similarity for an embedding match"""

    def __init__(self, skills: Sequence[str], encoder: TextEncoder, canonical: Callable[[str], str | None] | None = None,
                 threshold: float = 0.6, max_chars: int = 200) -> None:
        self.skills = list(dict.fromkeys(str(s) for s in skills))
        if not self.skills:
            raise ValueError("SkillResolver needs at least one known skill")
        self.encoder, self.canonical, self.threshold, self.max_chars = encoder, canonical, float(threshold), int(max_chars)

    def suggestions(self, prefix: str = "") -> list[str]:
        p = prefix.strip().lower()
        return [s for s in self.skills if p in s.lower()] if p else list(self.skills)

    def resolve(self, raw: bytes | str) -> Resolution:
        """Resolution for raw text; InputError with the reason (and the closest skill) when it is not accepted."""
        text = decode_text(raw, self.max_chars)
        lower = {s.lower(): s for s in self.skills}
        if text.lower() in lower:
            return Resolution(text, lower[text.lower()], "exact", 1.0)
        canon = self.canonical(text) if self.canonical is not None else None
        if canon is not None and canon in self.skills:
            return Resolution(text, canon, "paraphrase", self._similarity(text, canon))
        skill, sim, _ = self.encoder.nearest(text, self.skills)
        if sim >= self.threshold:
            return Resolution(text, str(skill), "embedding", float(sim))
        raise InputError(f"correction {text!r}: not a known skill (closest: {skill!r}, similarity {sim:.2f} < "
                         f"{self.threshold:.2f}); pick a suggestion or rephrase")

    def _similarity(self, a: str, b: str) -> float:
        import numpy as np

        e = np.asarray(self.encoder.encode([a, b]), dtype=np.float64)
        n = np.linalg.norm(e, axis=1)
        return float(e[0] @ e[1] / max(n[0] * n[1], 1e-12))
