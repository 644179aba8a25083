"""train_rl: look the config's stage up in hirl.rl.stage.STAGES and run it. The stages: hirl.rl.stage_setup (low,
high, adapt, flat, language: the env-stepping ones, trained by hirl.rl.trainer) and hirl.rl.plan_stage (plan: no env
steps), declared by name in STAGES and imported when looked up."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hirl.config import FieldError
from hirl.errors import InputError
from hirl.rl.config import RLRunConfig, validate
from hirl.rl.stage import STAGES
from hirl.runs import RunDir
from hirl.runs.rundir import as_run_dir


def train_rl(cfg: RLRunConfig, run: str | Path | RunDir) -> dict[str, Any]:
    """Train the stage cfg.stage into the run directory (resumes an interrupted stage); returns the stage summary."""
    try:
        validate(cfg)
    except FieldError as exc:
        raise InputError(f"key '{exc.field}': {exc.problem}") from None
    return STAGES.build(cfg.stage).train(cfg, as_run_dir(run))
