"""The recipe of fine-tuning on a session's interventions (hirl.learn.corrections), YAML via hirl.config.load_config:
the `finetune:` section of correction sessions and of the correction loop. Kept apart from the fine-tune itself so
that reading a config imports no training code."""
from __future__ import annotations

from dataclasses import dataclass

from hirl.config import FieldError, at_least, in_range

MODES = ("continue", "aggregate")  # FinetuneSpec.mode
REDO_KIND = "redo"  # a journal record's kind when it corrected to a subtask the world undid (what makes redo rows)


@dataclass(frozen=True)
class FinetuneSpec:
    """How the levels learn from a session's interventions: the high level from language corrections (the recipe of
    the module docstring), the low level from takeovers. Measured: experiments/tabletop/CORRECTIONS-ablation.md and
    CORRECTIONS-shift-redo.md (the redo rows); the rest follows the published recipes it draws on."""

    mode: str = "continue"  # continue: fine-tune the current high level | aggregate: retrain it from scratch on all rows
    steps: int = 200  # optimizer steps of a continue fine-tune (aggregate: the run's train.high.max_steps)
    lr: float = 1e-4  # constant learning rate of a continue fine-tune (YAY Robot's); aggregate: the run's train.high
    batch_size: int = 256  # rows per optimizer step
    max_share: float = 0.1  # largest share of a batch from corrected states + windows (YAY Robot's 10 %)
    share_states: int = 500  # k: the correction share is min(max_share, distinct corrected states / k) (22: 4.4 %)
    context_steps: int = 10  # K: states before a correction (same subgoal segment) journaled and relabelled (window)
    w_corr: float = 1.0  # loss weight of a corrected state's rows
    w_window: float = 0.5  # loss weight of the window rows (relabelled: less sure than the state corrected; 0: unused)
    w_approved: float = 0.5  # loss weight of the approved decisions' rows (0: unused)
    w_demo: float = 1.0  # loss weight of the demonstrations' rows
    # loss weight of the redo rows: every demonstration state of a skill a redo correction (kind "redo": the world
    # undid the subtask due) asked for that does not show it done, its memory a later subtask that left the skill's
    # effect standing (the lesson beyond the corrected state); 0: unused
    w_redo: float = 1.0
    redo_ahead: int = 0  # a redo row's memory: a subtask at most this many after the redone one (0: any later one)
    holdout: float = 0.2  # share of corrected episodes kept out to choose the checkpoint (0: none, the last is kept)
    select_every: int = 25  # steps between the checkpoints held-out selection compares (plus step 0, the weights before)
    low_ratio: float = 0.2  # fraction of the low level's fine-tuning rows that are takeover rows
    low_steps: int = 400  # optimizer steps per low-level fine-tune (only when there are takeovers)
    low_lr: float = 3e-4  # constant learning rate of the low-level fine-tune

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise FieldError("mode", f"{self.mode!r} is not one of {', '.join(MODES)}")
        for name in ("max_share", "low_ratio"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise FieldError(name, f"must be in (0, 1), got {getattr(self, name)}")
        for name, minimum in (("low_steps", 1), ("steps", 1), ("batch_size", 2), ("context_steps", 0), ("redo_ahead", 0),
                              ("share_states", 1), ("select_every", 1)):
            at_least(name, getattr(self, name), minimum)
        for name in ("lr", "low_lr", "w_corr", "w_demo"):
            if not getattr(self, name) > 0:
                raise FieldError(name, f"must be > 0, got {getattr(self, name)}")
        for name in ("w_window", "w_approved", "w_redo"):
            at_least(name, getattr(self, name), 0.0)
        in_range("holdout", self.holdout, 0.0, 0.5)
