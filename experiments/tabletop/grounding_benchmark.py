"""Grounding of typed corrections on Tabletop: experiments/tabletop/typed_corrections.json (236 texts written before
the grounder existed) and typed_corrections_after.json (56 texts written after its first measurement, before the
tuning that followed) through hirl.hierarchy.grounding.SkillGrounder, the matcher of the correction session.

    python experiments/tabletop/grounding_benchmark.py            # -> GROUNDING.json + GROUNDING.md beside this file

Outcomes per text: right (accepted an expected skill), asked (offered candidates that include an expected skill, or
any question/refusal for a text with no expected skill), refused (nothing offered, but a skill was expected), wrong
(accepted a skill not expected), opposite (accepted the skill a contrast word or the argument order rules out:
open/close, on/off, or the stacking pair swapped). Good = right + asked."""
from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OPPOSITE_WORDS = {("open", "close"), ("close", "open"), ("on", "off"), ("off", "on")}


def opposite(a: str, b: str) -> bool:
    """Skill a is the opposite of b: one word swapped for its antonym, or the two colours of a stack swapped."""
    wa, wb = a.split(), b.split()
    if len(wa) != len(wb):
        return False
    diff = [(x, y) for x, y in zip(wa, wb, strict=True) if x != y]
    if len(diff) == 1:
        return diff[0] in OPPOSITE_WORDS
    return len(diff) == 2 and diff[0] == diff[1][::-1] and "stack" in wa


def outcome(expect: list[str], skill: str | None, offered: list[str]) -> str:
    if skill is not None:
        if skill in expect:
            return "right"
        return "opposite" if any(opposite(skill, e) for e in expect) else "wrong"
    if not expect:
        return "asked"
    return "asked" if set(offered) & set(expect) else "refused"


SETS = {"before": "typed_corrections.json", "after": "typed_corrections_after.json"}  # written before / after tuning


def run(matcher: str, set_name: str) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from hirl.encoders.text_factory import make_text_encoder
    from hirl.errors import InputError
    from hirl.integrations import adapter
    from hirl.hierarchy.grounding import GroundingError, SkillGrounder
    from hirl_envs.tabletop import tasks

    ad = adapter("hirl/Tabletop-v0")
    skills = [s.instruction for s in tasks.SUBTASKS.values()]
    encoder = make_text_encoder("text", 384)

    def canonical(text: str) -> str | None:
        name = tasks.canonical(text)
        return None if name is None else tasks.SUBTASKS[name].instruction

    items = json.loads((HERE / SETS[set_name]).read_text())["items"]
    rows = []
    grounder = SkillGrounder.for_env(ad, skills, encoder, canonical=canonical)
    t0 = time.perf_counter()
    for it in items:
        skill, offered, note = None, [], ""
        try:
            skill = grounder.resolve(it["text"], "correction")
        except GroundingError as exc:
            offered, note = list(exc.candidates), str(exc)
        except InputError as exc:
            note = str(exc)
        rows.append({**it, "skill": skill, "offered": offered, "note": note,
                     "outcome": outcome(it["expect"], skill, offered)})
    seconds = time.perf_counter() - t0
    return {"matcher": matcher, "set": set_name, "file": f"experiments/tabletop/{SETS[set_name]}", "rows": rows,
            "ms_per_text": 1000 * seconds / len(items)}


def summarise(res: dict[str, Any]) -> dict[str, Any]:
    rows = res["rows"]
    by_cat: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_cat[r["category"]][r["outcome"]] += 1
        by_cat["all"][r["outcome"]] += 1
    return {c: dict(v) for c, v in by_cat.items()}


def render(results: dict[str, Any]) -> str:
    cols = ("right", "asked", "refused", "wrong", "opposite")
    lines = ["# Grounding typed corrections (Tabletop)", "",
             f"Rendered from GROUNDING.json by `{results['command']}`: hirl.hierarchy.grounding.SkillGrounder (MiniLM "
             "text encoder; the env's training paraphrases as exemplars, its held-out ones unused), the correction "
             "session's matcher, on two sets of typed corrections: `before` "
             "(experiments/tabletop/typed_corrections.json, written before the grounder existed; the grounder was then "
             "tuned on what it showed) and `after` (experiments/tabletop/typed_corrections_after.json, written after "
             "the first measurement and before that tuning: it shows whether the tuning generalises).", "",
             "good = right + an honest question (its candidates include the expected skill, or the text names "
             "nothing the robot knows). opposite = accepted the skill with open/close or on/off swapped, or the two "
             "blocks of a stack swapped.", ""]
    for m in results["matchers"]:
        s = m["summary"]
        lines += [f"## {m['matcher']}, set `{m['set']}` ({len(m['rows'])} texts, {m['ms_per_text']:.1f} ms per text)", "",
                  "| category | n | " + " | ".join(cols) + " | good |", "|---|---" + "|---" * (len(cols) + 1) + "|"]
        for cat in [*sorted(c for c in s if c != "all"), "all"]:
            v = s[cat]
            n = sum(v.values())
            good = v.get("right", 0) + v.get("asked", 0)
            lines.append(f"| {cat} | {n} | " + " | ".join(str(v.get(c, 0)) for c in cols) + f" | {good / n:.1%} |")
        lines.append("")
    lines += ["## What the grounder did not accept as expected (both sets)", "",
              "| text | expected | outcome | said |", "|---|---|---|---|"]
    for r in [r for m in results["matchers"] if m["matcher"] == "grounder" for r in m["rows"]]:
        if r["outcome"] not in ("right",) and r["expect"]:
            said = r["skill"] if r["skill"] else r["note"].replace("|", "/")
            lines.append(f"| {r['text']} | {'; '.join(r['expect'][:2])}{' ...' if len(r['expect']) > 2 else ''} | "
                         f"{r['outcome']} | {said} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    p.add_argument("--out", default=str(HERE / "GROUNDING"), help="writes OUT.json and OUT.md")
    a = p.parse_args()
    matchers = []
    for set_name in a.sets:
        for m in ["grounder"]:
            res = run(m, set_name)
            res["summary"] = summarise(res)
            matchers.append(res)
            s = res["summary"]["all"]
            n = sum(s.values())
            print(f"{m} on {set_name}: good {(s.get('right', 0) + s.get('asked', 0)) / n:.1%} ({s})")
    results = {"matchers": matchers, "command": "python experiments/tabletop/grounding_benchmark.py"}
    Path(a.out + ".json").write_text(json.dumps(results, indent=1) + "\n")
    Path(a.out + ".md").write_text(render(results))


if __name__ == "__main__":
    main()
