"""Fine-tuning a hierarchy on the interventions of a correction session (DAgger with a person as the expert), beside
the adapt stage (hirl.learn.adapt: DAgger with the scripted expert). In a language hierarchy, language corrections
train the high level only and teleoperated takeovers (HG-DAgger) the low level only. Rows go through the adapt
stage's row builder (labelled_tables, over the one table builder); training through the one trainer
(train_component). The levels are the components of the corrected agent (hirl.learn.adapt.levels), not fixed names:
any two-level learned hierarchy whose levels use language subgoals (this module's recipe) or state subgoals (its
takeovers relabelled in hindsight: hirl.learn.corrections_state) can be corrected (correctable_levels).

The high level's recipe (FinetuneSpec). Row families, each with its own weight in the loss (batch entry "weight"):
    corrected  each journaled correction's state o_c, labelled with the corrected (matched) skill          w_corr
    window     the up-to-K (context_steps) states before it in the same subgoal segment, relabelled with   w_window
               the corrected skill (OLAF: the robot was already heading wrong just before the person acted)
    approved   every step of a segment the high level proposed itself and the person let run without a   w_approved
               correction (its own proposal is the label; Sirius keeps the robot's approved segments)
    redo       for every skill a redo correction asked for (journaled kind "redo": the subtask due was one   w_redo
               the world undid, and the high level had moved on to a later one of the chain): every
               demonstration state of that skill that does not show it done yet,
               its memory a later subtask of the chain that left the skill's effect standing
               (hirl.learn.imitation_data.effect_holds), so one "open the drawer" again teaches the redo in
               every chain, not in the corrected state alone
    demos      the run's demonstrations                                                                    w_demo
Correction and window rows are made with two memories: the subgoal before the wrong segment (the memory the high
level had when it made the mistake) and the one active when corrected; the high level's sampler adds the
(prev = skill -> skill) "keep going" pair of every row itself (hirl.learn.imitation_data.prev_subgoal_pairs).

Mixing: corrected + window rows make up share = min(max_share, distinct corrected states / share_states) of every
batch (drawn uniformly from them), demos + approved + redo rows the rest (redo rows are demonstration states), so a
few corrections are not repeated into a large fixed share. mode continue: fine-tune the current high level from its
weights (steps, constant lr); mode aggregate: train a fresh network on all the rows with the run's own high-level budget.
Held-out selection: every round(1 / holdout)-th corrected episode (in episode order, so an episode stays held out
as rounds add episodes) is kept out of every family; of the weights before the fine-tune (step 0) and the
checkpoints evaluated every select_every steps, the ones with the lowest loss on the held-out corrected states are
kept: the weights before are kept when no checkpoint beats them.

Takeover rows: every (o_t, a_t) the person gave, goal = the skill the segment performs (the action label is the
person's), about low_ratio of the rows next to the low level's demonstrations (repeated to reach it)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from hirl.data.dataset import Dataset
from hirl.data.episode import Episode
from hirl.data.tables import (StepTables, TextTables, build_tables, concat_tables, held_out_episodes, remap_vocab,
                              select_rows, tables_from_rows, text_tables)
from hirl.encoders.commands import MAX_SUBTASKS, command_subtasks
from hirl.encoders.text import TextEncoder
from hirl.errors import InputError
from hirl.learn.adapt import LabelledStep, labelled_tables, levels
from hirl.learn.components import Ahead, ImitationComponent, head_of
from hirl.learn.corrections_config import REDO_KIND, FinetuneSpec
from hirl.learn.imitation import train_component, validation_batches
from hirl.learn.imitation_data import Family, MixedSampler, later_subtask_pairs
from hirl.learn.run_config import RunConfig
from hirl.learn.trainer import TrainerConfig, mean_metrics
from hirl.policies.module import PolicyModule
from hirl.policies.obs import obs_vector
from hirl.runs import RunDir
from hirl.types import Subgoal

AGGREGATE_DEMO_HOLDOUT = 50  # mode aggregate: every 50th demonstration episode joins the held-out selection rows
OVERRIDE = "override"  # the subgoal reason of a step where a correction switched the subgoal (HierarchicalAgent)
POLICY = "policy"  # the subgoal source of the high level's own proposals


# ---------------------------------------------------------------------------------------------------- the levels
KINDS = ("language", "state")  # the subgoal kinds whose hierarchies can learn from a session's interventions


def hierarchy_levels(agent: str) -> tuple[ImitationComponent, ImitationComponent]:
    """(low level, high level) components of the corrected agent; InputError when it is not a learned hierarchy."""
    try:
        pair = levels(agent)
    except (KeyError, ValueError):  # an unknown agent, or one with a component not trained by imitation (RL)
        pair = None
    if pair is None:
        raise InputError(f"corrections: agent {agent!r} is not a two-level learned hierarchy; only such an agent's "
                         "levels can be fine-tuned on interventions")
    return pair


def correctable_levels(agent: str, networks: Mapping[str, Mapping[str, Any]] | None = None
                       ) -> tuple[ImitationComponent, ImitationComponent]:
    """(low level, high level) of an agent a session can correct: a learned two-level hierarchy whose levels both
    use language subgoals or both state subgoals, each trained on the goal its segment ends in (not one k steps
    ahead, the *_ahead components, whose relabelled goal a takeover's end is not). networks: the run config's
    `networks:` section (a state high level reading the chain's progress is refused: rows from a session carry no
    progress). InputError (one line) otherwise."""
    low, high = hierarchy_levels(agent)
    if low.subgoal != high.subgoal or high.subgoal not in KINDS:
        raise InputError(f"corrections: agent {agent!r} uses {high.subgoal} subgoals ({high.name}, {low.name}); "
                         f"a session's interventions can label only {' or '.join(KINDS)} subgoals")
    for level in (low, high):
        fields = dict((networks or {}).get(level.name, {}))
        if isinstance(level, Ahead):
            raise InputError(f"corrections: agent {agent!r}'s {level.role} level {level.name!r} aims "
                             "subgoals.horizon steps ahead; a takeover relabels the goal at its end, which it is not "
                             "trained on, so it cannot be fine-tuned on interventions")
        if fields.get("progress", getattr(level, "progress", False)) is True:
            raise InputError(f"corrections: agent {agent!r}'s {level.role} level {level.name!r} reads the chain's "
                             f"progress (networks.{level.name}.progress), which rows from a session do not carry")
    return low, high


# ----------------------------------------------------------------------------------------------- correction rows
def _goal(text: str | None) -> Subgoal | None:
    return None if not text else Subgoal("language", text, "human")


def check_keys(record: Mapping[str, Any], obs_keys: tuple[str, ...], what: str) -> None:
    """InputError when a journal record was recorded with other obs_keys than the level reads."""
    if list(record.get("obs_keys", obs_keys)) != list(obs_keys):
        raise InputError(f"{what} {record.get('id', '?')}: recorded with obs_keys {record.get('obs_keys')}, "
                         f"the level reads {list(obs_keys)}")


def _labelled(record: Mapping[str, Any], states: Sequence[np.ndarray], action_dim: int) -> list[LabelledStep]:
    """LabelledSteps of states, each labelled with the record's corrected skill, once per memory (the subgoal before
    the wrong segment, the one active when corrected); no action labels (zeros (A,))."""
    skill = _goal(str(record["skill"]))
    assert skill is not None
    zero = np.zeros(action_dim, np.float32)
    memories = dict.fromkeys([record.get("previous"), record.get("proposed")])
    return [LabelledStep(obs=x, command=str(record["command"]), emitted=skill, previous=_goal(memory),
                         expert_goal=skill, expert_action=zero) for x in states for memory in memories]


def corrected_steps(records: Sequence[Mapping[str, Any]], obs_keys: tuple[str, ...], action_dim: int) -> list[LabelledStep]:
    """The corrected state o_c of every record (S,), labelled with its corrected skill (two memories each)."""
    steps: list[LabelledStep] = []
    for r in records:
        check_keys(r, obs_keys, "correction")
        o = r["obs"]
        state = obs_vector({k: np.asarray(v) for k, v in o.items()} if isinstance(o, dict) else np.asarray(o), obs_keys)
        steps += _labelled(r, [np.asarray(state, np.float32)], action_dim)
    return steps


def window_steps(records: Sequence[Mapping[str, Any]], obs_keys: tuple[str, ...], action_dim: int,
                 k: int) -> list[LabelledStep]:
    """The window of every record: its last k journaled context states (the k control steps just before the
    correction, same subgoal segment; fewer when the segment was shorter or fewer were journaled), relabelled with
    the corrected skill (two memories each). The corrected state itself is not in it."""
    steps: list[LabelledStep] = []
    for r in records:
        check_keys(r, obs_keys, "correction")
        context = list(r.get("context") or [])
        steps += _labelled(r, [np.asarray(v, np.float32) for v in (context[-k:] if k else [])], action_dim)
    return steps


def _episode(record: Mapping[str, Any]) -> int:
    return int(record.get("episode", -1))


def split_holdout(records: Sequence[Mapping[str, Any]], holdout: float) -> tuple[list[Mapping[str, Any]], list[int]]:
    """(the records of the training episodes, the held-out episodes): every round(1 / holdout)-th corrected episode in
    episode order is held out (none while there are fewer; holdout 0: none)."""
    period = round(1.0 / holdout) if holdout > 0 else 0
    episodes = sorted({_episode(r) for r in records})
    held = [e for rank, e in enumerate(episodes) if period and rank % period == period - 1]
    return [r for r in records if _episode(r) not in set(held)], held


def distinct_states(records: Sequence[Mapping[str, Any]]) -> int:
    """Distinct corrected states: (episode, step) pairs (two corrections of one paused state are one state)."""
    return len({(_episode(r), int(r.get("step", i))) for i, r in enumerate(records)})


def correction_share(states: int, spec: FinetuneSpec) -> float:
    """Share of every batch from corrected states + windows: min(max_share, states / share_states)."""
    return min(spec.max_share, states / spec.share_states)


# ------------------------------------------------------------------------------------------------- approved rows
def approved_mask(e: Episode) -> np.ndarray:
    """(T,) bool: the steps of e's segments that the high level proposed (source "policy") and that no correction
    ended (the next segment does not start with an override)."""
    mask = np.zeros(e.T, bool)
    n = len(e.seg_start)
    for j, (start, end) in enumerate(zip(e.seg_start, e.seg_end, strict=True)):
        corrected = j + 1 < n and str(e.subgoal_reason[e.seg_start[j + 1]]) == OVERRIDE
        if str(e.subgoal_source[start]) == POLICY and not corrected:
            mask[start:end] = True
    return mask


def approved_tables(episodes: Dataset, vocab: list[str], obs_keys: tuple[str, ...],
                    exclude: Sequence[int] = ()) -> StepTables | None:
    """High-level rows of the approved steps (approved_mask) of every episode whose index is not in exclude:
    label = the segment's own subgoal, prev = the previous segment's (the one table builder), over vocab (steps of
    a subgoal outside it are dropped). None when no step is approved."""
    keep = [i for i, e in enumerate(episodes.episodes) if e.index not in set(exclude)]
    if not keep:
        return None
    ds = episodes.subset(keep)
    t = build_tables(ds, obs_keys)
    m = np.concatenate([approved_mask(e) for e in ds.episodes])
    if not m.any():
        return None
    picked = tables_from_rows(obs=t.obs[m], action=t.action[m], label=t.label[m], prev_label=t.prev_label[m],
                              command=t.command[m], goal_state=t.goal_state[m], prev_goal_state=t.prev_goal_state[m],
                              vocab=t.vocab, commands=t.commands)
    out = remap_vocab(picked, vocab)
    return out if len(out.obs) else None


# -------------------------------------------------------------------------------------------- the high level's rows
@dataclass
class HighRows:
    """The row families of a high-level fine-tune, over the demonstrations' vocabulary (None: no such rows)."""

    corrected: StepTables | None  # the corrected states of the training episodes
    window: StepTables | None  # the windows before them, relabelled
    approved: StepTables | None  # the approved decisions of the training episodes
    heldout: StepTables | None  # the corrected states of the held-out episodes (checkpoint choice only)
    states: int  # distinct corrected states in training (they set the correction share)
    heldout_episodes: list[int]  # episode indices held out
    redo: StepTables | None = None  # the demonstrations' states of the redone skills, memory ahead (redo_tables)


