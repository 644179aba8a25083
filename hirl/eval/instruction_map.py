"""`hirl eval RUN --instruction-map FILE`: a user's own phrasings of the env's instructions, each evaluated under
oracle_high (the expert's high level driving the run's language low level), so the low level's robustness to
wording is measured in the user's words.

FILE is a UTF-8 TSV: one `canonical instruction<TAB>phrasing` per line, any number of phrasings per instruction
(in file order); blank lines and lines starting with `#` are skipped. The first column may be any wording the env
resolves to one of its subtasks (canonical instruction, subtask name, shipped paraphrase); it is keyed by the env's
canonical instruction.

Variants: with P the largest number of phrasings of any instruction, variant j (j = 0 .. P-1) emits phrasing
j mod n of an instruction with n phrasings (fewer phrasings cycle); instructions not in the map keep their canonical
text. Every variant runs the same chains (the same seeds) as plain oracle_high, the canonical baseline.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping, Sequence

from hirl.errors import InputError

CYCLING = "variant j emits phrasing j mod n of an instruction with n phrasings"  # recorded in report.json


@dataclass(frozen=True)
class InstructionMap:
    """path        the TSV it was read from
    phrasings   canonical instruction -> its phrasings, in file order (each non-empty, no duplicates)"""

    path: str
    phrasings: dict[str, tuple[str, ...]]

    @property
    def variants(self) -> int:
        """P: the number of variants evaluated (the most phrasings of any instruction)."""
        return max(len(p) for p in self.phrasings.values())

    def variant(self, j: int) -> dict[str, str]:
        """canonical instruction -> the phrasing variant j emits (phrasing j mod n)."""
        return {c: p[j % len(p)] for c, p in self.phrasings.items()}


def read_instruction_map(path: str | Path, canonicalize: Callable[[str], str | None], env_id: str) -> InstructionMap:
    """Parse FILE (see the module docstring). canonicalize: the env's text -> canonical instruction (None: unknown).
    Any problem is one InputError line naming FILE:line and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: instruction map not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the instruction map ({exc})") from None
    phrasings: dict[str, list[str]] = {}
    seen: dict[str, tuple[str, int]] = {}  # phrasing (normalised) -> (canonical, line) it was first given for
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        fields = raw.rstrip("\r\n").split("\t")
        if len(fields) != 2:
            found = "no tab" if len(fields) == 1 else f"{len(fields) - 1} tabs"
            raise InputError(f"{where}: expected 'canonical instruction<TAB>phrasing', found {found} in {line!r}")
        given, phrasing = (" ".join(f.split()) for f in fields)
        if not given or not phrasing:
            raise InputError(f"{where}: empty {'canonical instruction' if not given else 'phrasing'} in {line!r}")
        canonical = canonicalize(given)
        if canonical is None:
            raise InputError(f"{where}: {given!r} is not an instruction {env_id} knows (the first column names one of "
                             "its subtasks: canonical instruction, subtask name or shipped paraphrase)")
        other = canonicalize(phrasing)
        if other is not None and other != canonical:
            raise InputError(f"{where}: phrasing {phrasing!r} is {env_id}'s wording of {other!r}, not of {canonical!r}")
        key = phrasing.lower()
        if key in seen:
            first, at = seen[key]
            again = "repeated" if first == canonical else f"already given for {first!r}"
            raise InputError(f"{where}: phrasing {phrasing!r} {again} (line {at})")
        seen[key] = (canonical, number)
        phrasings.setdefault(canonical, []).append(phrasing)
    if not phrasings:
        raise InputError(f"{path}: no 'canonical instruction<TAB>phrasing' lines")
    return InstructionMap(str(path), {c: tuple(p) for c, p in phrasings.items()})


def _rate(attempted: int, completed: int) -> dict[str, Any]:
    """{"attempted", "completed", "success"} (success None when nothing was attempted)."""
    return {"attempted": attempted, "completed": completed, "success": completed / attempted if attempted else None}


def instruction_map_section(imap: InstructionMap, variants: Sequence[Mapping[str, Any]], baseline: Mapping[str, Any],
                            agent: str) -> dict[str, Any]:
    """report.json's "instruction_map" section.

    variants   the chain metrics of variant j = 0 .. P-1 (each with "per_subtask": {canonical: {attempted, completed,
               success}}); baseline: the per_subtask entry of plain `agent` on the same chains
    returns    {"file", "agent", "cycling", "per_phrasing": {canonical: {phrasing: {attempted, completed, success}}},
               "baseline": {canonical: {attempted, completed, success}} (mapped instructions only),
               "variants": [{"phrasings": {canonical: phrasing}, **chain metrics}]}"""
    counts: dict[str, dict[str, list[int]]] = {c: {p: [0, 0] for p in ps} for c, ps in imap.phrasings.items()}
    rows = []
    for j, metrics in enumerate(variants):
        emitted = imap.variant(j)
        for canonical, phrasing in emitted.items():
            s = metrics["per_subtask"].get(canonical)
            if s is not None:
                counts[canonical][phrasing][0] += s["attempted"]
                counts[canonical][phrasing][1] += s["completed"]
        rows.append({"phrasings": emitted, **metrics})
    return {
        "file": imap.path, "agent": agent, "cycling": CYCLING,
        "per_phrasing": {c: {p: _rate(*n) for p, n in ps.items()} for c, ps in counts.items()},
        "baseline": {c: dict(baseline.get(c) or _rate(0, 0)) for c in imap.phrasings},
        "variants": rows,
    }


__all__ = ["CYCLING", "InstructionMap", "instruction_map_section", "read_instruction_map"]
