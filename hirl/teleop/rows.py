"""Corrections -> high-level training rows, aggregated with the original demonstrations at a fixed ratio, and
the high-level fine-tune (the low level is never touched). Reuses the adapt stage's row builder and the one
trainer (hirl.learn.imitation.train_component).

Rows per journaled correction c (state o_c and its context o_{c-K..c-1} of the same subgoal segment), each
labelled with the corrected skill:
    prev = the subgoal before the segment began   (the memory the high level had when it made the mistake)
    prev = the subgoal active when corrected       (the memory it has if re-asked now)
sampler_for("high_language") adds the (prev = skill -> skill) "keep going" pair of every row itself."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from hirl.learn.adapt import LabelledStep, labelled_tables
from hirl.learn.imitation import load_network, model_dir, train_component
from hirl.learn.imitation_data import StepTables, TextTables, concat_tables, text_tables
from hirl.learn.trainer import TrainerConfig
from hirl.policies.features import MAX_SUBTASKS, obs_vector
from hirl.teleop.config import FinetuneSpec
from hirl.types import Subgoal

HIGH = "high_language"  # the component corrections train


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
    reps = max(1, int(round(ratio / (1.0 - ratio) * n / m)))
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


def finetune_high(session_dir: Path, extra: StepTables, train: tuple[StepTables, TextTables], encoder: Any,
                  spec: FinetuneSpec, base: TrainerConfig, stage: str) -> dict[str, Any]:
    """Fine-tune SESSION/models/adapted/high_language from its current weights on train + extra (ratio spec.ratio)
    with the one Trainer; saves it back. Returns the fit summary plus row counts."""
    merged = aggregate(train[0], extra, spec.ratio)
    budget = replace(base, max_steps=spec.steps, lr=spec.lr, batch_size=spec.batch_size, lr_schedule="constant",
                     lr_warmup_steps=0, early_stopping_patience=None, progress=False, tensorboard=False, torch_threads=1)
    net = load_network(HIGH, model_dir(session_dir, HIGH, adapted=True))
    net.train()
    tables = text_tables(merged, encoder, MAX_SUBTASKS)
    # no validation on the demonstrations: best-on-demos would prefer the weights before the corrections
    fit = train_component(HIGH, net, (merged, tables), None, budget, session_dir, stage=stage)
    fit.update(original_rows=int(len(train[0].obs)), correction_rows=int(len(extra.obs)), merged_rows=int(len(merged.obs)))
    return fit


def remap_vocab(t: StepTables, vocab: list[str]) -> StepTables:
    """t re-indexed over another vocabulary; rows whose subgoal is outside it are dropped (previous subgoals
    outside it become NO_INDEX). For comparing corrections with extra demonstrations on the same high level."""
    from hirl.learn.imitation_data import NO_INDEX

    index = np.array([vocab.index(v) if v in vocab else NO_INDEX for v in t.vocab] + [NO_INDEX], np.int64)
    label, prev = index[t.label], index[t.prev_label]  # NO_INDEX (-1) picks the trailing NO_INDEX entry
    keep = label != NO_INDEX
    return replace(t, obs=t.obs[keep], action=t.action[keep], label=label[keep], prev_label=prev[keep],
                   command=t.command[keep], goal_state=t.goal_state[keep], prev_goal_state=t.prev_goal_state[keep],
                   end_frame=np.full(int(keep.sum()), NO_INDEX, np.int64), vocab=list(vocab), frames=None,
                   frame_row=np.zeros(0, np.int64), frame_label=np.zeros(0, np.int64),
                   frame_prev_label=np.zeros(0, np.int64), frame_command=np.zeros(0, np.int64),
                   frame_end=np.zeros(0, np.int64))
