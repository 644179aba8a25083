"""Goal sampling for offline goal-conditioned learners (GCBC, GCIVL, GCIQL, QRL, CRL, HIQL, the state- and
language-subgoal hierarchies trained on OGBench-style data): every batch draws transitions uniformly and relabels them
with goals taken from the data, as OGBench's GCDataset / HGCDataset do, with the probabilities of the method's config
(sampling_of).

Goals are achieved goals (obs["achieved_goal"], G values) of the data; for OGBench envs the achieved goal is the
full observation, as OGBench's goals are. States are the tables' obs (obs_keys, S values).

Batch (B rows; S state size, G goal size, A action size), all float32 unless stated:
    obs, next_obs (B, S); action (B, A)   (next_obs of an episode's last step is its obs: the final observation
                        is not a step row; 1 transition in 1001 for OGBench's episodes)
    value_goal (B, G)   p_cur: the current achieved goal, p_traj: a future one at a geometric offset (discount),
                        p_random: any achieved goal of the data
    reward (B,)         0 when value_goal is the current state, else -1 (OGBench's gc_negative); mask (B,) 1 - that
    actor_goal (B, G)   actor_p_traj: a future achieved goal of the same episode, uniform over the rest of the episode
                        (or at a geometric offset: actor_geom_sample), actor_p_cur: the current one, actor_p_random:
                        any achieved goal of the data (defaults 0 / 1 / 0: every method's setting on non-stitch data)
    obs_goal (B, G)     the achieved goal of the state (QRL's quasimetric lives in goal space)
    next_obs_goal (B, G)  the achieved goal after the action (the episode's final observation at its last step)
    subgoal (B, G)      the achieved goal subgoal_steps ahead (capped at the episode's end): the low level's goal
    high_target (B, G)  the achieved goal min(subgoal_steps, steps to actor_goal) ahead: what the high level proposes
                        (subgoal_steps ahead, capped at the episode's end, for a random actor goal: OGBench's HGCDataset)
    high_target_obs (B, S)  the state there (the episode's last step row when that is the final observation)
    label (B,) int64    the step's segment label (vocabulary index): the language subgoal active at that step
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hirl.data.tables import StepTables
from hirl.policies.offline_gc.goal_sampling import GoalSampling


def check_state_tables(t: StepTables, name: str) -> None:
    """ValueError unless every row of t comes from a dataset episode (goals are drawn from its future)."""
    if not len(t.achieved) or (t.obs_row < 0).any() or (t.episode_window < 0).any():
        raise ValueError(f"{name}: needs tables built from dataset episodes (every row with its episode)")


class GoalSampler:
    """Trainer batch source (step, rng) -> batch (module docstring) over StepTables; gather(rows) draws the goals of
    fixed rows with a fixed generator (validation batches that do not change between evaluations)."""

    def __init__(self, t: StepTables, batch_size: int, sampling: GoalSampling,
                 keys: frozenset[str] | None = None) -> None:
        """keys: the batch entries to gather (a network's batch_keys; None: all). The random draws are the same
        either way, so a batch's shared entries do not depend on keys; gathering rows of the (N, S) / (N, G) tables
        is most of a batch's cost, and GCBC reads 3 of its 14 entries."""
        self.t, self.batch_size, self.sampling, self.keys = t, int(batch_size), sampling, keys
        self.size = len(t.obs)
        self.row = t.obs_row.astype(np.int64)  # (N,) row of each step's state in achieved
        self.last = t.episode_window[:, 1].astype(np.int64)  # (N,) row of the episode's final observation
        n = np.arange(self.size)
        same = np.zeros(self.size, bool)
        same[:-1] = self.row[1:] == self.row[:-1] + 1  # the next step row is the same episode's next observation
        self.next = np.where(same, n + 1, n)  # (N,) step row of the next state (itself at an episode's last step)

    def gather(self, rows: np.ndarray, rng: np.random.Generator | None = None) -> dict[str, torch.Tensor]:
        rng = rng if rng is not None else np.random.default_rng(0)
        t, s = self.t, self.sampling
        B = len(rows)
        row, last = self.row[rows], self.last[rows]
        # value goals: current / geometric future / random
        u = rng.random(B)
        geom = np.minimum(row + rng.geometric(1.0 - s.discount, size=B), last)
        random_rows = rng.integers(0, len(t.achieved), size=B)
        vg = np.where(u < s.value_p_cur, row, np.where(u < s.value_p_cur + s.value_p_traj, geom, random_rows))
        success = (vg == row).astype(np.float32)
        ag, random_ag = self._actor_goals(row, last, rng)
        sub = np.minimum(row + s.subgoal_steps, last)
        target = np.where(random_ag, sub, np.minimum(row + s.subgoal_steps, ag))
        target_step = rows + np.minimum(target, last - 1) - row  # step row of the state at target (<= the last step)
        a, obs = t.achieved, t.obs
        fields: dict[str, Callable[[], np.ndarray]] = {  # the gathers, run only for the keys asked for
            "obs": lambda: obs[rows], "next_obs": lambda: obs[self.next[rows]], "action": lambda: t.action[rows],
            "value_goal": lambda: a[vg], "reward": lambda: success - 1.0, "mask": lambda: 1.0 - success,
            "actor_goal": lambda: a[ag], "subgoal": lambda: a[sub], "high_target": lambda: a[target],
            "high_target_obs": lambda: obs[target_step], "obs_goal": lambda: a[row], "next_obs_goal": lambda: a[row + 1],
        }
        batch = {k: torch.from_numpy(np.ascontiguousarray(f(), dtype=np.float32)) for k, f in fields.items()
                 if self.keys is None or k in self.keys}
        if self.keys is None or "label" in self.keys:
            batch["label"] = torch.from_numpy(np.ascontiguousarray(t.label[rows], dtype=np.int64))
        return batch

    def _actor_goals(self, row: np.ndarray, last: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(achieved-goal rows of the actor goals (B,), whether each is a random state (B,) bool). Future goals: uniform
        over row + 1 .. last, or geometric (actor_geom_sample); draws beyond those only when actor_p_cur or
        actor_p_random is set (the default settings draw exactly what they always drew)."""
        s, B = self.sampling, len(row)
        if s.actor_geom_sample:
            traj = np.minimum(row + rng.geometric(1.0 - s.discount, size=B), last)
        else:
            traj = np.minimum(row + 1 + np.floor(rng.random(B) * (last - row)).astype(np.int64), last)
        if s.actor_p_cur == 0 and s.actor_p_random == 0:
            return traj, np.zeros(B, bool)
        u = rng.random(B)
        random_ag = (u >= s.actor_p_cur + s.actor_p_traj) & (s.actor_p_random > 0)  # never from rounding alone
        ag = np.where(u < s.actor_p_cur, row, np.where(random_ag, rng.integers(0, len(self.t.achieved), size=B), traj))
        return ag, random_ag

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        return self.gather(rng.integers(0, self.size, size=self.batch_size), rng)
