"""Fine-tuning a state hierarchy (subgoal kind "state", e.g. the agent hier_state) on a session's takeovers: the
takeovers, relabelled in hindsight, are its corrections.

A typed correction names a skill, which cannot label a goal state, so a session of a state hierarchy refuses typed
corrections (hirl.teleop.sessions) and the person takes over instead. A takeover segment from control step t0 to t1
(end exclusive: the person gave the actions a_t0 .. a_t1-1) reached g = the achieved goal of o_t1, the observation
after its last action (obs["achieved_goal"], Episode.achieved(): the goal a state dataset labels a segment with,
hirl.data.tables' goal_state), read from the session's stored episode. Rows, over the one table builder
(hirl.learn.adapt.labelled_tables):

    low    every (o_t, a_t) the person gave, goal = g (the action label is the person's)
    high   corrected  the state o_t0 where the person took over, subgoal = g                            w_corr
           window     the up-to-K (context_steps) states before t0 in the same subgoal segment,          w_window
                      subgoal = g (the robot was already heading for the wrong goal there)
           demos      the run's demonstrations                                                            w_demo
High rows are made with two memories (prev_state): the state subgoal active at t0 (what StateHighLevel remembers,
its last proposal) and the memory the demonstrations train with, the achieved goal where t0's segment began (zeros
in the episode's first segment); the state high level's sampler adds the (prev = g -> g) "keep going" pair itself.
Every row carries the achieved goal at its own observation (what residual state models read).

What carries over from the language recipe (hirl.learn.corrections, FinetuneSpec): the loss weights w_corr, w_window
and w_demo; the share (corrected + window rows make up min(max_share, distinct takeover starts / share_states) of
every batch); mode continue / aggregate; held-out selection over every round(1 / holdout)-th episode with a takeover
(in episode order), on its takeover starts' rows; the low level's low_ratio, low_steps and low_lr. What differs:
    - there are no approved rows (w_approved is unused): a segment the person let run ends where the low level got,
      not where the high level aimed, so relabelling it would teach the high level to aim wherever it got;
    - one takeover trains both levels; the held-out episodes' takeovers still train the low level (as every takeover
      of the language recipe does: held-out selection chooses the high level's checkpoint only);
    - a takeover whose episode is not among the session's stored episodes (killed before it was written) gives no
      rows."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hirl.data.dataset import Dataset
from hirl.data.episode import Episode
from hirl.data.tables import StepTables
from hirl.errors import InputError
from hirl.learn.adapt import LabelledStep, labelled_tables
from hirl.learn.corrections import HighRows, check_keys, split_holdout
from hirl.learn.corrections_config import FinetuneSpec
from hirl.types import Subgoal


@dataclass(frozen=True)
class Takeover:
    """A journaled takeover segment and the stored episode it happened in.

    achieved (T+1, G) float32: the episode's achieved goals; obs (T+1, S) float32: its states in obs_keys order."""

    record: Mapping[str, Any]
    episode: Episode
    achieved: np.ndarray
    obs: np.ndarray

    @property
    def start(self) -> int:
        return int(self.record["start"])

    @property
    def end(self) -> int:
        return int(self.record["end"])

    @property
    def goal(self) -> Subgoal:
        """The goal it reached: the achieved goal of the observation after its last action (G,)."""
        return Subgoal("state", self.achieved[self.end].astype(np.float64), "human")

    def memories(self) -> list[Subgoal | None]:
        """The high level's memories at t0: the state subgoal active then, and the achieved goal where t0's segment
        began (None: the episode's first segment); one when they are the same."""
        e, t0 = self.episode, self.start
        seg = int(np.searchsorted(e.seg_start, t0, side="right")) - 1
        began = Subgoal("state", self.achieved[e.seg_start[seg]].astype(np.float64), "human") if seg > 0 else None
        active = e.subgoal_state[t0] if e.subgoal_state is not None and t0 < len(e.subgoal_state) else None
        out: list[Subgoal | None] = [began]
        if active is not None and np.all(np.isfinite(active)):
            goal = Subgoal("state", np.asarray(active, np.float64), "policy")
            if not goal.same_goal(began):
                out.append(goal)
        return out


