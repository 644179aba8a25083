"""`hirl train CONFIG [key=value ...] [--out RUN]`: train a run directory from a config of any run kind
(imitation, or one RL stage with `kind: rl`, see docs/rl.md). One CLI, one config loader, one path.

`hirl train RUN [key=value ...]` resumes the run directory RUN from its checkpoints (its own config.yaml, with the
overrides applied: a larger budget trains further); a finished run says so and what to type next.

The config and its env are checked before anything is written; hirl.cli locks RUN for the whole run
(default RUN: runs/<config>-<time>; RUN itself when resuming, hirl.commands.arguments)."""
from __future__ import annotations

import argparse
from pathlib import Path

from hirl.commands.arguments import check_run_config
from hirl.runs import RunDir, config_kind, run_kind


def run(args: argparse.Namespace) -> int:
    if Path(args.config).is_dir():
        return resume(RunDir(args.config), args.overrides)
    kind = run_kind(config_kind(args.config))
    cfg = kind.read_config(args.config, args.overrides)
    check_run_config(cfg, args.config, args.overrides, kind)
    run_dir = RunDir(args.out)
    print(kind.describe(cfg, kind.train(cfg, run_dir), run_dir))
    return 0


def resume(run_dir: RunDir, overrides: list[str]) -> int:
    """Continue the training of run_dir (its config.yaml + overrides) from its checkpoints; a run whose training
    finished (and no overrides) gets one line saying what to type instead."""
    kind = run_kind(run_dir.require().kind())
    cfg = kind.load_config(run_dir, overrides)
    if not overrides and kind.trained(cfg, run_dir):
        longer = " ".join(kind.longer(cfg))
        further = f"; to train further: hirl train {run_dir.path} {longer}" if longer else ""
        print(f"{run_dir.path}: training is complete; evaluate it with: hirl eval {run_dir.path}{further}")
        return 0
    check_run_config(cfg, run_dir.config_path, overrides, kind)
    print(f"resuming {run_dir.path} from its checkpoints (config: {run_dir.config_path})", flush=True)
    print(kind.describe(cfg, kind.train(cfg, run_dir), run_dir))
    return 0
