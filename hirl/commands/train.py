"""`hirl train CONFIG [key=value ...] [--out RUN]`: train a run directory from a config of any run kind
(imitation, or one RL stage with `kind: rl`, see docs/rl.md). One CLI, one config loader, one path."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from hirl.runs import RunDir, config_kind, run_kind


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    kind = run_kind(config_kind(args.config))
    cfg = kind.read_config(args.config, args.overrides)
    run_dir = RunDir(out)
    print(kind.describe(cfg, kind.train(cfg, run_dir), run_dir))
    return 0
