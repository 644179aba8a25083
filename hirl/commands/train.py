"""`hirl train CONFIG [key=value ...] [--out RUN]`: train the configured agents into a run directory."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from hirl.config import load_config
from hirl.learn.run import train_run
from hirl.learn.run_config import RunConfig


def run(args: argparse.Namespace) -> int:
    cfg = load_config(RunConfig, args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    summary = train_run(cfg, out)
    print(f"run directory: {out}  ({summary['seconds']} s); evaluate with: hirl eval {out}")
    return 0
