"""`hirl train CONFIG [key=value ...] [--out RUN]`: train a run directory from a config of any run kind
(imitation, or one RL stage with `kind: rl`, see docs/rl.md). One CLI, one config loader, one path.

The config and its env are checked before anything is written; hirl.cli locks RUN for the whole run
(default RUN: runs/<config>-<time>, hirl.commands.arguments)."""
from __future__ import annotations

import argparse

from hirl.commands.arguments import check_run_config
from hirl.runs import RunDir, config_kind, run_kind


def run(args: argparse.Namespace) -> int:
    kind = run_kind(config_kind(args.config))
    cfg = kind.read_config(args.config, args.overrides)
    check_run_config(cfg, args.config, args.overrides, kind)
    run_dir = RunDir(args.out)
    print(kind.describe(cfg, kind.train(cfg, run_dir), run_dir))
    return 0
