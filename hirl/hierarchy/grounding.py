"""Typed text -> one of the known skills, or an honest question: spelling-tolerant, scene-aware, order-aware grounding.

    g = SkillGrounder(skills, encoder, exemplars={"close the drawer": ["shut the drawer", ...]},
                      attributes={"button": ("red", "round", "big")})
    r = g.ground("hit the big red buton")      # Grounding(skill="push the button", how="grounded", ...)
    r = g.ground("pick up a block")            # Grounding(skill=None, candidates=(3 pick-ups), ...): ask which
    g.resolve("swich of the lite")             # -> "turn off the light"; GroundingError (with .candidates) otherwise

What happens to a text, in order:
1. words: lower case, split on anything not a letter or digit, glued words split ("turnoff" -> "turn off"), a
   misspelt word corrected to the nearest vocabulary word (optimal string alignment distance 1, 2 from 7 letters; the
   skills' own words win ties, so "plase" is "place", not "please"), then LEXICON's synonyms mapped to the skills'
   words ("lamp" -> "light", "cube" -> "block", "shut" -> "close").
2. scope: words after a negation ("not", "don't", "never", "instead of") up to the next comma are dropped ("turn the
   light off, not on" keeps "off"); a locative phrase ("next to the lamp", "by the button") is dropped; a colour
   word right before an object whose scene attributes include it is that object's attribute, not a skill argument
   ("press the red button" with a red button).
3. candidates: every skill scored by the cosine of the cleaned text's embedding to the skill's nearest exemplar
   (the skill itself and its training paraphrases), minus PENALTY for each word of the text that tells skills apart
   and the skill lacks.
4. contradictions exclude a skill outright, so the opposite skill is never picked: a *contrast word* of the text
   (one of a pair of words in which two skills differ, derived from the skills: open/close, on/off, red/green) whose
   partner is in the skill instead; a swapped argument order ("stack the red block on the blue block" vs "blue on
   red": the word after the relation word "on" is the base; after "under"/"beneath" it is the top); a colour the
   scene does not have ("the yellow block").
5. decision: the best remaining skill is accepted when its score is >= threshold, it leads the next one by >= margin
   and the text names every contrast word it needs (its colours, its open/close); otherwise the text is ambiguous
   and the top candidates (score >= ask_floor) are offered ("which of these?"); with none, it is refused.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from hirl.encoders.text import TextEncoder
from hirl.errors import InputError

# Synonyms of words the skills use, as people type them (text word -> skill word; multi-word values allowed).
LEXICON: dict[str, str] = {
    "lamp": "light", "bulb": "light", "lite": "light", "lights": "light", "lamps": "light",
    "cube": "block", "cubes": "block", "blocks": "block", "box": "block", "brick": "block", "one": "block",
    "shut": "close", "closed": "close", "closes": "close", "closing": "close", "reopen": "open", "opened": "open",
    "opens": "open", "opening": "open", "switch": "turn", "power": "turn", "flip": "turn",
    "onto": "on", "atop": "on", "upon": "on",
    "press": "push", "hit": "push", "tap": "push", "click": "push", "smash": "push", "pressed": "push",
    "lift": "pick up", "grab": "pick up", "grasp": "pick up", "take": "pick up", "raise": "pick up", "get": "pick up",
    "hold": "pick up", "put": "place", "drop": "place", "store": "place", "stow": "place", "toss": "place",
    "into": "in", "inside": "in", "pile": "stack", "set": "place", "move": "place",
    "deactivate": "turn off", "activate": "turn on", "unlight": "turn off", "darken": "turn off", "dark": "off",
    "kill": "turn off", "bright": "on", "shine": "on",
}
# Word pairs that are one word mistyped as another, fixed only in this context (first word, typed) -> meant.
BIGRAM_FIXES: dict[tuple[str, str], tuple[str, str]] = {
    (a, "of"): (a, "off") for a in ("turn", "switch", "light", "lights", "lamp", "power")}
NEGATIONS = ("not", "dont", "don", "never", "instead", "rather")  # a word that drops what follows it up to the next comma
COPULAS = ("is", "are", "was", "were", "s")  # "the drawer is open, close it": a state said, dropped up to the comma
RELATIVES = ("that", "which")  # "the block that is blue": a copula after these describes the object, kept
LOCATIVES = ("next", "near", "beside", "by", "behind", "left", "right")  # drop "next to the lamp", "by the button"
ON_RELATIONS = ("on",)  # the word after these names the base of a stacking skill
UNDER_RELATIONS = ("under", "beneath", "below", "underneath")  # the word after these names the top
FILLER = frozenset("the a an it its to of up please now ok okay then just again first next you can could would "
                   "should i id like want let lets us go ahead and hey robot um hmm actually try thanks thank for me "
                   "no wrong stop already need needs be is that this way other round too so there here".split())
BASIC_COLOURS = frozenset("red green blue yellow orange purple violet pink brown black white grey gray cyan magenta "
                          "gold silver".split())  # a colour the scene lacks is refused, never mapped to another
PENALTY = 0.1  # score lost per text word that tells skills apart and the skill lacks, and per word nobody knows


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein + adjacent transposition), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _tokens(text: str) -> list[str]:
    """Lower-case words and the commas between them (kept: they end a negation's scope)."""
    text = text.lower().replace("'", "").replace("_", " ")
    return re.findall(r"[a-z0-9]+|,|:|;|!|\.", text)


@dataclass(frozen=True)
class Grounding:
    """text        the text as typed
    cleaned     what was matched (corrected, synonyms mapped, negated and locative words dropped)
    skill       the known skill it stands for, or None (ambiguous or unknown)
    how         "exact" | "paraphrase" | "grounded" | "ambiguous" | "unknown"
    score       the accepted (or best) skill's score, 1.0 for exact and paraphrase
    candidates  (skill, score) offered when skill is None, best first (empty: nothing close)
    reason      one line saying why it is not accepted ("" when accepted)"""

    text: str
    cleaned: str
    skill: str | None
    how: str
    score: float
    candidates: tuple[tuple[str, float], ...] = ()
    reason: str = ""


class GroundingError(InputError):
    """A text that is not accepted as one skill; .candidates are the skills offered ("which of these?")."""

    def __init__(self, message: str, candidates: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.candidates = tuple(candidates)


@dataclass
class _Skill:
    text: str
    words: list[str]
    contrast: set[str] = field(default_factory=set)  # words of this skill that a contrast pair distinguishes
    base: str | None = None  # the word after the relation word ("on"), when the skill has one
    top: str | None = None  # the contrast word before it (the object stacked)


class SkillGrounder:
    """Grounds typed text to `skills` (see the module docstring for the steps).

    skills      the known skills' canonical texts (what the high level / low level are trained on)
    encoder     text encoder (encode(list[str]) -> (N, E) unit rows); None: only structure, exact and paraphrase matches
    exemplars   skill -> more wordings of it (the env's training paraphrases), matched as the skill
    canonical   text -> canonical skill or None (the env's shipped paraphrases), tried before grounding
    attributes  object word -> the attribute words the scene's object has ({"button": ("red", "round", "big")})
    threshold   minimum score to accept a skill
    margin      minimum lead of the accepted skill over the next remaining one
    ask_floor   minimum score of a skill offered in a question (and of a skill the text's words single out)
    max_offer   most skills offered in a question
    verbatim    score from which an exemplar match is accepted without the skill's contrast words said"""

    def __init__(self, skills: Sequence[str], encoder: TextEncoder | None,
                 exemplars: Mapping[str, Sequence[str]] | None = None,
                 canonical: Callable[[str], str | None] | None = None,
                 attributes: Mapping[str, Sequence[str]] | None = None,
                 threshold: float = 0.6, margin: float = 0.05, ask_floor: float = 0.3, max_offer: int = 6,
                 verbatim: float = 0.9) -> None:
        self.skills = list(dict.fromkeys(str(s) for s in skills))
        if not self.skills:
            raise ValueError("SkillGrounder needs at least one known skill")
        self.encoder, self.canonical = encoder, canonical
        self.exemplars = {s: list(dict.fromkeys([s, *((exemplars or {}).get(s, ()))])) for s in self.skills}
        self.attributes = {k: frozenset(v) for k, v in (attributes or {}).items()}
        self.threshold, self.margin = float(threshold), float(margin)
        self.ask_floor, self.max_offer = float(ask_floor), int(max_offer)
        self.verbatim = float(verbatim)
        self._index()

    @classmethod
    def for_env(cls, ad: Any, skills: Sequence[str], encoder: TextEncoder | None, **kwargs: Any) -> SkillGrounder:
        """A grounder over `skills` with what the env's adapter knows (env_knowledge)."""
        return cls(skills, encoder, **env_knowledge(ad, skills), **kwargs)

    # ---- vocabulary -----------------------------------------------------------------------------------------
    def add(self, skill: str) -> None:
        """Make one more skill known (a person added it)."""
        if skill not in self.skills:
            self.skills.append(skill)
            self.exemplars[skill] = [skill]
            self._index()

    def _index(self) -> None:
        raw = {w for e in self.exemplars.values() for x in e for w in _tokens(x) if w.isalnum()}
        raw |= {w for v in self.attributes.values() for w in v} | set(self.attributes)
        self.vocabulary = raw | set(LEXICON) | {w for v in LEXICON.values() for w in v.split()} | FILLER \
            | set(NEGATIONS) | set(COPULAS) | set(LOCATIVES) | set(UNDER_RELATIONS) | BASIC_COLOURS
        self.skill_words = {w for s in self.skills for w in _tokens(s)}
        self.absent_colours = BASIC_COLOURS - self.skill_words - {w for v in self.attributes.values() for w in v}
        # what a misspelt word may become: not an absent colour, and no filler word but "the" (a word corrected into
        # filler would vanish: "fan" is not "can")
        self.targets = self.vocabulary - self.absent_colours - (FILLER - {"the"})
        self._skill = {s: _Skill(s, [w for w in self._clean_words(_tokens(s)) if w not in FILLER]) for s in self.skills}
        sets = [set(k.words) for k in self._skill.values()]
        self.distinguishing: set[str] = set().union(*sets) - sets[0].intersection(*sets[1:])
        self.partners: dict[str, set[str]] = {}  # contrast word -> the words it is contrasted with
        for a, b in combinations(self._skill.values(), 2):
            if len(a.words) == len(b.words):
                diff = [(x, y) for x, y in zip(a.words, b.words, strict=True) if x != y]
                if len(diff) == 1:
                    x, y = diff[0]
                    self.partners.setdefault(x, set()).add(y)
                    self.partners.setdefault(y, set()).add(x)
        for k in self._skill.values():
            k.contrast = {w for w in k.words if w in self.partners}
            k.top, k.base = self._roles(k.words)
        self._forms = {s: list(dict.fromkeys(" ".join(w for w in self._clean_words(_tokens(x)) if w not in FILLER)
                                             for x in ex)) for s, ex in self.exemplars.items()}
        self._encoded: dict[str, np.ndarray] = {}

    def _roles(self, words: Sequence[str]) -> tuple[str | None, str | None]:
        """(top, base) contrast words around a relation word: "red on blue" -> (red, blue); "red under blue" ->
        (blue, red); None where the words name no such pair."""
        relations = ON_RELATIONS + UNDER_RELATIONS
        content = [w for w in words if w in self.partners or w in relations]
        for n, w in enumerate(content):
            if w not in relations or n == len(content) - 1:
                continue
            before = [x for x in content[:n] if x in self.partners and x not in relations]
            after = [x for x in content[n + 1:] if x in self.partners and x not in relations]
            if not after:
                continue
            other = before[-1] if before else (after[1] if len(after) > 1 else None)  # "on the blue block, the red"
            if other is not None and other != after[0] and self._same_kind(other, after[0]):
                return (other, after[0]) if w in ON_RELATIONS else (after[0], other)
        return None, None

    def _same_kind(self, a: str, b: str) -> bool:
        return b in self.partners.get(a, set())

    # ---- cleaning -------------------------------------------------------------------------------------------
    def _correct(self, word: str) -> str:
        if word in self.vocabulary or not word.isalpha() or len(word) < 3:
            return word
        limit = 1 if len(word) < 7 else 2
        best: tuple[int, int, int, int, str] | None = None
        for v in self.targets:
            d = osa_distance(word, v, limit)
            if d <= limit:  # ties: the skills' own words, then the same first letter, then the longer word
                rank = (d, v not in self.skill_words, v[0] != word[0], -len(v), v)
                best = rank if best is None or rank < best else best
        if best is not None:
            return best[4]
        for i in range(2, len(word) - 1):  # glued words: "turnoff" -> "turn off"
            if word[:i] in self.vocabulary and word[i:] in self.vocabulary:
                return f"{word[:i]} {word[i:]}"
        return word

    def _clean_words(self, tokens: Sequence[str]) -> list[str]:
        """Corrected, synonym-mapped words (skills' own texts go through this too, so both sides agree)."""
        corrected = [w for t in tokens for w in self._correct(t).split()]
        for i in range(len(corrected) - 1):
            fix = BIGRAM_FIXES.get((corrected[i], corrected[i + 1]))
            if fix is not None:
                corrected[i], corrected[i + 1] = fix
        out: list[str] = []
        for w in corrected:
            out.extend(LEXICON.get(w, w).split())
        return out

    def clean(self, text: str) -> tuple[list[str], list[str]]:
        """(content words, unknown colour words) of text after the steps 1-2 of the module docstring."""
        words = self._clean_words(_tokens(text))
        kept: list[str] = []
        dropping = False
        for i, w in enumerate(words):
            if w in (",", ":", ";", "!", "."):
                dropping = False
                continue
            copula = w in COPULAS and not (i > 0 and words[i - 1] in RELATIVES)
            if w in NEGATIONS or w in LOCATIVES or copula:
                dropping = True
                continue
            if not dropping:
                kept.append(w)
        # a colour right before (or one word before) an object that has it is that object's attribute
        for i, w in enumerate(kept):
            nxt = [x for x in kept[i + 1:i + 3] if x not in FILLER]
            if nxt and nxt[0] in self.attributes and w in self.attributes[nxt[0]]:
                kept[i] = ""
        # a contrast word right before a noun ("close the open drawer") describes the object's state when the same
        # contrast is said elsewhere as the action: the action wins
        modifier = [i for i, w in enumerate(kept) if w in self.partners and i < len(kept) - 1
                    and kept[i + 1] not in set(self.partners) | FILLER | {","}]
        acting = {w for i, w in enumerate(kept) if w in self.partners and i not in modifier}
        for i in modifier:
            if self.partners[kept[i]] & acting:
                kept[i] = ""
        absent = list(dict.fromkeys(w for w in _tokens(text) if w in self.absent_colours))
        for i, w in enumerate(kept[:-1]):  # a colour on an object the scene has in other colours: "the blue button"
            if w in BASIC_COLOURS and kept[i + 1] in self.attributes and w not in self.attributes[kept[i + 1]]:
                absent.append(f"{w} {kept[i + 1]}")
        kept = [w for w in kept if w and w not in FILLER]
        return kept, absent

    # ---- grounding ------------------------------------------------------------------------------------------
    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        assert self.encoder is not None
        new = [t for t in dict.fromkeys(texts) if t not in self._encoded]
        if new:
            for t, e in zip(new, np.asarray(self.encoder.encode(new), dtype=np.float64), strict=True):
                self._encoded[t] = e / max(float(np.linalg.norm(e)), 1e-12)
        return np.stack([self._encoded[t] for t in texts])

    def _similarity(self, cleaned: str) -> dict[str, float]:
        """skill -> cosine of the cleaned text to its nearest exemplar (cleaned the same way)."""
        if self.encoder is None or not cleaned:
            return {s: 0.0 for s in self.skills}
        every = [f for fs in self._forms.values() for f in fs]
        table = dict(zip(every, self._embed(every) @ self._embed([cleaned])[0], strict=True))
        return {s: float(max(table[f] for f in fs)) for s, fs in self._forms.items()}

    def ground(self, text: str) -> Grounding:
        """The Grounding of text (never raises for text it cannot ground: skill None, candidates, reason)."""
        typed = " ".join(text.split())
        lower = {s.lower(): s for s in self.skills}
        if typed.lower() in lower:
            return Grounding(typed, typed.lower(), lower[typed.lower()], "exact", 1.0)
        canon = self.canonical(typed) if self.canonical is not None else None
        if canon is not None and canon in self.skills:
            return Grounding(typed, typed.lower(), canon, "paraphrase", 1.0)
        words, absent = self.clean(typed)
        cleaned = " ".join(words)
        if absent:
            return Grounding(typed, cleaned, None, "unknown", 0.0, (),
                             f"the scene has no {' or '.join(absent)} (colours here: "
                             f"{', '.join(sorted(w for w in self.skill_words if w in BASIC_COLOURS))})")
        said = set(words)
        unknown = sum(1 for w in words if w not in self.vocabulary)
        top, base = self._roles(words)
        sims = self._similarity(cleaned)
        scored: list[tuple[str, float]] = []
        for s, k in self._skill.items():
            contradicted = any(w in said and w not in k.words and (self.partners[w] & set(k.words)) - said
                               for w in self.partners)
            swapped = top is not None and k.top is not None and (k.top, k.base) == (base, top)
            if contradicted or swapped:
                continue
            lacking = sum(1 for w in said & self.distinguishing if w not in k.words)
            scored.append((s, sims[s] - PENALTY * (lacking + unknown)))
        scored.sort(key=lambda p: -p[1])
        if not scored:
            return Grounding(typed, cleaned, None, "unknown", 0.0, (), "every known skill contradicts it")
        (best, score), runner = scored[0], (scored[1][1] if len(scored) > 1 else -1.0)
        needed = self._skill[best].contrast - (set(ON_RELATIONS) if said & set(UNDER_RELATIONS) else set())
        named = needed <= said or score >= self.verbatim  # a near-verbatim exemplar needs no contrast word said
        if score >= self.threshold and score - runner >= self.margin and named:
            return Grounding(typed, cleaned, best, "grounded", score)
        # the text's words that tell skills apart fit exactly one remaining skill, which names all it needs, and
        # nothing in the text is unknown: that skill, even with a weak embedding ("lamp on", "close it")
        told = said & self.distinguishing
        fits = [t for t, _ in scored if told and told <= set(self._skill[t].words)]
        if (len(fits) == 1 and not unknown and needed <= said and self._skill[fits[0]].contrast <= said
                and dict(scored)[fits[0]] >= self.ask_floor):
            return Grounding(typed, cleaned, fits[0], "grounded", dict(scored)[fits[0]])
        offer = tuple((s, v) for s, v in scored if v >= self.ask_floor)[: self.max_offer]
        if not offer:
            return Grounding(typed, cleaned, None, "unknown", score, (),
                             f"no known skill is close (closest: {best!r}, score {score:.2f} < {self.ask_floor:.2f})")
        why = (f"it does not say {', '.join(sorted(needed - said))}" if not named else
               f"{best!r} ({score:.2f}) is below {self.threshold:.2f}" if score < self.threshold else
               f"{best!r} ({score:.2f}) and {scored[1][0]!r} ({runner:.2f}) are too close")
        return Grounding(typed, cleaned, None, "ambiguous", score, offer, why)

    def resolve(self, text: str, what: str = "instruction") -> str:
        """The skill text stands for; GroundingError (one line, the candidates attached) when it is not one skill."""
        g = self.ground(text)
        if g.skill is not None:
            return g.skill
        raise GroundingError(question(g, what), [s for s, _ in g.candidates])


def env_knowledge(ad: Any, skills: Sequence[str]) -> dict[str, Any]:
    """What an env's adapter (hirl.integrations.EnvAdapter) tells a grounder: its training paraphrases of each skill
    as exemplars (the held-out one is never used) and its scene attributes."""
    return {"exemplars": {s: ad.paraphrase_split(s)[0] for s in skills}, "attributes": ad.scene_attributes}


def question(g: Grounding, what: str = "instruction") -> str:
    """One line for a text that was not accepted: why, and "which of these?" with the candidates when there are any."""
    if g.candidates:
        options = "; ".join(f"{i + 1}) {s}" for i, (s, _) in enumerate(g.candidates))
        return f"{what} {g.text!r}: not sure ({g.reason}); which of these? {options}"
    return f"{what} {g.text!r}: not a known skill ({g.reason}); type one of the suggestions, or add it as a new skill"


__all__ = [
    "BASIC_COLOURS",
    "LEXICON",
    "Grounding",
    "GroundingError",
    "SkillGrounder",
    "env_knowledge",
    "osa_distance",
    "question",
]
