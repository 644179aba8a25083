"""Imitation benchmark over seeds: train + evaluate a config once per seed, then the replan-rule study and the
latency table on the trained agents, and write RESULTS.md (mean +- std over seeds) next to the config.

    python experiments/benchmark.py experiments/tabletop/hierarchical.yaml --seeds 0 1 2 --out runs/bench/tabletop
    python experiments/benchmark.py experiments/tabletop/hierarchical.yaml --out runs/bench/tabletop --report-only

Every finished piece is a JSON file under --out (seed<S>/report.json, seed<S>/replan/<rule>.json), so an
interrupted benchmark resumes where it stopped (training resumes from its checkpoints) and --report-only
rebuilds RESULTS.md from whatever has finished. Each seed collects its own demonstrations (collect.seed =
1000 * seed) and trains with that seed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hirl.config import load_config
from hirl.eval.evaluate import evaluate_run
from hirl.fileio import atomic_write_json, atomic_write_text
from hirl.hierarchy import ReplanConfig
from hirl.learn.run import train_run
from hirl.learn.run_config import RunConfig
from hirl.runs import RunDir, run_kind

# The replan-rule study: one trained hierarchical agent, the same chains, only the rule changes.
REPLAN_RULES: dict[str, dict[str, Any]] = {
    "completion (chain progress)": dict(detector="chain_progress", timeout=300),
    "completion (subgoal predicate)": dict(detector="env_predicate", timeout=300),
    "fixed interval 10": dict(on_completion=False, interval=10),
    "fixed interval 50": dict(on_completion=False, interval=50),
    "fixed interval 150": dict(on_completion=False, interval=150),
    "AnyOf(completion, interval 50)": dict(detector="chain_progress", timeout=300, interval=50),
    "noisy completion": dict(detector="chain_progress", timeout=300, noise_false_positive=0.01, noise_false_negative=0.5),
    "AnyOf(noisy completion, interval 50)": dict(detector="chain_progress", timeout=300, interval=50,
                                                 noise_false_positive=0.01, noise_false_negative=0.5),
}


def seed_config(config: Path, seed: int, out: Path, overrides: list[str]) -> RunConfig:
    cfg = load_config(RunConfig, config, [f"seed={seed}", f"collect.seed={1000 * seed}", *overrides])
    cfg.dataset = str(out / "data" / f"seed{seed}")
    return cfg


def run_seed(config: Path, seed: int, out: Path, overrides: list[str], replan_agent: str | None, replan_episodes: int,
             references: list[str]) -> None:
    cfg = seed_config(config, seed, out, overrides)
    run_dir = out / f"seed{seed}"
    if not (run_dir / "report.json").is_file():
        t0 = time.perf_counter()
        summary = train_run(cfg, run_dir)
        agents = [*run_kind("imitation").default_agents(cfg, RunDir(run_dir)), *references]
        report = evaluate_run(run_dir, agents, out=run_dir / "eval", cfg=cfg)
        report["train_summary"] = summary
        report["wall_seconds"] = round(time.perf_counter() - t0, 1)
        atomic_write_json(run_dir / "report.json", report)
    if replan_agent is None:
        return
    for name, kwargs in REPLAN_RULES.items():
        path = run_dir / "replan" / f"{_slug(name)}.json"
        if path.is_file():
            continue
        variant = dataclasses.replace(cfg, replan=ReplanConfig(**kwargs), eval=dataclasses.replace(cfg.eval, videos=0))
        rep = evaluate_run(run_dir, [replan_agent], replan_episodes, out=run_dir / "replan" / _slug(name), cfg=variant)
        atomic_write_json(path, {"rule": name, "replan": kwargs, **rep["policies"][replan_agent]})


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def _ms(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    return f"{a.mean():.2f} ± {a.std():.2f}" if len(a) > 1 else (f"{a[0]:.2f}" if len(a) else "-")


def _latency_cell(lat: list[dict], key: str) -> str:
    """'p50 / p99' of latency entry `key`, averaged over the seeds' latency reports that have it ("-" if none)."""
    d = [x[key] for x in lat if x.get(key)]
    return f"{np.mean([x['p50'] for x in d]):.2f} / {np.mean([x['p99'] for x in d]):.2f}" if d else "-"


