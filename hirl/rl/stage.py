"""The RL stage interface and its registry: `stage: <name>` in an RL config names a registered Stage.

    @STAGES.register("mine")                   # a plugin's stage (the built-ins are declared by name below)
    class MyStage(LearnerStage): ...           # an env-stepping stage: setup() builds its StageSetup (hirl.rl.trainer)

    summary = STAGES.build(cfg.stage).train(cfg, run)

The built-in stages are declared below by name ("module:attr", imported when the stage is first looked up, so this
module and hirl.rl.config import none of them); a plugin's stage is one decorated class. Each comes with its config
section; `output` names the component it trains (hirl.rl.components), saved in RUN/models/<output>/
(RUN/models/adapted/<output>/ when `adapted`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch

from hirl.config import save_config
from hirl.registry import Registry
from hirl.runs import RunDir


class Stage(ABC):
    """One stage of an RL run directory: train(cfg, run_dir) trains (or builds) its model into run_dir and returns
    the stage summary {stage, env_steps, train_seconds, env_steps_per_s, final_success_rate, curve, model, ...}.

    output    the component the stage trains (RUN/models/<output>/); adapted: saved under RUN/models/adapted/"""

    output: str = ""
    adapted: bool = False

    @abstractmethod
    def train(self, cfg: Any, run: RunDir) -> dict[str, Any]:
        """Train stage cfg.stage into the run directory (an RLRunConfig cfg); returns the summary also written to
        RUN/train/<stage>/summary.json."""

    def output_dir(self, run: RunDir) -> Path:
        """Where the stage's trained component is saved."""
        return run.model_dir(self.output, self.adapted)

    @staticmethod
    def start(cfg: Any, run: RunDir) -> None:
        """What every stage does first: one torch thread, and cfg saved as RUN/train/<stage>/config.yaml and
        RUN/config.yaml (the last stage's config is what `hirl eval RUN` reads)."""
        torch.set_num_threads(1)
        save_config(cfg, run.stage_config_path(cfg.stage))
        save_config(cfg, run.config_path)
        run.stage_summary_path(cfg.stage).unlink(missing_ok=True)  # written again when the stage finishes


# `stage:` name -> Stage class (built without arguments)
STAGES: Registry[Stage] = Registry("RL stage", lazy={
    "low": "hirl.rl.stage_setup:LowStage",
    "high": "hirl.rl.stage_setup:HighStage",
    "adapt": "hirl.rl.stage_setup:AdaptStage",
    "flat": "hirl.rl.stage_setup:FlatStage",
    "language": "hirl.rl.stage_setup:LanguageStage",
    "plan": "hirl.rl.plan_stage:PlanStage",
})
