"""Correction text -> a known skill: validation (empty, too long, not UTF-8) and matching (exact instruction,
the env's shipped paraphrases, or the nearest known skill by text embedding).

An embedding match is a guess, so it must be a confident one: the similarity at least `threshold`, ahead of the
second-closest skill by at least `margin` (skills that differ only in an object or a colour score alike: "pick up
the purple block" is 0.76 to the blue and 0.72 to the green one), and no word of the text that tells skills apart
(a word in some known skills but not all, e.g. "red", "drawer", "push") may be missing from the matched skill."""
from __future__ import annotations

import unicodedata
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
    for c in text:  # what is journaled is what a person can read back: no control, format or surrogate code points
        kind = unicodedata.category(c)
        if kind in ("Cc", "Cf", "Cs", "Co", "Cn"):  # control (incl. DEL), format (bidi overrides, zero width), ...
            raise InputError(f"{what}: contains the invisible or unprintable character U+{ord(c):04X} "
                             f"({unicodedata.name(c, kind)}); type plain text")
    return text


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.lower()).split()


class SkillResolver:
    """Matches corrections against the high level's known skills.

    skills       candidate instructions of the high level (what it can be trained to emit)
    encoder      text encoder with encode(list[str]) -> (N, E) (the run's encoder); None: no embedding matches
    canonical    env-specific text -> canonical instruction or None (shipped paraphrases), optional
    threshold    minimum cosine similarity for an embedding match
    margin       minimum lead of the best skill's similarity over the second best's"""

    def __init__(self, skills: Sequence[str], encoder: TextEncoder | None,
                 canonical: Callable[[str], str | None] | None = None, threshold: float = 0.6, max_chars: int = 200,
                 margin: float = 0.05) -> None:
        self.skills = list(dict.fromkeys(str(s) for s in skills))
        if not self.skills:
            raise ValueError("SkillResolver needs at least one known skill")
        self.encoder, self.canonical, self.threshold, self.max_chars = encoder, canonical, float(threshold), int(max_chars)
        self.margin = float(margin)
        self._index()

    def _index(self) -> None:
        self._words = {s: set(_words(s)) for s in self.skills}
        everywhere = set.intersection(*self._words.values())
        self.distinguishing = set().union(*self._words.values()) - everywhere  # words that tell skills apart

    def add(self, skill: str) -> str:
        """Make `skill` (validated text) known: a person explicitly adds a new skill. Returns it."""
        text = decode_text(skill, self.max_chars, "new skill")
        if text not in self.skills:
            self.skills.append(text)
            self._index()
        return text

    def suggestions(self, prefix: str = "") -> list[str]:
        p = prefix.strip().lower()
        return [s for s in self.skills if p in s.lower()] if p else list(self.skills)

    def resolve(self, raw: bytes | str, what: str = "correction") -> Resolution:
        """Resolution for raw text; InputError with the reason (and the closest skill) when it is not accepted."""
        text = decode_text(raw, self.max_chars, what)
        lower = {s.lower(): s for s in self.skills}
        if text.lower() in lower:
            return Resolution(text, lower[text.lower()], "exact", 1.0)
        canon = self.canonical(text) if self.canonical is not None else None
        if canon is not None and canon in self.skills:
            return Resolution(text, canon, "paraphrase", self._similarity(text, canon))
        if self.encoder is None:
            raise InputError(f"{what} {text!r}: not a known skill (type one of the suggestions, or add it as a new skill)")
        ranked = self.ranked(text)
        (skill, sim), (second, sim2) = ranked[0], ranked[1] if len(ranked) > 1 else (None, -1.0)
        if sim < self.threshold:
            raise InputError(f"{what} {text!r}: not a known skill (closest: {skill!r}, similarity {sim:.2f} < "
                             f"{self.threshold:.2f}); pick a suggestion or rephrase")
        if second is not None and sim - sim2 < self.margin:
            raise InputError(f"{what} {text!r}: ambiguous, {skill!r} ({sim:.2f}) and {second!r} ({sim2:.2f}) are "
                             f"too close (margin {sim - sim2:.2f} < {self.margin:.2f}); type the skill you mean")
        clash = sorted(w for w in set(_words(text)) & self.distinguishing if w not in self._words[skill])
        if clash:
            raise InputError(f"{what} {text!r}: closest skill {skill!r} ({sim:.2f}) does not contain "
                             f"{', '.join(repr(w) for w in clash)}; type the skill you mean")
        return Resolution(text, str(skill), "embedding", float(sim))

    def ranked(self, text: str) -> list[tuple[str, float]]:
        """(skill, cosine similarity) of every known skill to text, best first."""
        import numpy as np

        assert self.encoder is not None
        sims = np.asarray(self.encoder.nearest(text, self.skills)[2], dtype=np.float64)
        return [(self.skills[i], float(sims[i])) for i in np.argsort(-sims, kind="stable")]

    def _similarity(self, a: str, b: str) -> float:
        import numpy as np

        if self.encoder is None:
            return 1.0  # a shipped paraphrase needs no embedding to be trusted
        e = np.asarray(self.encoder.encode([a, b]), dtype=np.float64)
        n = np.linalg.norm(e, axis=1)
        return float(e[0] @ e[1] / max(n[0] * n[1], 1e-12))
