"""Unseen phrasings on Tabletop, per phrasing family: the language agents given wordings they never trained on, beside
the same agents on canonical text, over seeds and training recipes.

    bash experiments/tabletop/paraphrase_benchmark.sh          # trains + evaluates every (recipe, seed), then collects
    python experiments/tabletop/paraphrase_benchmark.py collect base=runs/paraphrase/base-s0/report.json \\
        aug=runs/paraphrase/aug-s0/report.json ...            # LABEL=report.json of `hirl eval` (see the .sh)
    python experiments/tabletop/paraphrase_benchmark.py render  # RESULTS-paraphrase.md from RESULTS-paraphrase.json

Families (each paired with its canonical reference on the same chains):
    held-out paraphrase   the env's last shipped paraphrase of each instruction (never trained on): `*_paraphrase`;
                          `_grounded` maps it to a known skill first (hirl.hierarchy.grounding); hier_language's
                          command then arrives as text only, as a person types it
    synonyms / polite request / terse
                          the three variants of experiments/tabletop/instruction_map.tsv (`hirl eval
                          --instruction-map`: oracle_high emitting each phrasing instead of the canonical text;
                          `--ground`: ", grounded", each phrasing grounded to a known skill first)
Per report and agent: the ratio of average chain lengths and the paired difference (per chain) with a 95 % bootstrap
interval; per (recipe, agent) over seeds: mean +- std of the ratio and the paired difference pooled over every chain."""
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
MAP_AGENT = "oracle_high"  # the agent an instruction map re-runs (hirl.eval.instruction_map)
MAP_FAMILIES = ("synonyms", "polite request", "terse")  # instruction_map.tsv's variants, in column order
GOAL = 0.9  # paraphrased / canonical average chain length asked for


