"""The RESULTS-skills pages' shared driver: gather an env's raw experiment outputs into one results JSON, render the
Markdown page FROM that JSON (the page never holds a number the JSON does not), add curriculum studies to it, and
re-render it from the committed JSON. Each env's entry point (experiments/tabletop/skills_results.py,
experiments/maze/skills_results.py) defines its page (`SkillsPage`) and how its outputs are gathered, then calls
`main`:

    python experiments/ENV/skills_results.py gather ...           # the env's outputs -> RESULTS-skills.{json,md}
    python experiments/ENV/skills_results.py curriculum STUDY...  # curriculum_benchmark.py outputs into its JSON
    python experiments/ENV/skills_results.py render               # re-render the page from its committed JSON
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hirl.benchmarks.curriculum_report import curriculum_figure, curriculum_section, plot_study
from hirl.fileio import atomic_write_json, atomic_write_text


def mean_std(xs: Sequence[float]) -> dict[str, float]:
    """{"mean", "std" (population; 0 for one value), "n"} of xs, rounded to 3 decimals."""
    return {"mean": round(statistics.fmean(xs), 3), "std": round(statistics.pstdev(xs), 3) if len(xs) > 1 else 0.0,
            "n": len(xs)}


def ms(d: dict[str, float]) -> str:
    """A mean_std dict as "mean ± std (n=N)"."""
    return f"{d['mean']:.2f} ± {d['std']:.2f} (n={d['n']})"


@dataclass(frozen=True)
class SkillsPage:
    """One env's RESULTS-skills page: where it lives, how its body is rendered from its JSON, and what its curriculum
    section (if the JSON holds studies) says the studies compare."""

    base: Path  # the page without suffix: BASE.json holds the numbers, BASE.md is rendered from it
    render_body: Callable[[dict[str, Any]], str]  # JSON -> the page's Markdown before any curriculum section
    curriculum_what: str  # the curriculum section's first paragraph: what was trained with which schedules

    def figure(self, i: int) -> Path:
        """Where curriculum study i's learning curves are drawn (next to the page)."""
        return curriculum_figure(self.base, i)

    def render(self, data: dict[str, Any]) -> str:
        """The whole Markdown page from its results JSON (no side effects)."""
        text = self.render_body(data)
        if data.get("curriculum"):
            text += "\n".join(curriculum_section(data["curriculum"], self.curriculum_what, data["curriculum_command"],
                                                 self.base)) + "\n"
        return text

    def load(self) -> dict[str, Any]:
        """The committed results JSON."""
        data: dict[str, Any] = json.loads(self.base.with_suffix(".json").read_text())
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Write the JSON, its Markdown and the curriculum studies' figures."""
        for i, study in enumerate(data.get("curriculum") or []):
            plot_study(study, self.figure(i))
        atomic_write_json(self.base.with_suffix(".json"), data)
        atomic_write_text(self.base.with_suffix(".md"), self.render(data))


def invocation() -> str:
    """The command line this process was started with, as a results file records it."""
    return "python " + " ".join(sys.argv)


def main(page: SkillsPage, add_gather_arguments: Callable[[argparse.ArgumentParser], None],
         gather: Callable[[argparse.Namespace], dict[str, Any]], description: str,
         argv: Sequence[str] | None = None) -> None:
    """The entry point's CLI: `gather` (its arguments added by add_gather_arguments; gather(args) returns the page's
    JSON, which records the command itself; curriculum studies already on the page are kept), `curriculum STUDY...` and
    `render`."""
    p = argparse.ArgumentParser(description=description)
    sub = p.add_subparsers(dest="action", required=True)
    add_gather_arguments(sub.add_parser("gather", help="gather the env's experiment outputs into the page"))
    c = sub.add_parser("curriculum", help="put experiments/curriculum_benchmark.py outputs into the page's JSON")
    c.add_argument("studies", type=Path, nargs="+", help="OUT/curriculum.json files, one per study")
    sub.add_parser("render", help="re-render the page (and its figures) from its committed JSON")
    a = p.parse_args(argv)
    if a.action == "gather":
        data = gather(a)
        if page.base.with_suffix(".json").is_file():  # the curriculum studies already on the page stay on it
            old = page.load()
            data.update({k: old[k] for k in ("curriculum", "curriculum_command") if k in old})
    elif a.action == "curriculum":
        data = page.load()
        data["curriculum"] = [json.loads(f.read_text()) for f in a.studies]
        data["curriculum_command"] = invocation()
    else:
        data = page.load()
    page.write(data)
