"""Goal sampling for offline goal-conditioned learners (GCBC, HIQL, the state- and language-subgoal hierarchies
trained on OGBench-style data): every batch draws transitions uniformly and relabels them with goals taken from
the data, as OGBench's GCDataset / HGCDataset do.

Goals are achieved goals (obs["achieved_goal"], G values) of the data; for OGBench envs the achieved goal is the
full observation, as OGBench's goals are. States are the tables' obs (obs_keys, S values).

Batch (B rows; S state size, G goal size, A action size), all float32 unless stated:
    obs, next_obs (B, S); action (B, A)   (next_obs of an episode's last step is its obs: the final observation
                        is not a step row; 1 transition in 1001 for OGBench's episodes)
    value_goal (B, G)   p_cur: the current achieved goal, p_traj: a future one at a geometric offset (discount),
                        p_random: any achieved goal of the data
    reward (B,)         0 when value_goal is the current state, else -1 (OGBench's gc_negative); mask (B,) 1 - that
    actor_goal (B, G)   a future achieved goal of the same episode, uniform over the rest of the episode
    subgoal (B, G)      the achieved goal subgoal_steps ahead (capped at the episode's end): the low level's goal
    high_target (B, G)  the achieved goal min(subgoal_steps, steps to actor_goal) ahead: what the high level proposes
    high_target_obs (B, S)  the state there (the episode's last step row when that is the final observation)
    label (B,) int64    the step's segment label (vocabulary index): the language subgoal active at that step
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hirl.data.tables import StepTables


@dataclass(frozen=True)
class GoalSampling:
    """How goals are drawn (OGBench's defaults for HIQL / GCIVL value learning and its actors)."""

    discount: float = 0.99  # geometric offset of trajectory value goals: P(k) = (1 - discount) discount^(k-1)
    value_p_cur: float = 0.2  # P(value goal = the current state)
    value_p_traj: float = 0.5  # P(value goal = a future state of the episode, geometric offset)
    value_p_random: float = 0.3  # P(value goal = a random state of the data)
    subgoal_steps: int = 25  # k: the low level's goal is the state k steps ahead (OGBench: 25 mazes, 10 manipulation)

    def __post_init__(self) -> None:
        if not 0 < self.discount < 1:
            raise ValueError(f"discount must be in (0, 1), got {self.discount}")
        ps = (self.value_p_cur, self.value_p_traj, self.value_p_random)
        if min(ps) < 0 or abs(sum(ps) - 1) > 1e-6:
            raise ValueError(f"value_p_cur + value_p_traj + value_p_random must be 1, got {ps}")
        if self.subgoal_steps < 1:
            raise ValueError(f"subgoal_steps must be >= 1, got {self.subgoal_steps}")


def check_state_tables(t: StepTables, name: str) -> None:
    """ValueError unless every row of t comes from a dataset episode (goals are drawn from its future)."""
    if not len(t.achieved) or (t.obs_row < 0).any() or (t.episode_window < 0).any():
        raise ValueError(f"{name}: needs tables built from dataset episodes (every row with its episode)")


class GoalSampler:
    """Trainer batch source (step, rng) -> batch (module docstring) over StepTables; gather(rows) draws the goals of
    fixed rows with a fixed generator (validation batches that do not change between evaluations)."""

    def __init__(self, t: StepTables, batch_size: int, sampling: GoalSampling) -> None:
        self.t, self.batch_size, self.sampling = t, int(batch_size), sampling
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
        # actor goals: uniform over the rest of the episode (row + 1 .. last)
        ag = row + 1 + np.floor(rng.random(B) * (last - row)).astype(np.int64)
        ag = np.minimum(ag, last)
        sub = np.minimum(row + s.subgoal_steps, last)
        target = np.minimum(row + s.subgoal_steps, ag)
        target_step = rows + np.minimum(target, last - 1) - row  # step row of the state at target (<= the last step)
        a = t.achieved
        out = {
            "obs": t.obs[rows], "next_obs": t.obs[self.next[rows]], "action": t.action[rows],
            "value_goal": a[vg], "reward": success - 1.0, "mask": 1.0 - success,
            "actor_goal": a[ag], "subgoal": a[sub], "high_target": a[target], "high_target_obs": t.obs[target_step],
        }
        batch = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in out.items()}
        batch["label"] = torch.from_numpy(np.ascontiguousarray(t.label[rows], dtype=np.int64))
        return batch

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        return self.gather(rng.integers(0, self.size, size=self.batch_size), rng)