def paired(a: list[int], b: list[int], seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over chains and its 95 % bootstrap interval."""
    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (10_000, len(d)))].mean(axis=1)
    return float(d.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def _chains(metrics: dict[str, Any]) -> tuple[list[int], list[int]]:
    return [len(e["completed"]) for e in metrics["episodes_detail"]], [e["seed"] for e in metrics["episodes_detail"]]


def _row(label: str, path: Path, agent: str, family: str, ref: str, m: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
    (a, sa), (b, sb) = _chains(m), _chains(r)
    if sa != sb:
        sys.exit(f"{path}: {agent} and {ref} ran different chains; paired comparison impossible")
    diff, lo, hi = paired(a, b)
    return {"label": label, "report": str(path), "agent": agent, "family": family, "reference": ref,
            "episodes": len(a), "avg_chain_length": m["avg_chain_length"],
            "reference_avg_chain_length": r["avg_chain_length"], "success_rate": m["success_rate"],
            "reference_success_rate": r["success_rate"], "ratio": m["avg_chain_length"] / r["avg_chain_length"],
            "paired_difference": diff, "ci95": [lo, hi], "chains": a, "reference_chains": b}


def collect(reports: list[tuple[str, Path]]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for label, path in reports:
        rep = json.loads(path.read_text())
        pol = rep["policies"]
        for agent, ref in REFERENCE.items():
            if agent in pol and ref in pol:
                rows.append(_row(label, path, agent, "held-out paraphrase", ref, pol[agent], pol[ref]))
        for key, how in (("instruction_map", ""), ("instruction_map_grounded", ", grounded")):
            imap = rep.get(key)
            if imap and MAP_AGENT in pol:
                for j, variant in enumerate(imap["variants"]):
                    family = MAP_FAMILIES[j] if j < len(MAP_FAMILIES) else f"map variant {j}"
                    rows.append(_row(label, path, f"{MAP_AGENT} ({family}{how})", family, MAP_AGENT, variant,
                                     pol[MAP_AGENT]))
    summary = summarize(rows)  # pools the per-chain lengths, which the JSON then leaves out (the reports keep them)
    kept = [{k: v for k, v in r.items() if k not in ("chains", "reference_chains")} for r in rows]
    return {"command": "python experiments/tabletop/paraphrase_benchmark.py collect "
                       + " ".join(f"{label}={p}" for label, p in reports), "goal_ratio": GOAL, "rows": kept,
            "summary": summary, "canonical": canonical_cost(reports)}


CANONICAL = ("oracle_high", "hier_language")  # the agents on canonical text, compared across recipes


def canonical_cost(reports: list[tuple[str, Path]]) -> list[dict[str, Any]]:
    """Each later recipe against the first one on canonical text: the k-th report of a recipe is paired with the k-th
    of the first (same seed; the same evaluation chains), per agent the mean chain lengths and the paired difference
    pooled over all chains."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for label, path in reports:
        by_label.setdefault(label, []).append(json.loads(path.read_text())["policies"])
    labels = list(by_label)
    out = []
    for label in labels[1:]:
        ref, runs = by_label[labels[0]], by_label[label]
        if len(ref) != len(runs):
            sys.exit(f"recipes {labels[0]} and {label}: give each the same seeds in the same order "
                     f"({len(ref)} vs {len(runs)} reports)")
        for agent in CANONICAL:
            pairs = [(r[agent], b[agent]) for r, b in zip(runs, ref, strict=True) if agent in r and agent in b]
            if not pairs:
                continue
            a = [c for r, _ in pairs for c in _chains(r)[0]]
            b = [c for _, r in pairs for c in _chains(r)[0]]
            if [x for r, _ in pairs for x in _chains(r)[1]] != [x for _, r in pairs for x in _chains(r)[1]]:
                sys.exit(f"{label} vs {labels[0]}: {agent} ran different chains; paired comparison impossible")
            diff, lo, hi = paired(a, b)
            out.append({"label": label, "reference_label": labels[0], "agent": agent, "seeds": len(pairs),
                        "avg_chain_length": float(np.mean(a)), "reference_avg_chain_length": float(np.mean(b)),
                        "paired_difference": diff, "ci95": [lo, hi]})
    return out


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (label, agent): seeds, mean +- std of the ratio and of both chain lengths, the paired difference pooled
    over all chains with its bootstrap interval."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["label"], r["agent"]), []).append(r)
    out = []
    for (label, agent), rs in groups.items():
        ratio = np.array([r["ratio"] for r in rs])
        diff, lo, hi = paired([c for r in rs for c in r["chains"]], [c for r in rs for c in r["reference_chains"]])
        out.append({"label": label, "agent": agent, "family": rs[0]["family"], "reference": rs[0]["reference"],
                    "seeds": len(rs), "chains": sum(r["episodes"] for r in rs),
                    "avg_chain_length": float(np.mean([r["avg_chain_length"] for r in rs])),
                    "reference_avg_chain_length": float(np.mean([r["reference_avg_chain_length"] for r in rs])),
                    "ratio_mean": float(ratio.mean()), "ratio_std": float(ratio.std()),
                    "ratio_per_seed": [round(float(x), 3) for x in ratio],
                    "paired_difference": diff, "ci95": [lo, hi]})
    return out


def render(res: dict[str, Any], notes: list[str] | None = None) -> str:
    lines = ["# Unseen phrasings (Tabletop)", "",
             f"Rendered from `{JSON.name}` by `python experiments/tabletop/paraphrase_benchmark.py render`; collected "
             f"by `{res['command']}` from `hirl eval` reports (the commands are in this script's docstring and in "
             "`paraphrase_benchmark.sh`). Families: the env's held-out paraphrase of every instruction (never trained "
             "on; `_grounded`: mapped to a known skill first by hirl.hierarchy.grounding; hier_language's command "
             "arrives as text only), and the three variants of `experiments/tabletop/instruction_map.tsv` (synonyms, "
             "a polite request, terse), which oracle_high emits instead of the canonical text (\", grounded\": "
             "grounded to a known skill first). Each is paired with its "
             f"canonical reference on the same chains; goal: ratio >= {res['goal_ratio']}.", "",
             "## Over seeds", "",
             "| recipe | agent (family) | reference | seeds | chains | avg chain | reference | ratio (mean ± std) | "
             "paired difference [95 % CI] | ratio per seed |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in res.get("summary", []):
        lo, hi = s["ci95"]
        lines.append(f"| {s['label']} | {s['agent']} | {s['reference']} | {s['seeds']} | {s['chains']} | "
                     f"{s['avg_chain_length']:.2f} | {s['reference_avg_chain_length']:.2f} | "
                     f"{s['ratio_mean']:.2f} ± {s['ratio_std']:.2f} | {s['paired_difference']:+.2f} "
                     f"[{lo:+.2f}, {hi:+.2f}] | {', '.join(f'{x:.2f}' for x in s['ratio_per_seed'])} |")
    if res.get("canonical"):
        lines += ["", "## The recipes on canonical text", "",
                  "The same agents given the canonical instructions, each recipe's run paired with the first recipe's "
                  "of the same seed on the same chains: what the augmentation costs where nothing is reworded.", "",
                  "| recipe | vs | agent | seeds | avg chain | vs | paired difference [95 % CI] |",
                  "|---|---|---|---|---|---|---|"]
        for c in res["canonical"]:
            lo, hi = c["ci95"]
            lines.append(f"| {c['label']} | {c['reference_label']} | {c['agent']} | {c['seeds']} | "
                         f"{c['avg_chain_length']:.2f} | {c['reference_avg_chain_length']:.2f} | "
                         f"{c['paired_difference']:+.2f} [{lo:+.2f}, {hi:+.2f}] |")
    lines += ["", "## Per report", "",
              "| recipe | report | agent (family) | chains | avg chain | reference | ratio | paired difference [95 % CI] "
              "| success | reference success |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        lo, hi = r["ci95"]
        lines.append(f"| {r['label']} | {Path(r['report']).parent.name} | {r['agent']} | {r['episodes']} | "
                     f"{r['avg_chain_length']:.2f} | {r['reference_avg_chain_length']:.2f} | {r['ratio']:.2f} | "
                     f"{r['paired_difference']:+.2f} [{lo:+.2f}, {hi:+.2f}] | {r['success_rate']:.2f} | "
                     f"{r['reference_success_rate']:.2f} |")
    if notes or res.get("notes"):
        lines += ["", "## Reading", "", *(notes or res.get("notes") or [])]
    return "\n".join(lines) + "\n"


def _labelled(text: str) -> tuple[str, Path]:
    label, sep, path = text.partition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=PATH to a report.json")
    return label, Path(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("collect", "render"))
    p.add_argument("reports", nargs="*", type=_labelled, help="collect: LABEL=report.json of hirl eval")
    p.add_argument("--notes", type=Path, default=None, help="a text file of the reading (kept in the JSON)")
    a = p.parse_args(argv)
    if a.mode == "collect":
        if not a.reports:
            p.error("collect needs at least one LABEL=report.json")
        for _, path in a.reports:
            if not path.is_file():
                p.error(f"{path}: no such report")
        atomic_write_json(JSON, collect(a.reports))
    res = json.loads(JSON.read_text())
    if a.notes is not None:
        res["notes"] = [line for line in a.notes.read_text().splitlines() if line.strip()]
        atomic_write_json(JSON, res)
    atomic_write_text(MD, render(res))
    print(MD.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
