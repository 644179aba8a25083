"""Unseen phrasings on Tabletop: the language agents given the env's held-out paraphrases (never trained on), with and
without grounding them to known skills first (hirl.hierarchy.grounding), beside the same agents on canonical text.

    hirl demo --out runs/demo          # or any imitation run with hier_language (its low_language and high_language)
    hirl eval runs/demo/run --agents oracle_high oracle_high_paraphrase oracle_high_paraphrase_grounded hier_language \\
        hier_language_paraphrase hier_language_paraphrase_grounded --episodes 100 --out runs/paraphrase/seed0 eval.videos=0
    python experiments/tabletop/paraphrase_benchmark.py collect runs/paraphrase/seed0/report.json [more reports ...]
    python experiments/tabletop/paraphrase_benchmark.py render      # RESULTS-paraphrase.md from RESULTS-paraphrase.json

All agents of a report run on the same evaluation chains (same seeds), so each paraphrased agent is compared with its
canonical reference chain by chain: the ratio of average chain lengths, and the paired difference with a 95 %
bootstrap interval over chains (10,000 resamples)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hirl.fileio import atomic_write_json, atomic_write_text

HERE = Path(__file__).resolve().parent
JSON, MD = HERE / "RESULTS-paraphrase.json", HERE / "RESULTS-paraphrase.md"
REFERENCE = {"oracle_high_paraphrase": "oracle_high", "oracle_high_paraphrase_grounded": "oracle_high",
             "hier_language_paraphrase": "hier_language", "hier_language_paraphrase_grounded": "hier_language"}
GOAL = 0.9  # paraphrased / canonical average chain length asked for


def paired(a: list[int], b: list[int], seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over chains and its 95 % bootstrap interval."""
    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (10_000, len(d)))].mean(axis=1)
    return float(d.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def collect(reports: list[Path]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for path in reports:
        rep = json.loads(path.read_text())
        pol = rep["policies"]
        chains = {a: [len(e["completed"]) for e in p["episodes_detail"]] for a, p in pol.items()}
        seeds = {a: [e["seed"] for e in p["episodes_detail"]] for a, p in pol.items()}
        for agent, ref in REFERENCE.items():
            if agent not in pol or ref not in pol:
                continue
            if seeds[agent] != seeds[ref]:
                sys.exit(f"{path}: {agent} and {ref} ran different chains; paired comparison impossible")
            diff, lo, hi = paired(chains[agent], chains[ref])
            rows.append({"report": str(path), "agent": agent, "reference": ref,
                         "episodes": len(chains[agent]), "avg_chain_length": pol[agent]["avg_chain_length"],
                         "reference_avg_chain_length": pol[ref]["avg_chain_length"],
                         "success_rate": pol[agent]["success_rate"], "reference_success_rate": pol[ref]["success_rate"],
                         "ratio": pol[agent]["avg_chain_length"] / pol[ref]["avg_chain_length"],
                         "paired_difference": diff, "ci95": [lo, hi],
                         "per_subtask_success": pol[agent]["per_subtask_success"],
                         "reference_per_subtask_success": pol[ref]["per_subtask_success"]})
    return {"command": "python experiments/tabletop/paraphrase_benchmark.py collect "
                       + " ".join(str(p) for p in reports), "goal_ratio": GOAL, "rows": rows}


def render(res: dict[str, Any]) -> str:
    lines = ["# Unseen phrasings (Tabletop)", "",
             f"Rendered from `{JSON.name}` by `python experiments/tabletop/paraphrase_benchmark.py render`; collected "
             f"by `{res['command']}` from `hirl eval` reports (the commands are in this script's docstring). Each "
             "paraphrased agent gets every instruction in the env's held-out paraphrase (the last shipped one, never "
             "trained on); `_grounded` maps it to a known skill first with hirl.hierarchy.grounding (the env's "
             "training paraphrases as exemplars; a text it is unsure of is passed on as worded). hier_language's "
             "command then arrives as text only, as a person types it. Paired with the canonical reference on the "
             f"same chains; goal: ratio >= {res['goal_ratio']}.", "",
             "| report | agent | reference | chains | avg chain | reference | ratio | paired difference [95 % CI] | "
             "success | reference success |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        lo, hi = r["ci95"]
        lines.append(f"| {Path(r['report']).parent.name or r['report']} | {r['agent']} | {r['reference']} | "
                     f"{r['episodes']} | {r['avg_chain_length']:.2f} | {r['reference_avg_chain_length']:.2f} | "
                     f"{r['ratio']:.2f} | {r['paired_difference']:+.2f} [{lo:+.2f}, {hi:+.2f}] | "
                     f"{r['success_rate']:.2f} | {r['reference_success_rate']:.2f} |")
    lines += ["", "## Per subtask (completed / attempted)", ""]
    for r in res["rows"]:
        subs = sorted(r["reference_per_subtask_success"])
        lines += [f"### {r['agent']} vs {r['reference']}", "", "| subtask | reference | paraphrased |", "|---|---|---|"]
        for s in subs:
            got = r["per_subtask_success"].get(s)
            lines.append(f"| {s} | {r['reference_per_subtask_success'][s]:.2f} | "
                         f"{'-' if got is None else f'{got:.2f}'} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("collect", "render"))
    p.add_argument("reports", nargs="*", type=Path, help="collect: hirl eval report.json files")
    a = p.parse_args(argv)
    if a.mode == "collect":
        if not a.reports:
            p.error("collect needs at least one report.json")
        atomic_write_json(JSON, collect(a.reports))
    atomic_write_text(MD, render(json.loads(JSON.read_text())))
    print(MD.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
