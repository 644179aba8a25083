"""`hirl compare`: evaluation reports of several runs side by side, with the spread over seeds.

    groups = read_sources(["hier=runs/bench/tabletop", "flat=runs/flat"])   # label -> [Sample, ...] (one per seed)
    result = compare(groups, agents=None)        # {"rows": [...], "protocols": {...}} (JSON-ready)
    text = compare_markdown(result); plot_compare(result, OUT / "compare.png")

A source is a report.json, a folder holding one (an evaluation folder, a demo folder, a benchmark's seed<N>/ run), a run
directory (its eval/report.json), or a benchmark folder of seed<N>/ subfolders (each seed one sample). Sources given
the same LABEL= are pooled as seeds of one entry. A row is (label, agent): success rate and average chain length as
mean ± std over the seeds (population std, as experiments/benchmark.py) and each seed's value.

Diagnoses (diagnosis.json of hirl.eval.diagnose) are compared too: their per-kind table side by side
(hirl.eval.diagnose.side_by_side).
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hirl.config import ConfigError, read_json
from hirl.errors import InputError
from hirl.eval.report import legend_outside, save_figure

REPORT = "report.json"  # what `hirl eval`, `hirl demo` and experiments/benchmark.py write
DIAGNOSIS = "diagnosis.json"  # what `python -m hirl.eval.diagnose --out DIR` writes
SEED_FOLDER = re.compile(r"seed(\d+)")  # a benchmark's per-seed folders (experiments/benchmark.py: OUT/seed<S>/)
METRICS = {"success_rate": "success rate", "avg_chain_length": "avg chain length"}  # compared metric -> its column


@dataclass(frozen=True)
class Sample:
    """One evaluation report as one seed of an entry: seed (its name: the seed folder, else the source), the report
    file and its content (report["policies"]: agent -> chain metrics)."""

    seed: str
    path: Path
    report: dict[str, Any]


def split_label(source: str) -> tuple[str, str]:
    """"LABEL=PATH" -> (LABEL, PATH); a bare PATH (or one that exists with its "=") is its own label."""
    label, sep, path = source.partition("=")
    if not sep or not label or Path(source).exists():
        return source.rstrip("/") or source, source
    return label, path


def report_files(source: str) -> list[tuple[str, Path]]:
    """(seed name, report.json path) of every report a source holds; InputError in one line when it holds none."""
    path = Path(source)
    if path.is_file():
        return [(source, path)]
    if not path.is_dir():
        raise InputError(f"{source}: no such file or folder")
    own = _report_in(path)
    if own is not None:
        return [(source, own)]
    seeds = sorted((p for p in path.iterdir() if p.is_dir() and SEED_FOLDER.fullmatch(p.name)),
                   key=lambda p: int(p.name[4:]))
    found = [(p.name, r) for p in seeds if (r := _report_in(p)) is not None]
    if found:
        return found
    if (path / "config.yaml").is_file():
        raise InputError(f"{source}: a run directory with no evaluation report yet; evaluate it first: hirl eval {source}")
    raise InputError(f"{source}: no evaluation report here ({REPORT}, eval/{REPORT} or seed<N>/{REPORT}); "
                     "write one with: hirl eval RUN")


def _report_in(folder: Path) -> Path | None:
    """folder/report.json, else folder/eval/report.json (a run directory's), else None."""
    return next((p for p in (folder / REPORT, folder / "eval" / REPORT) if p.is_file()), None)


def read_report(path: Path) -> dict[str, Any]:
    """An evaluation report (JSON with a "policies" section of chain metrics); InputError naming the file."""
    try:
        report = read_json(path, "evaluation report")
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    policies = report.get("policies") if isinstance(report, dict) else None
    if not isinstance(policies, dict) or not all(
            isinstance(m, dict) and all(isinstance(m.get(k), (int, float)) for k in METRICS) for m in policies.values()):
        raise InputError(f"{path}: not an evaluation report (no 'policies' section with "
                         f"{' and '.join(METRICS)} per agent)")
    return report


def is_diagnosis(source: str) -> bool:
    """Whether a source (no label) is a diagnosis: a diagnosis.json or a folder holding one."""
    path = Path(source)
    return path.name == DIAGNOSIS or (path / DIAGNOSIS).is_file()


def read_sources(sources: Sequence[str]) -> dict[str, list[Sample]]:
    """label -> its samples (one per report, in source order); the same report twice under one label is refused."""
    groups: dict[str, list[Sample]] = {}
    for source in sources:
        label, path = split_label(source)
        samples = groups.setdefault(label, [])
        for seed, file in report_files(path):
            if any(s.path.resolve() == file.resolve() for s in samples):
                raise InputError(f"{source}: {file} is already a seed of {label!r}")
            samples.append(Sample(seed, file, read_report(file)))
    return groups


def spread(values: Sequence[float]) -> dict[str, Any]:
    """{"mean", "std" (population), "per_seed"} of one metric over seeds."""
    a = np.asarray(values, dtype=float)
    return {"mean": round(float(a.mean()), 4), "std": round(float(a.std()), 4), "per_seed": [round(float(v), 4) for v in a]}


def compare(groups: Mapping[str, Sequence[Sample]], agents: Sequence[str] | None = None) -> dict[str, Any]:
    """The comparison of every (label, agent) pair present: rows grouped by agent (in --agents order, else first
    appearance), then label; each row's metrics as spread() with their seeds. agents: only these (InputError naming
    one that no report has, with the closest name). protocols: label -> env, chain length, episodes, eval seed (a
    list when its seeds differ)."""
    have = list(dict.fromkeys(a for samples in groups.values() for s in samples for a in s.report["policies"]))
    for name in agents or []:
        if name not in have:
            close = difflib.get_close_matches(name, have, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise InputError(f"--agents {name}: in none of the reports{hint} (they have: {', '.join(have)})")
    rows = []
    for agent in agents or have:
        for label, samples in groups.items():
            seeds = [s for s in samples if agent in s.report["policies"]]
            if not seeds:
                continue
            rows.append({"label": label, "agent": agent, "seeds": [s.seed for s in seeds],
                         "episodes": [s.report["policies"][agent].get("episodes", s.report.get("episodes")) for s in seeds],
                         **{k: spread([s.report["policies"][agent][k] for s in seeds]) for k in METRICS}})
    protocols = {label: {k: _one([s.report.get(k) for s in samples]) for k in ("env", "chain_length", "episodes", "seed")}
                 for label, samples in groups.items()}
    return {"rows": rows, "protocols": protocols,
            "sources": {label: [str(s.path) for s in samples] for label, samples in groups.items()}}


def _one(values: list[Any]) -> Any:
    """The value when every seed has the same, else the list."""
    return values[0] if len(set(map(str, values))) == 1 else values


def _cell(s: Mapping[str, Any], digits: int) -> str:
    """A spread as "mean ± std" (one seed: the value)."""
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}" if len(s["per_seed"]) > 1 else f"{s['mean']:.{digits}f}"


def compare_markdown(result: Mapping[str, Any]) -> str:
    """The comparison as Markdown: the protocol of each entry (and a warning when they differ), then one table row
    per (agent, entry): seeds, success rate and avg chain length as mean ± std, and each seed's values."""
    protocols = result["protocols"]
    lines = ["# Comparison: mean ± std over seeds (population std; one seed: its value)", "",
             "| entry | env | chain length | chains per seed | eval seed | reports |", "|---|---|---|---|---|---|"]
    lines += [f"| {label} | {p['env']} | {p['chain_length']} | {p['episodes']} | {p['seed']} | "
              f"{', '.join(result['sources'][label])} |" for label, p in protocols.items()]
    differ = [k for k in ("env", "chain_length", "episodes", "seed") if len({str(p[k]) for p in protocols.values()}) > 1]
    if differ:
        lines += ["", f"**The entries were evaluated differently** ({', '.join(differ)}): their numbers are not measured "
                      "on the same chains."]
    lines += ["", "| agent | entry | seeds | success rate | avg chain length | success rate per seed | "
                  "avg chain length per seed |", "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        per_seed = [", ".join(f"{seed} {v:.{d}f}" for seed, v in zip(r["seeds"], r[k]["per_seed"], strict=True))
                    for k, d in (("success_rate", 3), ("avg_chain_length", 2))]
        lines.append(f"| {r['agent']} | {r['label']} | {len(r['seeds'])} | {_cell(r['success_rate'], 3)} | "
                     f"{_cell(r['avg_chain_length'], 2)} | {per_seed[0]} | {per_seed[1]} |")
    return "\n".join(lines) + "\n"


def plot_compare(result: Mapping[str, Any], path: Path) -> Path:
    """One figure, a panel per metric: per agent a bar per entry (mean over seeds, ± std as an error bar) with each
    seed's value as a dot on it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    labels = list(result["protocols"])
    width = 0.8 / max(len(labels), 1)
    fig, axes = plt.subplots(1, len(METRICS), figsize=(max(6.0, 1.2 * len(agents) * len(METRICS) + 3), 4))
    for ax, (metric, title) in zip(np.atleast_1d(axes), METRICS.items(), strict=True):
        for j, label in enumerate(labels):
            mine = {r["agent"]: r[metric] for r in rows if r["label"] == label}
            xs = [i + (j - (len(labels) - 1) / 2) * width for i, a in enumerate(agents) if a in mine]
            stats = [mine[a] for a in agents if a in mine]
            bars = ax.bar(xs, [s["mean"] for s in stats], width * 0.9, yerr=[s["std"] for s in stats], capsize=3,
                          alpha=0.6, label=label)
            for x, s in zip(xs, stats, strict=True):
                ax.scatter([x] * len(s["per_seed"]), s["per_seed"], s=12, color=bars.patches[0].get_facecolor(),
                           edgecolors="black", linewidths=0.5, zorder=3)
        ax.set_xticks(range(len(agents)))
        ax.set_xticklabels(agents, rotation=30, ha="right")
        ax.set_title(f"{title} (mean ± std, dots: seeds)")
        if metric == "success_rate":
            ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    legend_outside(np.atleast_1d(axes)[-1])
    return save_figure(fig, path)
