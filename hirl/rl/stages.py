"""Every RL stage, registered (importing this module registers them all), and train_rl: look the config's stage
up in hirl.rl.stage.STAGES and run it. The stages: hirl.rl.stage_setup (low, high, adapt, flat, language: the
env-stepping ones, trained by hirl.rl.trainer) and hirl.rl.plan_stage (plan: no env steps)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hirl.rl import plan_stage, stage_setup  # noqa: F401  (importing them registers plan; low, high, adapt, flat, language)
from hirl.rl.config import RLRunConfig
from hirl.rl.stage import STAGES
from hirl.runs import RunDir
from hirl.runs.rundir import as_run_dir


def stage_names() -> list[str]:
    """The names `stage:` may take in an RL config (every registered stage), sorted."""
    return STAGES.names()


def train_rl(cfg: RLRunConfig, run: str | Path | RunDir) -> dict[str, Any]:
    """Train the stage cfg.stage into the run directory (resumes an interrupted stage); returns the stage summary."""
    return STAGES.build(cfg.stage).train(cfg, as_run_dir(run))