def _rows(steps: list[LabelledStep], train: StepTables) -> StepTables | None:
    if not steps:
        return None
    t = labelled_tables(steps, train.vocab, train.goal_state.shape[1], "language")[1]
    return t if len(t.obs) else None


def high_rows(records: Sequence[Mapping[str, Any]], episodes: Dataset | None, train: StepTables,
              obs_keys: tuple[str, ...], spec: FinetuneSpec) -> HighRows:
    """The families of the module docstring from live journal records (a correction of a skill outside train's
    vocabulary is dropped: the closed-set high level cannot emit it) and the session's stored episodes (None: no
    approved rows)."""
    known = [r for r in records if str(r["skill"]) in set(train.vocab)]
    fit, held = split_holdout(known, spec.holdout)
    held_records = [r for r in known if _episode(r) in set(held)]
    action_dim = train.action.shape[1]
    approved = (approved_tables(episodes, train.vocab, obs_keys, held)
                if episodes is not None and len(episodes) and spec.w_approved > 0 else None)
    window = _rows(window_steps(fit, obs_keys, action_dim, spec.context_steps), train) if spec.w_window > 0 else None
    return HighRows(corrected=_rows(corrected_steps(fit, obs_keys, action_dim), train), window=window,
                    approved=approved, heldout=_rows(corrected_steps(held_records, obs_keys, action_dim), train),
                    states=distinct_states(fit), heldout_episodes=held,
                    redo=redo_tables(train, redone_skills(fit), spec.redo_ahead) if spec.w_redo > 0 else None)