def results_markdown(config: Path, out: Path, command: str) -> str:
    reports = {int(p.parent.name[4:]): json.loads(p.read_text()) for p in sorted(out.glob("seed*/report.json"))}
    lines = [f"# Results: `{config}`", "", f"Produced by `{command}` on {platform.node() or 'this machine'} "
             f"({time.strftime('%Y-%m-%d')}); seeds finished: {sorted(reports) or 'none'}. Mean ± std over seeds; "
             "each seed collects its own demonstrations and trains with its own seed. Chains of 5 subtasks, "
             "CALVIN-style: a chain stops at its first failed subtask.", ""]
    if not reports:
        return "\n".join([*lines, "No seed has finished yet.", ""])
    first = next(iter(reports.values()))
    lines += [f"Evaluation: {first['episodes']} chains per agent and seed (seeds {first['seed']}...).", "",
              "## Average chain length and success at each length", "",
              "| agent | avg chain length | success (5/5) | " + " | ".join(f"len>={k}" for k in range(1, 6))
              + " | HL queries/ep | subgoal reach |",
              "|---|---|---|" + "---|" * 5 + "---|---|"]
    names = list(dict.fromkeys(n for r in reports.values() for n in r["policies"]))
    for n in names:
        ms = [r["policies"][n] for r in reports.values() if n in r["policies"]]
        at = [_ms([m["success_at_length"].get(str(k), np.nan) for m in ms]) for k in range(1, 6)]
        lines.append(f"| {n} | {_ms([m['avg_chain_length'] for m in ms])} | {_ms([m['success_rate'] for m in ms])} | "
                     + " | ".join(at) + f" | {_ms([m['high_level_queries_per_episode'] for m in ms])} | "
                     f"{_ms([m['subgoal_reach_rate'] for m in ms if m.get('subgoal_reach_rate') is not None])} |")
    flat = [r["policies"]["flat"]["avg_chain_length"] for r in reports.values() if "flat" in r["policies"]]
    hier = [r["policies"]["hier_language"]["avg_chain_length"] for r in reports.values() if "hier_language" in r["policies"]]
    if flat and hier and np.mean(flat) > 0:
        lines += ["", f"hier_language / flat average chain length: {np.mean(hier) / np.mean(flat):.2f}x"]
    lines += ["", "`expert`: the scripted expert through the same runtime (upper reference). `oracle_high`: the expert's "
              "high level (canonical instructions) driving the learned language low level; `oracle_high_paraphrase`: "
              "the same emitting each instruction's held-out paraphrase, never used in training (the low level's "
              "generalisation). `+adapt`: after the adapt stage (DAgger against the expert). `subgoal reach`: the fraction of "
              "subgoals (each start, replan or override) during which the low level completed a subtask — for "
              "`hier_image`, how often a generated goal image was reachable by the low level.", "",
              "## Control-loop latency (ms, p50 / p99 over all timed steps; budget 20 ms at 50 Hz)", "",
              "| agent | control step | low-level step | high-level query | steps over budget |", "|---|---|---|---|---|"]
    for n in names:
        lat = [r["policies"][n].get("latency") or {} for r in reports.values() if n in r["policies"]]
        over = [x["steps_over_budget"] for x in lat if x]
        lines.append(f"| {n} | {_latency_cell(lat, 'control_step_ms')} | {_latency_cell(lat, 'low_level_step_ms')} | "
                     f"{_latency_cell(lat, 'high_level_query_ms')} | {_ms(over) if over else '-'} |")
    rules = {}
    for p in sorted(out.glob("seed*/replan/*.json")):
        rec = json.loads(p.read_text())
        rules.setdefault(rec["rule"], []).append(rec)
    if rules:
        lines += ["", "## Replan rules (same trained hierarchical agent, same chains; only the rule changes)", "",
                  "| rule | seeds | avg chain length | success (5/5) | HL queries/ep | replans/ep |",
                  "|---|---|---|---|---|---|"]
        for name in [r for r in REPLAN_RULES if r in rules]:
            recs = rules[name]
            lines.append(f"| {name} | {len(recs)} | {_ms([m['avg_chain_length'] for m in recs])} | "
                         f"{_ms([m['success_rate'] for m in recs])} | "
                         f"{_ms([m['high_level_queries_per_episode'] for m in recs])} | "
                         f"{_ms([m['replans_per_episode'] for m in recs])} |")
        lines += ["", "Noisy completion: the detector misses a true completion with probability 0.5 per step and fires "
                  "falsely with probability 0.01 per step (then the timeout or the interval has to recover)."]
    timings = [r.get("wall_seconds") for r in reports.values() if r.get("wall_seconds")]
    if timings:
        lines += ["", f"Wall time per seed (collect + train + evaluate): {_ms(timings)} s."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config", type=Path, help="a RunConfig YAML (e.g. experiments/tabletop/hierarchical.yaml)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to run")
    p.add_argument("--out", type=Path, required=True, help="benchmark directory (runs, datasets, JSON results)")
    p.add_argument("--replan-agent", default="hier_language", help="agent of the replan study ('none' to skip)")
    p.add_argument("--replan-episodes", type=int, default=50, help="chains per replan rule")
    p.add_argument("--results", type=Path, default=None, help="RESULTS.md path (default: next to the config)")
    p.add_argument("--report-only", action="store_true", help="only rebuild RESULTS.md from finished results")
    p.add_argument("--no-references", action="store_true",
                   help="evaluate only the expert as reference (no oracle-high-level agents: envs without language subgoals)")
    p.add_argument("overrides", nargs="*", help="key=value overrides applied to every seed")
    args, extra = p.parse_known_args(argv)
    unknown = [e for e in extra if "=" not in e or e.startswith("-")]
    if unknown:
        p.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.overrides = list(args.overrides) + [e for e in extra if e not in unknown]  # key=value may follow options
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    results = args.results or args.config.parent / "RESULTS.md"
    if not args.report_only:
        for seed in args.seeds:
            refs = ["expert"] if args.no_references else ["expert", "oracle_high", "oracle_high_paraphrase"]
            run_seed(args.config, seed, args.out, args.overrides,
                     None if args.replan_agent == "none" else args.replan_agent, args.replan_episodes, refs)
            atomic_write_text(results, results_markdown(args.config, args.out, command))
    atomic_write_text(results, results_markdown(args.config, args.out, command))
    print(results.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
