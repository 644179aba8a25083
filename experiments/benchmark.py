"""Imitation benchmark over seeds: train + evaluate a config once per seed, then the replan-rule study and the
latency table on the trained agents, and write RESULTS.md (mean +- std over seeds) next to the config.

    python experiments/benchmark.py experiments/tabletop/hierarchical.yaml --seeds 0 1 2 --out runs/bench/tabletop
    python experiments/benchmark.py experiments/tabletop/hierarchical.yaml --out runs/bench/tabletop --report-only

Every finished piece is a JSON file under --out (seed<S>/report.json, seed<S>/replan/<rule>.json), so an
interrupted benchmark resumes where it stopped (training resumes from its checkpoints) and --report-only
rebuilds RESULTS.md from whatever has finished. Each seed collects its own demonstrations (collect.seed =
1000 * seed) and trains with that seed. --out also gets the seeds' plots together: chain_success.png (mean over seeds,
band: min-max) and subtask_success.png (counts summed over seeds, 95 % Wilson intervals).

--backend ray runs each seed as a Ray Tune trial declaring --cpus-per-trial CPUs and --gpus-per-trial GPUs (the `ray`
extra, hirl.benchmarks.tune; --address auto joins a running cluster, none starts a local Ray), concurrently as the
resources allow; the trials write the same files, so resuming and RESULTS.md / .json are the same as with the local
backend (docs/scaling.md).

    python experiments/benchmark.py experiments/tabletop/hierarchical.yaml --seeds 0 1 2 --out runs/bench/tabletop \\
        --backend ray
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

from hirl.benchmarks.tune import add_backend_arguments, check_backend_arguments
from hirl.config import load_config
from hirl.eval.evaluate import evaluate_run
from hirl.eval.report import plot_chain_success, plot_subtask_success
from hirl.fileio import atomic_write_json, atomic_write_text
from hirl.hierarchy import ReplanConfig
from hirl.learn.run import train_run
from hirl.learn.run_config import RunConfig
from hirl.runs import RunDir, run_kind
from hirl.runs.agents import available_agents, recipe

# reference agents evaluated beside the run's own (each where the run trained the components it drives)
ORACLES = ("oracle_high", "oracle_high_paraphrase", "oracle_state", "oracle_image", "oracle_state_ahead")

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
        refs = available_references(run_dir, references)
        agents = [*run_kind("imitation").default_agents(cfg, RunDir(run_dir)), *refs]
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


def available_references(run_dir: Path, references: list[str]) -> list[str]:
    """The reference agents the run can build: those made of no trained component (the expert) and those whose
    components the run trained (oracle_high needs low_language, oracle_state low_state, ...)."""
    return [r for r in references if not recipe(r).components or available_agents(run_dir, [r])]


def run_seeds_ray(config: Path, seeds: list[int], out: Path, overrides: list[str], replan_agent: str | None,
                  replan_episodes: int, references: list[str], address: str | None, cpus: float, gpus: float = 0.0) -> None:
    """run_seed for every seed as one Ray Tune trial ({"cpu": cpus, "gpu": gpus} each; hirl.benchmarks.tune); raises
    if a trial failed. Paths are made absolute first; Tune's own records go to OUT/tune/."""
    from hirl.benchmarks.tune import run_trials, script_module

    config, out = config.resolve(), out.resolve()

    def trial(params: Mapping[str, Any]) -> None:
        run_seed(config, int(params["seed"]), out, overrides, replan_agent, replan_episodes, references)

    run_trials(trial, [{"seed": s} for s in seeds], storage=out / "tune", name="benchmark", backend="ray",
               address=address, cpus=cpus, gpus=gpus, ship=script_module(__name__))


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def _stat(values: list[float]) -> dict[str, Any]:
    """{"mean", "std", "per_seed"} of one metric over the seeds that have it (nan values dropped)."""
    a = [float(v) for v in values if v is not None and not np.isnan(v)]
    return {"mean": round(float(np.mean(a)), 4) if a else None, "std": round(float(np.std(a)), 4) if a else None,
            "per_seed": [round(v, 4) for v in a]}


