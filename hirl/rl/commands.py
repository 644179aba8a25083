"""`hirl train` / `hirl eval` entry points that send RL configs/runs (`kind: rl`) to hirl.rl and everything else
to the imitation commands, so there is one CLI and one config loader (hirl.config) for both."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from hirl.config import load_config, read_yaml


def is_rl_config(path: str | Path) -> bool:
    """True when the YAML file at path says `kind: rl` (InputError naming the file if it cannot be read)."""
    return read_yaml(path).get("kind") == "rl"


def train(args: argparse.Namespace) -> int:
    if not is_rl_config(args.config):
        from hirl.commands.train import run

        return run(args)
    from hirl.rl.config import RLRunConfig
    from hirl.rl.stages import train_rl

    cfg = load_config(RLRunConfig, args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    summary = train_rl(cfg, out)
    print(f"stage {cfg.stage}: {summary['env_steps']} env steps, final success {summary['final_success_rate']:.3f}, "
          f"{summary['env_steps_per_s']} env steps/s; run directory: {out}; evaluate with: hirl eval {out}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    run_dir = Path(args.run)
    if not (run_dir / "config.yaml").is_file() or not is_rl_config(run_dir / "config.yaml"):
        from hirl.commands.evaluate import run

        return run(args)
    from hirl.eval.evaluate import plot_report, summary_markdown
    from hirl.fileio import atomic_write_text
    from hirl.rl.evaluate import evaluate_rl_run

    out = Path(args.out) if args.out else run_dir / "eval"
    report = evaluate_rl_run(run_dir, args.episodes, args.agents, out, args.overrides)
    atomic_write_text(out / "summary.md", summary_markdown(report))
    plot_report(report, out / "chain_success.png")
    print(summary_markdown(report))
    print(f"report: {out / 'report.json'}")
    return 0