def matched(records: Sequence[Mapping[str, Any]], episodes: Dataset | None, obs_keys: tuple[str, ...],
            goal_dim: int) -> list[Takeover]:
    """The takeover records whose episode is stored (the others give no rows), with that episode. InputError (one
    line) when a record does not fit its episode or the episode's achieved goals are not the level's goal size."""
    stored = {e.index: e for e in episodes.episodes} if episodes is not None else {}
    out: list[Takeover] = []
    for r in records:
        check_keys(r, obs_keys, "takeover")
        e = stored.get(int(r.get("episode", -1)))
        if e is None:
            continue
        start, end, what = int(r["start"]), int(r["end"]), f"takeover {r.get('id', '?')}"
        if not 0 <= start < end <= e.T or len(r["actions"]) != end - start:
            raise InputError(f"{what}: steps {start}..{end} ({len(r['actions'])} actions) do not fit its episode "
                             f"{e.index} ({e.T} steps)")
        achieved = e.achieved().reshape(e.T + 1, -1).astype(np.float32)
        if achieved.shape[1] != goal_dim:
            raise InputError(f"{what}: its episode's achieved goals have {achieved.shape[1]} entries, the state "
                             f"levels' goals {goal_dim}")
        out.append(Takeover(r, e, achieved, e.flat_obs(obs_keys)))
    return out


def low_steps(takeovers: Sequence[Takeover]) -> list[LabelledStep]:
    """Every (o_t, a_t) the person gave (the record's states and actions), goal = the goal the takeover reached."""
    steps: list[LabelledStep] = []
    for t in takeovers:
        goal, r = t.goal, t.record
        for i, (o, a) in enumerate(zip(r["obs"], r["actions"], strict=True)):
            steps.append(LabelledStep(obs=np.asarray(o, np.float32), command=str(r["command"]), emitted=goal,
                                      previous=None, expert_goal=goal, expert_action=np.asarray(a, np.float32),
                                      achieved=t.achieved[t.start + i]))
    return steps


def high_steps(takeovers: Sequence[Takeover], k: int | None, action_dim: int) -> list[LabelledStep]:
    """High-level rows of every takeover, subgoal = the goal it reached, once per memory: k None: the state where it
    began (o_t0); else the window: the up-to-k states before t0 in t0's subgoal segment (the same segment as the
    language recipe's window; none for k = 0). No action labels (zeros (A,))."""
    zero = np.zeros(action_dim, np.float32)
    steps: list[LabelledStep] = []
    for t in takeovers:
        e, goal, command = t.episode, t.goal, str(t.record["command"])
        if k is None:
            times = [t.start]
        else:
            begin = int(e.seg_start[int(np.searchsorted(e.seg_start, t.start, side="right")) - 1])
            times = list(range(max(begin, t.start - k), t.start))
        steps += [LabelledStep(obs=t.obs[i], command=command, emitted=goal, previous=memory, expert_goal=goal,
                               expert_action=zero, achieved=t.achieved[i]) for i in times for memory in t.memories()]
    return steps


def _rows(steps: list[LabelledStep], train: StepTables, role: int) -> StepTables | None:
    """labelled_tables' low (role 0) or high (role 1) rows of steps over train's vocabulary; None when empty."""
    if not steps:
        return None
    return labelled_tables(steps, train.vocab, train.goal_state.shape[1], "state")[role]


def state_low_tables(records: Sequence[Mapping[str, Any]], episodes: Dataset | None, train: StepTables,
                     obs_keys: tuple[str, ...]) -> StepTables:
    """The low level's rows of every takeover (low_steps) over train's vocabulary (empty tables when none)."""
    takeovers = matched(records, episodes, obs_keys, train.goal_state.shape[1])
    rows = _rows(low_steps(takeovers), train, 0)
    return rows if rows is not None else labelled_tables([], train.vocab, train.goal_state.shape[1], "state")[0]


def state_high_rows(records: Sequence[Mapping[str, Any]], episodes: Dataset | None, train: StepTables,
                    obs_keys: tuple[str, ...], spec: FinetuneSpec) -> HighRows:
    """The high level's row families of the module docstring (approved: None) from the session's takeover records
    and its stored episodes."""
    takeovers = matched(records, episodes, obs_keys, train.goal_state.shape[1])
    held = split_holdout([t.record for t in takeovers], spec.holdout)[1]
    fit = [t for t in takeovers if t.episode.index not in set(held)]
    kept_out = [t for t in takeovers if t.episode.index in set(held)]
    action_dim = train.action.shape[1]
    window = _rows(high_steps(fit, spec.context_steps, action_dim), train, 1) if spec.w_window > 0 else None
    return HighRows(corrected=_rows(high_steps(fit, None, action_dim), train, 1), window=window, approved=None,
                    heldout=_rows(high_steps(kept_out, None, action_dim), train, 1),
                    states=len({(t.episode.index, t.start) for t in fit}), heldout_episodes=held)
