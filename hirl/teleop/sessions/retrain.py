"""The fine-tunes after a correction session or a round of the correction loop: which rows each level of the corrected
agent learns from, by the subgoal kind of its levels (hirl.learn.corrections.correctable_levels).

    language  typed corrections -> the high level (hirl.learn.corrections.high_rows), takeovers -> the low level
              (takeover_tables); each kind of intervention trains only its own level
    state     takeovers -> both levels, relabelled with the goal each one reached (hirl.learn.corrections_state);
              a typed correction cannot label a goal state, so sessions refuse it when it is typed (typed_refusal)"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hirl.data.dataset import Dataset
from hirl.data.tables import StepTables, TextTables
from hirl.encoders.text import TextEncoder
from hirl.errors import InputError
from hirl.learn.corrections import correctable_levels, finetune_high, finetune_low, high_rows, takeover_tables
from hirl.learn.corrections_config import FinetuneSpec
from hirl.learn.corrections_state import state_high_rows, state_low_tables
from hirl.learn.run_config import RunConfig

Records = Sequence[Mapping[str, Any]]  # live journal records (corrections.jsonl or takeovers.jsonl)


def typed_refusal(agent: str, kind: str) -> str:
    """Why a typed correction is refused for an agent whose high level proposes `kind` goals (not language)."""
    return (f"typed corrections need a language high level: agent {agent!r} proposes {kind} goals, which a typed skill "
            "cannot label; take over the controls instead (a takeover teaches both levels the goal it reaches)")


def subgoal_kind(agent: str, cfg: RunConfig) -> str:
    """The subgoal kind of the corrected agent's levels ("language" | "state"; InputError when it cannot be
    corrected)."""
    return correctable_levels(agent, cfg.networks)[1].subgoal


def finetune_levels(session: Path, cfg: RunConfig, agent: str, corrections: Records, takeovers: Records,
                    episodes: Dataset | None, train: tuple[StepTables, TextTables],
                    low_train: tuple[StepTables, TextTables], encoder: TextEncoder, spec: FinetuneSpec,
                    stages: tuple[str, str], say: Callable[[str], Any] = lambda _: None) -> dict[str, Any]:
    """Fine-tune SESSION/models/adapted/<the agent's levels> on the live records (see the module docstring); episodes:
    the session's stored episodes (approved rows; a state hierarchy's achieved goals). train: the high level's
    demonstrations, low_train the low level's. stages: the trainer stage names of the high and the low fine-tune (a
    killed fine-tune resumes from its stage's checkpoint). say(text): progress. Returns {"high": fit, "low": fit},
    each present when that level was trained."""
    keys = tuple(cfg.obs_keys)
    kind = subgoal_kind(agent, cfg)
    fits: dict[str, Any] = {}
    if kind == "language":
        if corrections:
            say(f"fine-tuning the high level on {len(corrections)} corrections")
            rows = high_rows(corrections, episodes, train[0], keys, spec)
            fits["high"] = finetune_high(session, cfg, agent, rows, train, encoder, spec, stages[0])
        if takeovers:
            say(f"fine-tuning the low level on {len(takeovers)} takeovers")
            extra = takeover_tables(takeovers, low_train[0], keys)
            fits["low"] = finetune_low(session, cfg, agent, extra, low_train, encoder, spec, stages[1])
        return fits
    if corrections:  # never accepted for this agent: a journal written by hand or by another tool
        raise InputError(f"{session}: holds {len(corrections)} typed corrections; {typed_refusal(agent, kind)}")
    if takeovers:
        say(f"fine-tuning both levels on {len(takeovers)} takeovers (relabelled with the goals they reached)")
        rows = state_high_rows(takeovers, episodes, train[0], keys, spec)
        if rows.corrected is None and rows.heldout is None:  # no takeover of a stored episode: nothing to learn
            return {"note": f"none of the {len(takeovers)} takeovers is in a stored episode: nothing was trained"}
        fits["high"] = finetune_high(session, cfg, agent, rows, train, encoder, spec, stages[0])
        extra = state_low_tables(takeovers, episodes, low_train[0], keys)
        fits["low"] = finetune_low(session, cfg, agent, extra, low_train, encoder, spec, stages[1])
    return fits
