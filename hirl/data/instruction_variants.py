"""Templated variants of an instruction, for goal-text augmentation beyond an env's shipped paraphrases.

    instruction_variants("pick up the red block", 4)
    -> (four strings such as 'grab red block', 'would you pick up the red block', 'pick up the red brick')

Four families, each applied to a variant with probability 1/2 (at least one per variant), in this order:
    verbs       a verb phrase swapped for a synonym from VERBS ("pick up" -> "grab", "turn on" -> "flip on")
    dropout     articles dropped, then one more word with probability 1/2 (never a word in KEEP: the colours and
                the on / off / in / open / close words that tell skills apart)
    objects     an object noun swapped for one from OBJECTS ("block" -> "brick", "light" -> "light bulb")
    politeness  the text wrapped in a request from POLITENESS ("can you ...", "... please")

The word lists are deliberately disjoint from the phrasings hirl measures unseen wording with (the env's held-out
paraphrase and experiments/tabletop/instruction_map.tsv: "cube", "raise", "tap", "power on", "could you please",
terse forms), so those measurements stay held out. No model is involved: the variants are embedded by the run's own
text encoder with the rest of the vocabulary. Deterministic per (text, seed).
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence

import numpy as np

FAMILIES: tuple[str, ...] = ("verbs", "dropout", "objects", "politeness")

# verb phrase (as in canonical instructions) -> training synonyms
VERBS: dict[str, tuple[str, ...]] = {
    "pick up": ("grab", "grasp", "lift up", "pick"),
    "turn on": ("switch on", "flip on", "put on"),
    "turn off": ("switch off", "flip off", "put out"),
    "open": ("pull open", "slide open", "get open"),
    "close": ("slide closed", "push back", "close up"),
    "push": ("press", "press down", "poke"),
    "place": ("put", "drop", "store", "deposit"),
    "stack": ("put", "place", "pile", "rest"),
}
# object noun -> training synonyms
OBJECTS: dict[str, tuple[str, ...]] = {
    "block": ("brick", "box", "piece", "one"),
    "drawer": ("sliding drawer", "drawer unit"),
    "light": ("lights", "light bulb"),
    "button": ("push button", "switch"),
}
# request templates; {} is the instruction
POLITENESS: tuple[str, ...] = ("please {}", "{} please", "can you {}", "i want you to {}", "go ahead and {}",
                               "now {}", "{} now", "would you {}", "{}, thanks")
ARTICLES = frozenset({"the", "a", "an"})
# words that tell skills apart: never dropped
KEEP = frozenset({"red", "green", "blue", "on", "off", "in", "into", "onto", "open", "close", "closed"})


def _swap(text: str, table: dict[str, tuple[str, ...]], rng: np.random.Generator) -> str:
    """Each phrase of table found in text (longest first, whole words) replaced by one of its synonyms."""
    for phrase in sorted(table, key=len, reverse=True):
        pattern = re.compile(rf"\b{re.escape(phrase)}\b")
        if pattern.search(text):
            options = table[phrase]

            def pick(_match: re.Match[str], o: tuple[str, ...] = options) -> str:
                return o[int(rng.integers(len(o)))]

            text = pattern.sub(pick, text)
    return text


def _dropout(text: str, rng: np.random.Generator) -> str:
    words = [w for w in text.split() if w not in ARTICLES]
    free = [i for i, w in enumerate(words) if w not in KEEP]
    if len(words) > 3 and free and rng.random() < 0.5:
        del words[free[int(rng.integers(len(free)))]]
    return " ".join(words)


def variant(text: str, rng: np.random.Generator) -> str:
    """One templated variant of text (lower-cased, whitespace-normalised)."""
    base = " ".join(text.lower().split())
    on = rng.random(len(FAMILIES)) < 0.5
    if not on.any():
        on[int(rng.integers(len(FAMILIES)))] = True
    out = base
    if on[0]:
        out = _swap(out, VERBS, rng)
    if on[1]:
        out = _dropout(out, rng)
    if on[2]:
        out = _swap(out, OBJECTS, rng)
    if on[3]:
        out = POLITENESS[int(rng.integers(len(POLITENESS)))].format(out)
    return out


def instruction_variants(text: str, n: int, seed: int = 0, exclude: Sequence[str] = ()) -> list[str]:
    """Up to n distinct variants of text (fewer when the families cannot make n), none equal to text or to any of
    exclude (case-insensitive); deterministic per (text, seed)."""
    if n <= 0:
        return []
    rng = np.random.default_rng([zlib.crc32(text.encode()), int(seed)])
    seen = {" ".join(t.lower().split()) for t in (text, *exclude)}
    out: list[str] = []
    for _ in range(20 * n):
        v = variant(text, rng)
        if v not in seen:
            seen.add(v)
            out.append(v)
            if len(out) == n:
                break
    return out


def with_variants(paraphrases: Callable[[str], Sequence[str]], n: int, seed: int = 0) -> Callable[[str], list[str]]:
    """paraphrases(text) -> training phrasings, extended by n templated variants of text (none repeating them)."""

    def phrasings(text: str) -> list[str]:
        shipped = list(paraphrases(text))
        return shipped + instruction_variants(text, n, seed, exclude=shipped)

    return phrasings


__all__ = ["FAMILIES", "OBJECTS", "POLITENESS", "VERBS", "instruction_variants", "variant", "with_variants"]
