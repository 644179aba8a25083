"""Goal index: the futures of the dataset states nearest to now, as the candidate state subgoals (a reachability
filter built from data, in the spirit of GAS's graph over dataset states and GHIL-Glue's filtering of generated
subgoals).

A regressed subgoal is the mean of what the demonstrations did from similar states: where they went different ways
(which block first, over or around) the mean is a state nobody reached, often one the low level cannot reach either.
The index keeps, for a subsample of the training steps, the observation and the goal that step's segment (or k steps)
later reached; SnappedStateHighLevel asks the learned high level for its goal, then sends instead the candidate goal
nearest to it among the futures of the `neighbours` dataset states nearest to the current observation: a state some
demonstration actually reached from here, the one the high level meant.

    index = GoalIndex(GoalIndexConfig(obs_dim=55, goal_dim=14, rows=60000)).fit(obs, goals, achieved)   # (N, .)
    cands = index.candidates(obs_vec)           # (neighbours, G) futures (residual: goal - achieved then)
    goal = index.snap(obs_vec, proposal, achieved_now)   # (G,) the candidate nearest to proposal (goal-std units)
    high = SnappedStateHighLevel(StateHighLevel(...), index)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hirl.policies.base import HighLevelWrapper
from hirl.policies.high.state import StateHighLevel
from hirl.policies.inference import fast_inference, to_tensor
from hirl.policies.module import PolicyModule
from hirl.policies.obs import DEFAULT_OBS_KEYS, achieved_of, obs_vector
from hirl.types import Command, Observation, Subgoal


@dataclass
class GoalIndexConfig:
    """Dataset states and their futures (every field saved in config.json)."""

    obs_dim: int = 32  # S, size of the state vector
    goal_dim: int = 14  # G, size of a state subgoal
    rows: int = 1  # M, dataset steps kept (an even subsample of the training steps, at most 65,536)
    neighbours: int = 64  # dataset states nearest to now whose futures are the candidates
    obs_keys: tuple[str, ...] = DEFAULT_OBS_KEYS  # Dict obs entries concatenated into the state vector
    eps: float = 1e-3  # floor on the per-dimension std used to scale distances (constant dims)
    residual: bool = True  # keep each future as goal - achieved goal then, sent as achieved goal now + that
    achieved_key: str = "achieved_goal"  # observation entry holding the achieved goal now (residual only)


class GoalIndex(PolicyModule):
    """Buffers: keys (M, S) standardised observations, key_sq (M,) their squared norms, goals (M, G), obs_mean /
    obs_std (S,), goal_std (G,). No trainable parameters: fit() fills it from data."""

    config_cls = GoalIndexConfig
    keys: torch.Tensor
    key_sq: torch.Tensor
    goals: torch.Tensor
    obs_mean: torch.Tensor
    obs_std: torch.Tensor
    goal_std: torch.Tensor

    def __init__(self, config: GoalIndexConfig) -> None:
        super().__init__()
        self.config = c = config
        self.register_buffer("keys", torch.zeros(c.rows, c.obs_dim))
        self.register_buffer("key_sq", torch.zeros(c.rows))
        self.register_buffer("goals", torch.zeros(c.rows, c.goal_dim))
        self.register_buffer("obs_mean", torch.zeros(c.obs_dim))
        self.register_buffer("obs_std", torch.ones(c.obs_dim))
        self.register_buffer("goal_std", torch.ones(c.goal_dim))

    @torch.no_grad()
    def fit(self, obs: np.ndarray, goals: np.ndarray, achieved: np.ndarray | None = None) -> GoalIndex:
        """Keep config.rows evenly spaced rows of obs (N, S) and goals (N, G) (N >= rows; the goal each row's step
        led to), with the per-dimension std of all N rows for the distances; residual: achieved (N, G), the achieved
        goal at each row (the index keeps goals - achieved: a future is where things went from where they were, so
        blocks another demonstration had elsewhere are not carried over)."""
        c = self.config
        o, g = np.asarray(obs, dtype=np.float64), np.asarray(goals, dtype=np.float64)
        if c.residual:
            if achieved is None or np.shape(achieved) != g.shape:
                raise ValueError(f"GoalIndex.fit: a residual index needs achieved goals of the goals' shape {g.shape}")
            g = g - np.asarray(achieved, dtype=np.float64)
        if o.ndim != 2 or o.shape[1] != c.obs_dim or g.shape != (len(o), c.goal_dim) or len(o) < c.rows:
            raise ValueError(f"GoalIndex.fit: obs (N, {c.obs_dim}) and goals (N, {c.goal_dim}) with N >= {c.rows}, got "
                             f"{o.shape} and {g.shape}")
        if not (np.all(np.isfinite(o)) and np.all(np.isfinite(g))):
            raise ValueError("GoalIndex.fit: obs and goals must be finite")
        rows = np.linspace(0, len(o) - 1, c.rows).round().astype(np.int64)
        self.obs_mean.copy_(torch.as_tensor(o.mean(0)))
        self.obs_std.copy_(torch.as_tensor(np.maximum(o.std(0), c.eps)))
        self.goal_std.copy_(torch.as_tensor(np.maximum(g.std(0), c.eps)))
        keys = (torch.as_tensor(o[rows], dtype=torch.float32) - self.obs_mean) / self.obs_std
        self.keys.copy_(keys)
        self.key_sq.copy_((keys ** 2).sum(-1))
        self.goals.copy_(torch.as_tensor(g[rows], dtype=torch.float32))
        return self

    def candidates(self, obs: torch.Tensor) -> torch.Tensor:
        """obs (S,) or (1, S) -> (neighbours, G) the goals of the dataset states nearest to obs (nearest first)."""
        q = (obs.reshape(1, -1).float() - self.obs_mean) / self.obs_std
        dist = self.key_sq - 2.0 * (self.keys @ q[0])  # ||k - q||^2 - ||q||^2: the same order
        k = min(self.config.neighbours, self.config.rows)
        return self.goals[torch.topk(dist, k, largest=False).indices]

    def snap(self, obs: torch.Tensor, proposal: torch.Tensor, achieved: torch.Tensor | None = None) -> torch.Tensor:
        """(G,): the candidate goal nearest to proposal (G,) in goal-std units; residual: the candidates are achieved
        (G,), the achieved goal now, + the stored futures."""
        cands = self.candidates(obs)
        if self.config.residual:
            if achieved is None:
                raise ValueError("GoalIndex.snap: a residual index needs the achieved goal now")
            cands = cands + achieved.reshape(1, -1).float()
        d = (((cands - proposal.reshape(1, -1).float()) / self.goal_std) ** 2).sum(-1)
        return cands[int(torch.argmin(d))]


class SnappedStateHighLevel(HighLevelWrapper):
    """A state high level whose every proposal is replaced by the nearest goal a demonstration reached from a
    nearby state (GoalIndex.snap); the inner high level is told the goal actually sent (its previous-subgoal input)."""

    inner: StateHighLevel

    def __init__(self, inner: StateHighLevel, index: GoalIndex) -> None:
        super().__init__(inner)
        self.index = index
        self.index.eval()
        if index.config.obs_keys != inner.model.config.obs_keys or index.config.goal_dim != inner.model.config.goal_dim:
            raise ValueError("SnappedStateHighLevel: the index and the high level read different observations or goals")

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        proposal = self.inner.propose(obs, command)
        c = self.index.config
        achieved = torch.as_tensor(achieved_of(obs, c.achieved_key)) if c.residual else None
        with fast_inference():
            goal = self.index.snap(to_tensor(obs_vector(obs, c.obs_keys))[0],
                                   torch.tensor(np.asarray(proposal.value), dtype=torch.float32), achieved)
        snapped = Subgoal("state", goal.numpy().astype(np.float64), proposal.source, proposal.label)
        self.inner.observe(snapped)
        return snapped
