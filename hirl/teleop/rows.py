"""Interventions -> training rows, aggregated with the original demonstrations at a fixed ratio, and the fine-tune
of the level each kind trains. Language corrections train the high level only; teleoperated takeovers (HG-DAgger,
hirl.teleop.takeover) train the low level only. Reuses the adapt stage's row builder and the one trainer
(hirl.learn.imitation.train_component).

Rows per journaled correction c (state o_c and its context o_{c-K..c-1} of the same subgoal segment), each
labelled with the corrected skill:
    prev = the subgoal before the segment began   (the memory the high level had when it made the mistake)
    prev = the subgoal active when corrected       (the memory it has if re-asked now)
the high_language sampler adds the (prev = skill -> skill) "keep going" pair of every row itself.

Rows per journaled takeover segment: every (o_t, a_t) the person gave, goal = the skill the segment performs
(low-level rows, the action label is the person's action)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hirl.data.tables import StepTables, TextTables, concat_tables, text_tables
from hirl.encoders.text import TextEncoder
from hirl.learn.adapt import LabelledStep, labelled_tables
from hirl.learn.components import imitation_component
from hirl.learn.imitation import train_component
from hirl.learn.trainer import TrainerConfig
from hirl.runs import RunDir
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.policies.obs import obs_vector
from hirl.teleop.config import FinetuneSpec
from hirl.types import Subgoal

HIGH = "high_language"  # the component language corrections train
LOW = "low_language"  # the component takeovers train


def _goal(text: str | None) -> Subgoal | None:
    return None if not text else Subgoal("language", text, "human")


def correction_steps(records: Sequence[Mapping[str, Any]], obs_keys: tuple[str, ...], action_dim: int) -> list[LabelledStep]:
    """Journal records -> LabelledSteps (expert_goal = the corrected skill; no action labels: zeros (A,))."""
    steps: list[LabelledStep] = []
    zero = np.zeros(action_dim, np.float32)
    for r in records:
        if list(r.get("obs_keys", obs_keys)) != list(obs_keys):
            raise ValueError(f"correction recorded with obs_keys {r.get('obs_keys')}, the high level reads {list(obs_keys)}")
        obs = [np.asarray(v, np.float32) for v in r.get("context", [])]
        o = r["obs"]
        obs.append(obs_vector({k: np.asarray(v) for k, v in o.items()} if isinstance(o, dict) else np.asarray(o), obs_keys))
        skill = _goal(str(r["skill"]))
        assert skill is not None
        memories = {r.get("previous"), r.get("proposed")}
        for x in obs:
            for memory in memories:
                steps.append(LabelledStep(obs=x, command=str(r["command"]), emitted=skill, previous=_goal(memory),
                                          expert_goal=skill, expert_action=zero))
    return steps


def aggregate(original: StepTables, extra: StepTables, ratio: float) -> StepTables:
    """original + extra repeated so that extra makes up about `ratio` of the rows (at least once)."""
    n, m = len(original.obs), len(extra.obs)
    if m == 0:
        return original
    reps = max(1, round(ratio / (1.0 - ratio) * n / m))
    repeated, block, left = None, extra, reps
    while left:  # extra repeated `reps` times by doubling
        if left & 1:
            repeated = block if repeated is None else concat_tables(repeated, block)
        left >>= 1
        if left:
            block = concat_tables(block, block)
    assert repeated is not None
    return concat_tables(original, repeated)


def correction_tables(records: Sequence[Mapping[str, Any]], train: StepTables, obs_keys: tuple[str, ...]) -> StepTables:
    """High-level rows of the corrections over train's vocabulary (skills outside it are dropped)."""
    steps = correction_steps(records, obs_keys, train.action.shape[1])
    return labelled_tables(steps, train.vocab, train.goal_state.shape[1], "language")[1]


def takeover_steps(records: Sequence[Mapping[str, Any]], obs_keys: tuple[str, ...]) -> list[LabelledStep]:
    """Takeover journal records -> LabelledSteps (emitted = the segment's skill, expert_action = the person's action)."""
    steps: list[LabelledStep] = []
    for r in records:
        if list(r.get("obs_keys", obs_keys)) != list(obs_keys):
            raise ValueError(f"takeover recorded with obs_keys {r.get('obs_keys')}, the low level reads {list(obs_keys)}")
        skill = _goal(str(r["skill"]))
        assert skill is not None
        for o, a in zip(r["obs"], r["actions"], strict=True):
            steps.append(LabelledStep(obs=np.asarray(o, np.float32), command=str(r["command"]), emitted=skill,
                                      previous=None, expert_goal=skill, expert_action=np.asarray(a, np.float32)))
    return steps


def takeover_tables(records: Sequence[Mapping[str, Any]], train: StepTables, obs_keys: tuple[str, ...]) -> StepTables:
    """Low-level rows of the takeovers over train's vocabulary (a skill outside it gets no goal label: dropped)."""
    known = set(train.vocab)
    steps = [s for s in takeover_steps(records, obs_keys) if str(s.emitted.value) in known]
    return labelled_tables(steps, train.vocab, train.goal_state.shape[1], "language")[0]


def finetune_high(session_dir: Path, extra: StepTables, train: tuple[StepTables, TextTables], encoder: TextEncoder,
                  spec: FinetuneSpec, base: TrainerConfig, stage: str) -> dict[str, Any]:
    """Fine-tune SESSION/models/adapted/high_language from its current weights on train + extra (ratio spec.ratio)
    with the one Trainer; saves it back. Returns the fit summary plus row counts."""
    return finetune(HIGH, session_dir, extra, train, encoder, spec.ratio, spec.steps, spec, base, stage)


def finetune_low(session_dir: Path, extra: StepTables, train: tuple[StepTables, TextTables], encoder: TextEncoder,
                 spec: FinetuneSpec, base: TrainerConfig, stage: str) -> dict[str, Any]:
    """The same for SESSION/models/adapted/low_language on takeover rows (ratio spec.low_ratio, spec.low_steps)."""
    return finetune(LOW, session_dir, extra, train, encoder, spec.low_ratio, spec.low_steps, spec, base, stage)


def finetune(name: str, session_dir: Path, extra: StepTables, train: tuple[StepTables, TextTables], encoder: TextEncoder,
             ratio: float, steps: int, spec: FinetuneSpec, base: TrainerConfig, stage: str) -> dict[str, Any]:
    """Fine-tune the session's adapted component `name` on train + extra (extra about `ratio` of the rows)."""
    merged = aggregate(train[0], extra, ratio)
    budget = replace(base, max_steps=steps, lr=spec.lr, batch_size=spec.batch_size, lr_schedule="constant",
                     lr_warmup_steps=0, early_stopping_patience=None, progress=False, tensorboard=False, torch_threads=1)
    component = imitation_component(name)
    net = component.load(RunDir(session_dir).model_dir(name, adapted=True))
    net.train()
    tables = text_tables(merged, encoder, MAX_SUBTASKS)
    # no validation on the demonstrations: best-on-demos would prefer the weights before the corrections
    fit = train_component(component, net, (merged, tables), None, budget, RunDir(session_dir), stage=stage)
    fit.update(original_rows=len(train[0].obs), correction_rows=len(extra.obs), merged_rows=len(merged.obs))
    return fit