def _latency(lat: list[dict[str, Any]], key: str) -> dict[str, float] | None:
    """p50 / p99 of latency entry `key`, averaged over the seeds' latency reports that have it (None if none)."""
    d = [x[key] for x in lat if x.get(key)]
    return {"p50": round(float(np.mean([x["p50"] for x in d])), 3), "p99": round(float(np.mean([x["p99"] for x in d])), 3),
            "p99_max": round(float(np.max([x["p99"] for x in d])), 3)} if d else None


def _per_subtask(metrics: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-subtask completed / attempted summed over the seeds, with the success rate."""
    out: dict[str, dict[str, Any]] = {}
    for m in metrics:
        for name, c in (m.get("per_subtask") or {}).items():
            d = out.setdefault(name, {"attempted": 0, "completed": 0})
            d["attempted"] += c["attempted"]
            d["completed"] += c["completed"]
    for d in out.values():
        d["success"] = round(d["completed"] / d["attempted"], 4) if d["attempted"] else None
    return dict(sorted(out.items()))


def _train_seconds(run_dir: Path) -> dict[str, float]:
    """Optimizer wall time per trained network of a run, from RUN/train/<network>/metrics.csv (its `time` column
    restarts at every invocation, so an interrupted and resumed training is the sum of its invocations' maxima; the
    run's train_summary only has the last invocation's seconds)."""
    out: dict[str, float] = {}
    for csv_path in sorted(run_dir.glob("train/*/metrics.csv")):
        total, last, peak = 0.0, -1.0, 0.0
        with csv_path.open(encoding="utf-8") as f:
            for rec in csv.DictReader(f):
                t = float(rec["time"])
                if t < last:  # a new invocation
                    total, peak = total + peak, 0.0
                last, peak = t, max(peak, t)
        out[csv_path.parent.name] = round(total + peak, 1)
    return out


def collect_results(config: Path, out: Path, command: str) -> dict[str, Any]:
    """Everything RESULTS.md shows, from the finished seeds under `out`: per agent the chain metrics (mean, std and
    per seed), per-subtask success summed over seeds, latency; the replan study; wall time per seed."""
    reports = {int(p.parent.name[4:]): json.loads(p.read_text()) for p in sorted(out.glob("seed*/report.json"))}
    res: dict[str, Any] = {"config": str(config), "command": command, "date": time.strftime("%Y-%m-%d"),
                           "machine": platform.node() or "this machine", "seeds": sorted(reports), "agents": {}}
    if not reports:
        return res
    first = next(iter(reports.values()))
    res.update(episodes=first["episodes"], eval_seed=first["seed"], chain_length=first.get("chain_length", 5))
    for n in dict.fromkeys(n for r in reports.values() for n in r["policies"]):
        ms = [r["policies"][n] for r in reports.values() if n in r["policies"]]
        lat = [m.get("latency") or {} for m in ms]
        res["agents"][n] = {
            "avg_chain_length": _stat([m["avg_chain_length"] for m in ms]),
            "success_rate": _stat([m["success_rate"] for m in ms]),
            "success_at_length": {str(k): _stat([m["success_at_length"].get(str(k), np.nan) for m in ms])
                                  for k in range(1, 6)},
            "high_level_queries_per_episode": _stat([m["high_level_queries_per_episode"] for m in ms]),
            "subgoal_reach_rate": _stat([m["subgoal_reach_rate"] for m in ms if m.get("subgoal_reach_rate") is not None]),
            "state_subgoal_reach_rate": _stat([m["state_subgoal_reach_rate"] for m in ms
                                               if m.get("state_subgoal_reach_rate") is not None]),
            "per_subtask": _per_subtask(ms),
            "latency_ms": {k: _latency(lat, k) for k in ("control_step_ms", "low_level_step_ms", "inference_step_ms",
                                                         "high_level_query_ms")},
            "inference_share": _stat([x["inference_share"] for x in lat if "inference_share" in x]),
            "steps_over_budget": _stat([x["steps_over_budget"] for x in lat if x]),
        }
    trained = {seed: {k: v for k, v in _train_seconds(out / f"seed{seed}").items()  # networks the seed's run trained
                      if k in r.get("train_summary", {}).get("components", {})} for seed, r in reports.items()}
    res["train_seconds"] = {k: _stat([t[k] for t in trained.values() if k in t])
                            for k in dict.fromkeys(k for t in trained.values() for k in t)}
    rules: dict[str, list[dict[str, Any]]] = {}
    for p in sorted(out.glob("seed*/replan/*.json")):
        rec = json.loads(p.read_text())
        rules.setdefault(rec["rule"], []).append(rec)
    res["replan"] = {name: {"seeds": len(recs), **{k: _stat([m[k] for m in recs]) for k in (
        "avg_chain_length", "success_rate", "high_level_queries_per_episode", "replans_per_episode")}}
        for name, recs in ((n, rules[n]) for n in REPLAN_RULES if n in rules)}
    res["wall_seconds_per_seed"] = _stat([r["wall_seconds"] for r in reports.values() if r.get("wall_seconds")])
    return res


def _ms(s: dict[str, Any] | None) -> str:
    """A _stat entry as "mean ± std" (one seed: the value; none: "-")."""
    if not s or s["mean"] is None:
        return "-"
    return f"{s['mean']:.2f} ± {s['std']:.2f}" if len(s["per_seed"]) > 1 else f"{s['mean']:.2f}"


def _lat(d: dict[str, float] | None) -> str:
    return f"{d['p50']:.2f} / {d['p99']:.2f}" if d else "-"


def _rate(d: dict[str, Any] | None) -> str:
    return f"{d['success']:.2f} ({d['completed']}/{d['attempted']})" if d and d["attempted"] else "-"


def results_markdown(res: dict[str, Any]) -> str:
    """RESULTS.md rendered from collect_results' JSON (the only source of its numbers)."""
    lines = [f"# Results: `{res['config']}`", "", f"Produced by `{res['command']}` on {res['machine']} ({res['date']}); "
             f"seeds finished: {res['seeds'] or 'none'}. Mean ± std over seeds; each seed collects its own "
             "demonstrations and trains with its own seed. Chains of 5 subtasks, CALVIN-style: a chain stops at its "
             f"first failed subtask. The same numbers: `{Path(res.get('json', 'RESULTS.json')).name}` beside this file.", ""]
    agents = res["agents"]
    if not agents:
        return "\n".join([*lines, "No seed has finished yet.", ""])
    lines += [f"Evaluation: {res['episodes']} chains per agent and seed (seeds {res['eval_seed']}...).", "",
              "## Average chain length and success at each length", "",
              "| agent | avg chain length | success (5/5) | " + " | ".join(f"len>={k}" for k in range(1, 6))
              + " | HL queries/ep | subgoal reach | state subgoal reach |",
              "|---|---|---|" + "---|" * 5 + "---|---|---|"]
    for n, a in agents.items():
        lines.append(f"| {n} | {_ms(a['avg_chain_length'])} | {_ms(a['success_rate'])} | "
                     + " | ".join(_ms(a["success_at_length"][str(k)]) for k in range(1, 6))
                     + f" | {_ms(a['high_level_queries_per_episode'])} | {_ms(a['subgoal_reach_rate'])} "
                     f"| {_ms(a.get('state_subgoal_reach_rate'))} |")
    flat, hier = agents.get("flat"), agents.get("hier_language")
    if flat and hier and flat["avg_chain_length"]["mean"]:
        lines += ["", f"hier_language / flat average chain length: "
                  f"{hier['avg_chain_length']['mean'] / flat['avg_chain_length']['mean']:.2f}x"]
    lines += ["", "`expert`: the scripted expert through the same runtime (upper reference). `oracle_high`: the expert's "
              "high level (canonical instructions) driving the learned language low level; `oracle_high_paraphrase`: "
              "the same emitting each instruction's held-out paraphrase, never used in training (the low level's "
              "generalisation). `oracle_state` / `oracle_image`: the expert run ahead in the env (then put back) to the"
              " end of its current subtask, its achieved goal / camera frame there given to the learned low_state / "
              "low_image (the low level's goal reaching alone); `oracle_state_ahead`: the expert's achieved goal "
              "`subgoals.horizon` steps ahead given to low_state_ahead; `hier_state_ahead`: a learned high level "
              "proposing that (HIQL's short-horizon subgoals). `+adapt`: after the adapt stage (DAgger against the "
              "expert). `subgoal reach`: the fraction of subgoals (each start, replan or override) during which the low"
              " level completed a subtask — for `hier_image`, how often a generated goal image was reachable by the low"
              " level. `state subgoal reach`: the fraction of state subgoals whose every component the achieved goal "
              "came within the env's goal tolerance of (Tabletop: 5 cm gripper, 3 cm blocks and drawer) while it was "
              "active."]
    with_subtasks = [n for n, a in agents.items() if a["per_subtask"]]
    if with_subtasks:
        subtasks = sorted({s for n in with_subtasks for s in agents[n]["per_subtask"]})
        lines += ["", "## Per-subtask success (completed / attempted, summed over seeds)", "",
                  "| subtask | " + " | ".join(with_subtasks) + " |", "|---|" + "---|" * len(with_subtasks)]
        lines += [f"| {s} | " + " | ".join(_rate(agents[n]["per_subtask"].get(s)) for n in with_subtasks) + " |"
                  for s in subtasks]
        totals = {n: {"attempted": sum(d["attempted"] for d in agents[n]["per_subtask"].values()),
                      "completed": sum(d["completed"] for d in agents[n]["per_subtask"].values())} for n in with_subtasks}
        for t in totals.values():
            t["success"] = t["completed"] / t["attempted"] if t["attempted"] else None
        lines.append("| **all attempted** | " + " | ".join(_rate(totals[n]) for n in with_subtasks) + " |")
    lines += ["", "## Control-loop latency (ms, p50 / p99, averaged over seeds; budget 20 ms at 50 Hz)", "",
              "`control step`: every step; `low-level step`: steps without a high-level query; `head step`: of those, "
              "the steps that ran the action head's network (a chunked head runs it on a share of the steps; the "
              "others pop a pending action); `high-level query`: the query alone (for language, a MiniLM embedding of "
              "an instruction not seen before in the process).", "",
              "| agent | control step | low-level step | head step | share of steps running the head | high-level query "
              "| steps over budget |", "|---|---|---|---|---|---|---|"]
    for n, a in agents.items():
        la = a["latency_ms"]
        lines.append(f"| {n} | {_lat(la['control_step_ms'])} | {_lat(la['low_level_step_ms'])} | "
                     f"{_lat(la['inference_step_ms'])} | {_ms(a['inference_share'])} | {_lat(la['high_level_query_ms'])} | "
                     f"{_ms(a['steps_over_budget'])} |")
    if res.get("train_seconds"):
        lines += ["", "## Training time (s per component, mean ± std over seeds)", "",
                  "| component | seconds |", "|---|---|"]
        lines += [f"| {k} | {_ms(v)} |" for k, v in res["train_seconds"].items() if v["per_seed"]]
    if res.get("replan"):
        lines += ["", "## Replan rules (same trained hierarchical agent, same chains; only the rule changes)", "",
                  "| rule | seeds | avg chain length | success (5/5) | HL queries/ep | replans/ep |",
                  "|---|---|---|---|---|---|"]
        for name, r in res["replan"].items():
            lines.append(f"| {name} | {r['seeds']} | {_ms(r['avg_chain_length'])} | {_ms(r['success_rate'])} | "
                         f"{_ms(r['high_level_queries_per_episode'])} | {_ms(r['replans_per_episode'])} |")
        lines += ["", "Noisy completion: the detector misses a true completion with probability 0.5 per step and fires "
                  "falsely with probability 0.01 per step (then the timeout or the interval has to recover)."]
    if res.get("wall_seconds_per_seed", {}).get("per_seed"):
        lines += ["", f"Wall time per seed (collect + train + evaluate): {_ms(res['wall_seconds_per_seed'])} s."]
    return "\n".join(lines) + "\n"


def write_results(config: Path, out: Path, command: str, results: Path, notes: Path | None = None) -> None:
    """RESULTS.json (collect_results) and RESULTS.md rendered from it, side by side (same stem); `notes`: a Markdown
    file appended to RESULTS.md as its last section (what the numbers mean, how the seeds were run); the finished
    seeds' plots together in out/ (chain_success.png, subtask_success.png)."""
    reports = [json.loads(p.read_text()) for p in sorted(out.glob("seed*/report.json"))]
    if reports:
        plot_chain_success(reports, out / "chain_success.png")
        plot_subtask_success(reports, out / "subtask_success.png")
    res = collect_results(config, out, command)
    res["json"] = str(results.with_suffix(".json"))
    atomic_write_json(results.with_suffix(".json"), res)
    text = results_markdown(res)
    if notes is not None:
        text += "\n" + notes.read_text(encoding="utf-8")
    atomic_write_text(results, text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config", type=Path, help="a RunConfig YAML (e.g. experiments/tabletop/hierarchical.yaml)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to run")
    p.add_argument("--out", type=Path, required=True, help="benchmark directory (runs, datasets, JSON results)")
    p.add_argument("--replan-agent", default="hier_language", help="agent of the replan study ('none' to skip)")
    p.add_argument("--replan-episodes", type=int, default=50, help="chains per replan rule")
    p.add_argument("--results", type=Path, default=None, help="RESULTS.md path (default: next to the config)")
    p.add_argument("--report-only", action="store_true", help="only rebuild RESULTS.md / .json from finished results")
    p.add_argument("--notes", type=Path, default=None, help="a Markdown file appended to RESULTS.md (its last section)")
    p.add_argument("--no-references", action="store_true",
                   help="evaluate only the expert as reference (no oracle-high-level agents: envs without language subgoals)")
    add_backend_arguments(p)  # --backend local|ray, --address, --cpus-per-trial, --gpus-per-trial (one trial per seed)
    p.add_argument("overrides", nargs="*", help="key=value overrides applied to every seed")
    args, extra = p.parse_known_args(argv)
    unknown = [e for e in extra if "=" not in e or e.startswith("-")]
    if unknown:
        p.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.overrides = list(args.overrides) + [e for e in extra if e not in unknown]  # key=value may follow options
    check_backend_arguments(p, args)
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    results = args.results or args.config.parent / "RESULTS.md"
    refs = ["expert"] if args.no_references else ["expert", *ORACLES]
    replan_agent = None if args.replan_agent == "none" else args.replan_agent
    if not args.report_only and args.backend == "ray":
        run_seeds_ray(args.config, args.seeds, args.out, args.overrides, replan_agent, args.replan_episodes, refs,
                      args.address, args.cpus_per_trial, args.gpus_per_trial)
    elif not args.report_only:
        for seed in args.seeds:
            run_seed(args.config, seed, args.out, args.overrides, replan_agent, args.replan_episodes, refs)
            write_results(args.config, args.out, command, results, args.notes)
    write_results(args.config, args.out, command, results, args.notes)
    print(results.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
