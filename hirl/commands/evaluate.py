"""`hirl eval RUN [--episodes N] [--agents A ...]`: chained evaluation of a trained run, imitation or RL (same
report.json format, summary.md and plot)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hirl.commands.train import is_rl_config
from hirl.config import load_config
from hirl.errors import InputError
from hirl.eval.evaluate import evaluate_run, summary_markdown
from hirl.fileio import atomic_write_text


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run)
    if not (run_dir / "config.yaml").is_file():
        raise InputError(f"{run_dir}: not a run directory (no config.yaml); train one with: hirl train CONFIG --out {run_dir}")
    out = Path(args.out) if args.out else run_dir / "eval"
    report: dict[str, Any]
    if is_rl_config(run_dir / "config.yaml"):
        from hirl.eval.evaluate import plot_report
        from hirl.rl.evaluate import evaluate_rl_run

        report = evaluate_rl_run(run_dir, args.episodes, args.agents, out, args.overrides)
        plot_report(report, out / "chain_success.png")
    else:
        from hirl.learn.run_config import RunConfig

        cfg = load_config(RunConfig, run_dir / "config.yaml", args.overrides)
        report = evaluate_run(run_dir, cfg, episodes=args.episodes, agents=args.agents or None, out=out)
    atomic_write_text(out / "summary.md", summary_markdown(report))
    print(summary_markdown(report))
    print(f"report: {out / 'report.json'}")
    return 0
