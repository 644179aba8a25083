"""`hirl train CONFIG [key=value ...] [--out RUN]`: train the configured agents (imitation) or one RL stage
(a config with `kind: rl`, see docs/rl.md) into a run directory. One CLI, one config loader for both."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from hirl.config import load_config, read_yaml


def is_rl_config(path: str | Path) -> bool:
    """True when the YAML file at path says `kind: rl` (InputError naming the file if it cannot be read)."""
    return read_yaml(path).get("kind") == "rl"


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    if is_rl_config(args.config):
        from hirl.rl.config import RLRunConfig
        from hirl.rl.stages import train_rl

        rl_cfg = load_config(RLRunConfig, args.config, args.overrides)
        summary = train_rl(rl_cfg, out)
        print(f"stage {rl_cfg.stage}: {summary['env_steps']} env steps, final success {summary['final_success_rate']:.3f}, "
              f"{summary['env_steps_per_s']} env steps/s; run directory: {out}; evaluate with: hirl eval {out}")
        return 0
    from hirl.learn.run import train_run
    from hirl.learn.run_config import RunConfig

    summary = train_run(load_config(RunConfig, args.config, args.overrides), out)
    print(f"run directory: {out}  ({summary['seconds']} s); evaluate with: hirl eval {out}")
    return 0