def redone_skills(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The skills the redo records (kind "redo": the world undid the subtask due, hirl.teleop.sessions.corrector.
    redo_due) corrected to a subtask of their command before the one the high level proposed, in first-seen order.
    A correction to a subtask the high level skipped in an undisturbed world is not a redo: its rows would teach a
    memory it never has there (measured: CORRECTIONS-ablation-noshift.md)."""
    out: list[str] = []
    for r in records:
        if r.get("kind") != REDO_KIND:
            continue
        chain = list(command_subtasks(str(r["command"])))
        skill, proposed = str(r["skill"]), str(r.get("proposed") or "")
        if skill in chain and proposed in chain and chain.index(skill) < len(chain) - 1 - chain[::-1].index(proposed):
            if skill not in out:
                out.append(skill)
    return out


def redo_tables(train: StepTables, skills: Sequence[str], max_ahead: int = 0) -> StepTables | None:
    """High-level rows of every demonstration state of the skills (train's episodes), each with the memory of a later
    subtask of its chain (at most max_ahead later; 0: any) that left the skill's effect standing, labelled with the
    skill (None: no such row)."""
    labels = [train.vocab.index(s) for s in skills if s in train.vocab]
    if not labels:
        return None
    pairs = later_subtask_pairs(train, 1.0, only_effect_holds=True, only_labels=labels, max_ahead=max_ahead)
    n = len(pairs["target"])
    if not n:
        return None
    goal = np.zeros((n, train.goal_state.shape[1]), np.float32)
    return tables_from_rows(obs=pairs["obs"], action=np.zeros((n, train.action.shape[1]), np.float32),
                            label=pairs["target"], prev_label=pairs["prev"], command=pairs["command"],
                            goal_state=goal, prev_goal_state=goal.copy(), vocab=train.vocab, commands=train.commands)


# ---------------------------------------------------------------------------------------- the high-level fine-tune
def _size(t: StepTables | None) -> int:
    return 0 if t is None else len(t.obs)


def high_budget(component: ImitationComponent, cfg: RunConfig, spec: FinetuneSpec) -> TrainerConfig:
    """The trainer budget of the mode: continue = spec.steps at constant spec.lr; aggregate = the run's own budget of
    the component. Both: spec.batch_size, held-out evaluations every select_every steps, no early stopping, no
    rollouts, no progress bar or TensorBoard."""
    run = component.budget(cfg.train)
    if spec.mode == "continue":
        run = replace(run, max_steps=spec.steps, lr=spec.lr, lr_schedule="constant", lr_warmup_steps=0)
    return replace(run, batch_size=spec.batch_size, eval_every=spec.select_every, early_stopping_patience=None,
                   rollout_every=0, progress=False, tensorboard=False, torch_threads=1)


def heldout_metrics(net: PolicyModule, batches: Callable[[], list[dict[str, Any]]]) -> dict[str, float]:
    """{"loss", "acc", ...} of net on the held-out batches (their rows unweighted)."""
    return mean_metrics(net, batches(), cast(Callable[[Any], Any], net.loss))


def finetune_high(session: str | Path, cfg: RunConfig, agent: str, rows: HighRows | None,
                  train: tuple[StepTables, TextTables], encoder: TextEncoder, spec: FinetuneSpec, stage: str,
                  extra_demos: StepTables | None = None) -> dict[str, Any]:
    """Fine-tune (mode continue) or retrain (mode aggregate) SESSION/models/adapted/<agent's high level> on the row
    families (extra_demos: more demonstrations, joining the run's own), weighted and mixed as the module docstring
    says, with the one trainer; keeps the held-out selection's weights there. Returns the fit summary: the trainer's,
    rows per family, the correction share and the held-out selection (base / selected loss and accuracy, step)."""
    component = correctable_levels(agent, cfg.networks)[1]
    run = RunDir(session)
    where = run.model_dir(component.name, adapted=True)
    base = component.load(where)
    demos, demo_text = (train if extra_demos is None
                        else (merged := concat_tables(train[0], extra_demos), text_tables(merged, encoder, MAX_SUBTASKS)))
    rows = rows or HighRows(None, None, None, None, 0, [])
    heldout = rows.heldout
    if spec.mode == "aggregate" and heldout is not None:
        # a fresh network must learn the demonstrations too: chosen on the held-out corrected states alone, an early
        # checkpoint that has learned little wins (measured: step 150 of 4,000). Every AGGREGATE_DEMO_HOLDOUT-th
        # demonstration episode is held out of training and joins the selection rows.
        out = held_out_episodes(demos, AGGREGATE_DEMO_HOLDOUT)
        if out.any():
            heldout, demos = concat_tables(heldout, select_rows(demos, out)), select_rows(demos, ~out)
    tables = {"demos": (demos, spec.w_demo, 1), "approved": (rows.approved, spec.w_approved, 1),
              "corrected": (rows.corrected, spec.w_corr, 0), "window": (rows.window, spec.w_window, 0),
              "redo": (rows.redo, spec.w_redo, 1)}
    used = {name: (t, w, pool) for name, (t, w, pool) in tables.items() if t is not None and len(t.obs) and w > 0}
    net: PolicyModule
    if spec.mode == "aggregate":
        component.configure(cfg)
        component.set_network_fields(cfg.networks.get(component.name, {}))
        merged_all = demos
        for name, (t, _, _) in used.items():
            if name != "demos":
                merged_all = concat_tables(merged_all, t)
        net = component.build(merged_all, text_tables(merged_all, encoder, MAX_SUBTASKS), cfg.text_encoder,
                              tuple(cfg.obs_keys), cfg.head)
    else:
        net = component.load(where)
    net.train()
    head = head_of(net)
    families = [Family(name, component.sampler(t, demo_text if name == "demos" else
                                               text_tables(t, encoder, MAX_SUBTASKS), spec.batch_size, 0.0, head), w, pool)
                for name, (t, w, pool) in used.items()]
    share = correction_share(rows.states, spec) if any(f.pool == 0 for f in families) else 0.0
    sampler = MixedSampler(families, [share, 1.0 - share], spec.batch_size)
    held = None if heldout is None else (heldout, text_tables(heldout, encoder, MAX_SUBTASKS))
    budget = high_budget(component, cfg, spec)
    before = heldout_metrics(base, validation_batches(component, held, budget.batch_size, head)) if held else None
    fit = train_component(component, net, (demos, demo_text), held, budget, run, stage=stage, sampler=sampler)
    fit.update(mode=spec.mode, share=round(share, 6), distinct_states=rows.states,
               rows={name: _size(t) for name, (t, _, _) in tables.items()},
               original_rows=len(demos.obs),
               correction_rows=_size(rows.corrected) + _size(rows.window))
    if held is not None and before is not None:
        after = heldout_metrics(net, validation_batches(component, held, budget.batch_size, head))
        keep_base = not after["loss"] < before["loss"]
        if keep_base:  # no checkpoint beats the weights before the fine-tune: they stay
            base.save(where)
        fit["heldout"] = {"episodes": rows.heldout_episodes, "rows": _size(heldout),
                          "base": {k: round(v, 6) for k, v in before.items()},
                          "selected": {k: round(v, 6) for k, v in (before if keep_base else after).items()},
                          "selected_step": 0 if keep_base else fit["best_step"]}
    return fit


# ------------------------------------------------------------------------------------------------- takeover rows
def takeover_steps(records: Sequence[Mapping[str, Any]], obs_keys: tuple[str, ...]) -> list[LabelledStep]:
    """Takeover journal records -> LabelledSteps (emitted = the segment's skill, expert_action = the person's action)."""
    steps: list[LabelledStep] = []
    for r in records:
        check_keys(r, obs_keys, "takeover")
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


def finetune_low(session: str | Path, cfg: RunConfig, agent: str, extra: StepTables,
                 train: tuple[StepTables, TextTables], encoder: TextEncoder, spec: FinetuneSpec,
                 stage: str) -> dict[str, Any]:
    """Fine-tune SESSION/models/adapted/<agent's low level> from its weights on its demonstrations + the takeover
    rows `extra` (takeover_tables for a language hierarchy, hirl.learn.corrections_state.state_low_tables for a state
    one; about spec.low_ratio of the rows), spec.low_steps at constant spec.low_lr; saves it back. Returns the fit
    summary plus row counts."""
    component = correctable_levels(agent, cfg.networks)[0]
    merged = aggregate(train[0], extra, spec.low_ratio)
    budget = replace(component.budget(cfg.train), max_steps=spec.low_steps, lr=spec.low_lr, batch_size=spec.batch_size,
                     lr_schedule="constant", lr_warmup_steps=0, early_stopping_patience=None, rollout_every=0,
                     progress=False, tensorboard=False, torch_threads=1)
    run = RunDir(session)
    net = component.load(run.model_dir(component.name, adapted=True))
    net.train()
    # no validation on the demonstrations: best-on-demos would prefer the weights before the takeovers
    fit = train_component(component, net, (merged, text_tables(merged, encoder, MAX_SUBTASKS)), None, budget, run,
                          stage=stage)
    fit.update(original_rows=len(train[0].obs), correction_rows=len(extra.obs), merged_rows=len(merged.obs))
    return fit
