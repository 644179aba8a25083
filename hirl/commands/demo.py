"""`hirl demo [--out DIR] [--config YAML] [key=value ...]`: the main job on the embedded default.

Tabletop, end to end: collect a small expert dataset -> train the hierarchical language policy (goal-conditioned
BC low level + language high level) and the flat baseline on the same demonstrations -> evaluate both, and the
scripted expert as the reference, on the same CALVIN-style 5-subtask chains. Writes

    DIR/report.json   {"policies": {name: {"success_rate", "avg_chain_length", "success_at_length", ...}},
                       "run_dir": DIR/run, "timings_s": {...}, ...}
    DIR/summary.md    the comparison table;  DIR/chain_success.png  success rate at each chain length
    DIR/subtask_success.png  success rate per subtask and agent
    DIR/videos/       per agent its first episode and its first failed one, <agent>_ep<N>_<success|failure>.mp4, with
                      the command, the subtasks ticked off, the active subgoal and the outcome drawn on the frames
    DIR/run/          the run directory (config.yaml, models/, train/ logs with TensorBoard + CSV: losses and
                      rollout success curves)
    DIR/data/         the dataset (reused when present)

The config is a RunConfig (the same schema as `hirl train`); a relative `dataset` path is taken inside DIR. The config
and its env are checked before anything is written; DIR is locked by hirl.cli, DIR/run here, the dataset by collect.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from hirl.commands.arguments import check_run_config
from hirl.configs import embedded
from hirl.eval.evaluate import evaluate_run
from hirl.eval.report import summary_markdown
from hirl.fileio import atomic_write_json, atomic_write_text
from hirl.runs import RunDir, run_kind
from hirl.runs.rundir import FolderLock

EXPERT = "expert"  # the reference agent evaluated beside the trained ones


def run(args: argparse.Namespace) -> int:
    kind = run_kind("imitation")
    source = args.config or embedded("demo.yaml")
    cfg = kind.read_config(source, args.overrides)
    check_run_config(cfg, source, args.overrides)
    out = Path(args.out)
    if not Path(cfg.dataset).is_absolute():
        cfg.dataset = str(out / cfg.dataset)
    run_dir = RunDir(out / "run")
    with FolderLock(run_dir.path, "training run"):
        return _demo(kind, cfg, out, run_dir)


def _demo(kind: Any, cfg: Any, out: Path, run_dir: RunDir) -> int:
    start = time.perf_counter()
    print(f"hirl demo: {cfg.env}, agents {', '.join(cfg.agents)}; dataset {cfg.dataset} "
          f"({cfg.collect.episodes} expert episodes, collected if missing); output {out}", flush=True)
    summary = kind.train(cfg, run_dir)
    trained = time.perf_counter()
    print(f"hirl demo: trained in {trained - start:.0f} s; evaluating on {cfg.eval.episodes} chains", flush=True)
    report = evaluate_run(run_dir, [*kind.default_agents(cfg, run_dir), EXPERT], out=out, cfg=cfg)
    report["timings_s"] = {"collect_and_train": round(trained - start, 1), "evaluate": round(time.perf_counter() - trained, 1),
                           "total": round(time.perf_counter() - start, 1),
                           "components": {k: v["seconds"] for k, v in summary["components"].items()}}
    report["dataset"] = cfg.dataset
    atomic_write_json(out / "report.json", report)
    table = summary_markdown(report)
    atomic_write_text(out / "summary.md",
                      table + f"\nTotal wall time {report['timings_s']['total']:.0f} s. Run: {run_dir.path}\n")
    print(table)
    print(f"report: {out / 'report.json'}  summary: {out / 'summary.md'}  plots: {', '.join(report['plots'])}  "
          f"videos: {out / 'videos'}  TensorBoard: tensorboard --logdir {run_dir.path / 'train'}")
    return 0
