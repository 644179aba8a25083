"""OGBench benchmark: train + evaluate each env's config once per seed on ONE fixed dataset (OGBench's protocol: the
seeds vary training, not the data), then write RESULTS.json and RESULTS.md (rendered from the JSON) beside this file.

    python experiments/ogbench/benchmark.py --envs pointmaze-large scene puzzle-3x3 --seeds 0 1 2 --out runs/ogbench
    python experiments/ogbench/benchmark.py --envs pointmaze-large --seeds 0 1 2 --out runs/ogbench --report-only

Seeds run seed-major (seed 0 of every env, then seed 1, ...), so an interrupted benchmark has every env at the same
number of seeds; each finished (env, seed) is RUN/report.json and is skipped when run again (training resumes from
its checkpoints). Every run goes through hirl's one training path (hirl.learn.run.train_run) and one evaluation path
(hirl.eval.evaluate.evaluate_run). Overrides (key=value) apply to every config, e.g. train.baseline.max_steps=10000.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hirl.config import load_config
from hirl.data.metadata import read_metadata
from hirl.eval.evaluate import evaluate_run
from hirl.fileio import atomic_write_json, atomic_write_text
from hirl.learn.run import train_run
from hirl.learn.run_config import RunConfig
from hirl.plugins import import_plugins

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from results_tables import markdown_tables  # noqa: E402  (experiments/results_tables.py)
ENVS = {  # config name -> OGBench dataset name (the published table's row)
    "pointmaze-large": "pointmaze-large-navigate-v0",
    "pointmaze-large-gcbc": "pointmaze-large-navigate-v0",  # the GCBC pipeline check at 10x the gradient steps
    "scene": "scene-play-v0",
    "puzzle-3x3": "puzzle-3x3-play-v0",
    "cube-single": "cube-single-play-v0",
}
# OGBench paper (arXiv 2410.20092) Table 2: success %, mean +- std over 8 seeds, 1M transitions, 1M gradient steps
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    "scene-play-v0": {"GCBC": (5, 1), "GCIVL": (42, 4), "GCIQL": (51, 4), "QRL": (5, 1), "CRL": (19, 2), "HIQL": (38, 3)},
    "puzzle-3x3-play-v0": {"GCBC": (2, 0), "GCIQL": (95, 1), "HIQL": (12, 2)},
    "cube-single-play-v0": {"GCBC": (6, 2), "HIQL": (15, 3)},
    "pointmaze-large-navigate-v0": {"GCBC": (29, 6), "QRL": (86, 9), "HIQL": (58, 5)},
}
PAPER_BUDGET = {"transitions": 1_000_000, "gradient_steps": 1_000_000, "batch_size": 1024, "hidden": [512, 512, 512],
                "seeds": 8, "eval_episodes_per_task": 50}
METHODS = {  # agent (without the _cpu / _k10 suffixes) -> (row name, the published method it corresponds to, supervision)
    "gcbc": ("GCBC (hirl)", "GCBC", "states, actions, hindsight goals"),
    "gc_hier_state": ("state-subgoal hierarchy (hirl)", None, "states, actions, hindsight goals (as HIQL)"),
    "gc_hier_language": ("language-subgoal hierarchy (hirl)", None,
                         "+ the oracle's target labels (OGBench's methods lack them)"),
    "hiql": ("HIQL (hirl)", "HIQL", "states, actions, hindsight goals"),
}


def method_of(agent: str) -> str:
    """'hiql_k10_cpu' -> 'hiql'."""
    return agent.removesuffix("_cpu").removesuffix("_k10")


def seed_config(env: str, seed: int, overrides: list[str]) -> RunConfig:
    return load_config(RunConfig, HERE / f"{env}.yaml", [f"seed={seed}", *overrides])


def run_seed(env: str, seed: int, out: Path, overrides: list[str]) -> dict[str, Any]:
    """Train and evaluate one (env, seed); the report (cached as RUN/report.json)."""
    run_dir = out / env / f"seed{seed}"
    path = run_dir / "report.json"
    if path.is_file():
        return json.loads(path.read_text())
    cfg = seed_config(env, seed, overrides)
    t0 = time.perf_counter()
    summary = train_run(cfg, run_dir)
    t1 = time.perf_counter()
    report = evaluate_run(run_dir, list(cfg.agents), out=run_dir / "eval", cfg=cfg)
    report["train_summary"] = summary
    report["train_seconds"] = round(t1 - t0, 1)
    report["eval_seconds"] = round(time.perf_counter() - t1, 1)
    atomic_write_json(path, report)
    return report


def _mean_std(xs: list[float]) -> dict[str, Any]:
    a = np.asarray(xs, dtype=np.float64) * 100
    return {"mean": round(float(a.mean()), 1), "std": round(float(a.std()), 1), "per_seed": [round(float(x), 1) for x in a]}


def env_results(env: str, seeds: list[int], out: Path, overrides: list[str]) -> dict[str, Any] | None:
    """The RESULTS.json entry of one env from its finished seeds (None when no seed has finished)."""
    reports = {s: json.loads((out / env / f"seed{s}" / "report.json").read_text())
               for s in seeds if (out / env / f"seed{s}" / "report.json").is_file()}
    if not reports:
        return None
    cfg = seed_config(env, next(iter(reports)), overrides)
    meta = read_metadata(cfg.dataset)
    first = next(iter(reports.values()))
    transitions = first["train_summary"]["train_steps"]
    methods: dict[str, Any] = {}
    for agent in cfg.agents:
        row, published, supervision = METHODS[method_of(agent)]
        per_task: dict[str, list[float]] = {}
        overall, seconds = [], []
        for r in reports.values():
            p = r["policies"][agent]
            overall.append(p["success_rate"])
            for task, v in p["per_subtask"].items():
                per_task.setdefault(task, []).append(v["success"])
            comp = r["train_summary"]["components"][agent]
            seconds.append(comp["seconds"])
        methods[agent] = {"row": row, "published_counterpart": published, "supervision": supervision,
                          "overall": _mean_std(overall), "per_task": {t: _mean_std(v) for t, v in sorted(per_task.items())},
                          "train_seconds_per_seed": round(float(np.mean(seconds)), 1),
                          "parameters": first["train_summary"]["components"][agent]["parameters"]}
    name = ENVS[env]
    return {
        "ogbench_dataset": name, "env": cfg.env, "config": f"experiments/ogbench/{env}.yaml",
        "seeds": sorted(reports), "dataset": {"path": cfg.dataset, "episodes": len(meta["episode_indices"]),
                                               "transitions": transitions,
                                               "style": meta["collection"]["env_kwargs"].get("collection", "imported"),
                                               "noise": meta["collection"].get("noise")},
        "budget": {"gradient_steps": cfg.train.baseline.max_steps, "batch_size": cfg.train.baseline.batch_size,
                   "lr": cfg.train.baseline.lr, "hidden": [256, 256, 256] if all(a.endswith("_cpu") for a in cfg.agents)
                   else [512, 512, 512]},
        "eval": {"episodes": first["episodes"], "episodes_per_task": first["episodes"] // 5, "seed": first["seed"]},
        "wall_seconds_per_seed": {"train": round(float(np.mean([r["train_seconds"] for r in reports.values()])), 1),
                                  "eval": round(float(np.mean([r["eval_seconds"] for r in reports.values()])), 1)},
        "published": {k: {"mean": v[0], "std": v[1]} for k, v in PUBLISHED[name].items()},
        "methods": methods,
    }


def render(results: dict[str, Any]) -> str:
    """RESULTS.md from RESULTS.json (every number comes from the JSON)."""
    pb = results["paper_budget"]
    lines = ["# OGBench: hirl's GCBC, hierarchies and HIQL beside the published numbers", "",
             "Generated by `experiments/ogbench/benchmark.py` from `RESULTS.json` (same numbers). Each table gives the "
             "command that produced it; `bash experiments/ogbench/<env>.sh` generates the data and runs it.", "",
             f"Published: OGBench paper (arXiv 2410.20092) Table 2, {pb['transitions']:,} transitions, "
             f"{pb['gradient_steps']:,} gradient steps, batch {pb['batch_size']}, {pb['seeds']} seeds, "
             f"{pb['eval_episodes_per_task']} episodes per task. **The hirl rows below use a CPU budget that is a small "
             "fraction of that (gradient steps, batch, width and data size are given per table): they are not "
             "reproductions of the published numbers.**", "",
             f"Machine: {results['machine']}. Success in % (mean +- std over seeds; per-seed values in the JSON).", ""]
    for r in results["envs"].values():
        d, b, e, w = r["dataset"], r["budget"], r["eval"], r["wall_seconds_per_seed"]
        lines += [f"## {r['ogbench_dataset']}: `{r['config']}`", "",
                  f"- data: {d['episodes']} oracle episodes, {d['transitions']:,} transitions ({d['style']}, noise "
                  f"{d['noise']}); OGBench: {pb['transitions']:,}",
                  f"- budget: {b['gradient_steps']:,} gradient steps, batch {b['batch_size']}, lr {b['lr']}, MLPs "
                  f"{'x'.join(map(str, b['hidden']))} per method ({b['gradient_steps'] / pb['gradient_steps']:.2%} of "
                  f"the paper's steps, {b['batch_size'] / pb['batch_size']:.0%} of its batch)",
                  f"- evaluation: {e['episodes']} episodes per method and seed ({e['episodes_per_task']} per task; "
                  f"OGBench: {pb['eval_episodes_per_task']}); seeds {', '.join(map(str, r['seeds']))}",
                  f"- wall time per seed: {w['train']:.0f} s training (all methods), {w['eval']:.0f} s evaluation",
                  f"- command: `{r['command']}`", ""]
        tasks = sorted({t for m in r["methods"].values() for t in m["per_task"]})
        lines += ["| method | supervision | overall | " + " | ".join(tasks) + " | train s/seed | published |",
                  "|---|---|---|" + "---|" * len(tasks) + "---|---|"]
        for agent, m in r["methods"].items():
            pub = r["published"].get(m["published_counterpart"] or "", None)
            pub_s = f"{m['published_counterpart']} {pub['mean']:g} +- {pub['std']:g}" if pub else "-"
            cells = [f"{m['per_task'][t]['mean']:.0f}" if t in m["per_task"] else "-" for t in tasks]
            o = m["overall"]
            lines.append(f"| {m['row']} (`{agent}`) | {m['supervision']} | **{o['mean']:.1f} +- {o['std']:.1f}** | "
                         + " | ".join(cells) + f" | {m['train_seconds_per_seed']:.0f} | {pub_s} |")
        others = ", ".join(f"{k} {v['mean']:g} +- {v['std']:g}" for k, v in r["published"].items()
                           if k not in {m["published_counterpart"] for m in r["methods"].values()})
        if others:
            lines += ["", f"Other published methods on this dataset: {others}."]
        lines.append("")
    if results.get("notes"):
        lines += [results["notes"].rstrip(), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--envs", nargs="+", default=["pointmaze-large", "scene", "puzzle-3x3"], choices=sorted(ENVS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, required=True, help="benchmark directory (runs and reports)")
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md", help="RESULTS.md path (.json beside it)")
    p.add_argument("--notes", type=Path, default=None, help="Markdown appended to RESULTS.md (stored in the JSON)")
    p.add_argument("--report-only", action="store_true", help="only rebuild RESULTS.md / .json from finished seeds")
    p.add_argument("overrides", nargs="*", help="key=value overrides applied to every config and seed")
    a = p.parse_args(argv)
    import_plugins(["hirl.learn.gc_plugin"], "benchmark")
    if not a.report_only:
        for seed in a.seeds:
            for env in a.envs:
                run_seed(env, seed, a.out, a.overrides)
                write_results(a, sys.argv)
    write_results(a, sys.argv)
    return 0


def write_results(a: argparse.Namespace, argv: list[str]) -> None:
    """Update RESULTS.json with the envs of this call (the other envs' entries are kept), then render RESULTS.md."""
    path = a.results.with_suffix(".json")
    old = json.loads(path.read_text()) if path.is_file() else {}
    old.pop("tables", None)
    envs = dict(old.get("envs", {}))
    for env in a.envs:
        r = env_results(env, a.seeds, a.out, a.overrides)
        if r is not None:
            r["command"] = " ".join(["python experiments/ogbench/benchmark.py", "--envs", env, "--seeds",
                                     *map(str, r["seeds"]), "--out", str(a.out), *a.overrides])
            envs[env] = r
    notes = a.notes.read_text() if a.notes is not None and a.notes.is_file() else old.get("notes", "")
    results = {"machine": f"{platform.machine()}, Python {platform.python_version()}, 2 shared CPU cores",
               "paper_budget": PAPER_BUDGET, "envs": {k: envs[k] for k in ENVS if k in envs}, "notes": notes}
    page = render(results)
    results["tables"] = markdown_tables(page)  # the page's cells, checked by experiments/results_tables.py
    atomic_write_json(path, results)
    atomic_write_text(a.results, page)


if __name__ == "__main__":
    raise SystemExit(main())
