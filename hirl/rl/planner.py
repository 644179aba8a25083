"""A planning high level over the RL low level's own value function: search on the replay buffer (Eysenbach et al.,
SoRB, 2019). Nodes are states the low level visited in training (its replay buffer); the edge i -> j costs the
number of control steps the low level's critic predicts for reaching node j from node i, kept only when it is at
most `max_edge_steps` (distances the critic knows well); the high level emits, as a state subgoal, the first node
of the shortest path from the current state to the task goal (or the goal itself when it is directly in reach).

With SB3's -1/0 rewards and discount gamma, a low level that needs d steps has Q = -(1 - gamma^d) / (1 - gamma),
so d = log(1 + (1 - gamma) Q) / log(gamma); the pessimistic (minimum) of SAC's/TD3's critics is used.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from scipy.sparse.csgraph import shortest_path

from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes
from hirl.policies.base import HighLevelPolicy
from hirl.types import Command, Observation, Subgoal, dict_obs

GOAL_KEYS = ("observation", "achieved_goal")  # the low level's state: its observation entries other than the goal


def steps_from_q(q: np.ndarray, gamma: float) -> np.ndarray:
    """Predicted control steps (B,) from Q-values (B,) under -1/0 rewards: log(1 + (1-gamma) q) / log(gamma)."""
    inner = np.clip(1.0 + (1.0 - gamma) * np.asarray(q, dtype=np.float64), 1e-12, 1.0)
    return np.log(inner) / np.log(gamma)


class LowLevelDistance:
    """d(state, goal) in control steps from a goal-conditioned SB3 SAC/TD3 model: min over its critics of
    Q(o, g, pi(o, g)) turned into steps (steps_from_q)."""

    def __init__(self, model: Any, batch: int = 4096) -> None:
        self.model, self.gamma, self.batch = model, float(model.gamma), batch

    def __call__(self, states: Mapping[str, np.ndarray], goals: np.ndarray) -> np.ndarray:
        """states {observation: (B, D), achieved_goal: (B, G)}, goals (B, G) -> (B,) predicted steps."""
        out = []
        policy = self.model.policy
        for s in range(0, len(goals), self.batch):
            obs = {k: torch.as_tensor(np.asarray(states[k][s:s + self.batch], dtype=np.float32)) for k in GOAL_KEYS}
            obs["desired_goal"] = torch.as_tensor(np.asarray(goals[s:s + self.batch], dtype=np.float32))
            with torch.no_grad():
                action = policy._predict(obs, deterministic=True)
                q = torch.cat(policy.critic(obs, action), dim=1).min(dim=1).values.numpy()
            out.append(steps_from_q(q, self.gamma))
        return np.concatenate(out) if out else np.zeros(0)


def farthest_points(points: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (min(n, M),) of a farthest-point sample of points (M, G): an even cover of the visited space."""
    n = min(n, len(points))
    chosen = [int(rng.integers(len(points)))]
    dist = np.linalg.norm(points - points[chosen[0]], axis=1)
    for _ in range(n - 1):
        chosen.append(int(np.argmax(dist)))
        dist = np.minimum(dist, np.linalg.norm(points - points[chosen[-1]], axis=1))
    return np.array(chosen)


def replay_states(buffer: Any) -> dict[str, np.ndarray]:
    """The visited states {observation: (M, D), achieved_goal: (M, G)} of an SB3 Dict replay buffer in memory."""
    n = buffer.buffer_size if buffer.full else buffer.pos
    return {k: np.asarray(buffer.next_observations[k][:n, 0]) for k in GOAL_KEYS}


def buffer_states(buffer_file: Path) -> dict[str, np.ndarray]:
    """The visited states {observation: (M, D), achieved_goal: (M, G)} of a replay-buffer checkpoint (sb3.save_buffer)."""
    try:
        meta = json.loads(buffer_file.with_suffix(".json").read_text())
        with np.load(buffer_file, allow_pickle=False) as z:
            n = len(z["observations.achieved_goal"]) if meta["full"] else int(meta["pos"])
            return {k: np.asarray(z[f"next_observations.{k}"][:n, 0]) for k in GOAL_KEYS}
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{buffer_file}: unreadable replay-buffer checkpoint ({exc})") from None


class WaypointGraph:
    """nodes {observation: (N, D), achieved_goal: (N, G)} and all-pairs shortest paths (N, N) in control steps
    over edges of at most max_edge_steps (inf where no path)."""

    def __init__(self, nodes: Mapping[str, np.ndarray], paths: np.ndarray, max_edge_steps: float) -> None:
        self.nodes = {k: np.asarray(nodes[k], dtype=np.float64) for k in GOAL_KEYS}
        self.paths, self.max_edge_steps = np.asarray(paths, dtype=np.float64), float(max_edge_steps)

    @classmethod
    def build(cls, states: Mapping[str, np.ndarray], distance: LowLevelDistance, n_nodes: int, max_edge_steps: float,
              seed: int = 0) -> WaypointGraph:
        idx = farthest_points(np.asarray(states["achieved_goal"]), n_nodes, np.random.default_rng(seed))
        nodes = {k: np.asarray(states[k])[idx] for k in GOAL_KEYS}
        n = len(idx)
        pairs = {k: np.repeat(v, n, axis=0) for k, v in nodes.items()}  # row i repeated: from node i ...
        d = distance(pairs, np.tile(nodes["achieved_goal"], (n, 1))).reshape(n, n)  # ... to node j
        d[d > max_edge_steps] = np.inf
        weights = np.where(np.isinf(d), 0.0, np.maximum(d, 1e-6))  # dense csgraph input: 0 means "no edge"
        np.fill_diagonal(weights, 0.0)
        return cls(nodes, shortest_path(weights, method="D", directed=True), max_edge_steps)

    def save(self, path: Path) -> Path:
        raw = io.BytesIO()
        np.savez(raw, allow_pickle=False, paths=self.paths, max_edge_steps=np.array(self.max_edge_steps),
                 **{f"nodes.{k}": v for k, v in self.nodes.items()})
        atomic_write_bytes(path, raw.getvalue())
        return path

    @classmethod
    def load(cls, path: Path) -> WaypointGraph:
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls({k: z[f"nodes.{k}"] for k in GOAL_KEYS}, z["paths"], float(z["max_edge_steps"]))
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: unreadable waypoint graph ({exc})") from None


class GraphPlanner(HighLevelPolicy):
    """pi_HL: the first waypoint of the shortest path (over `graph`, with edges from the current state and to the
    task goal costed by `distance`) as a state subgoal; the goal itself when going straight is no longer.
    Nodes within `epsilon` of the current achieved goal are not proposed (they count as reached)."""

    def __init__(self, graph: WaypointGraph, distance: LowLevelDistance, epsilon: float) -> None:
        self.graph, self.distance, self.epsilon = graph, distance, float(epsilon)

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        o = dict_obs(obs)
        nodes, n = self.graph.nodes, len(self.graph.paths)
        here = {k: np.repeat(np.asarray(o[k], dtype=np.float64)[None], n + 1, axis=0) for k in GOAL_KEYS}
        goal = np.asarray(o["desired_goal"], dtype=np.float64)
        to_nodes = self.distance(here, np.vstack([nodes["achieved_goal"], goal[None]]))  # (N + 1,): nodes, then goal
        direct, to_nodes = to_nodes[-1], to_nodes[:-1]
        from_nodes = self.distance(nodes, np.repeat(goal[None], n, axis=0))  # (N,)
        cap = self.graph.max_edge_steps
        first = np.where(to_nodes <= cap, to_nodes, np.inf)
        first[np.linalg.norm(nodes["achieved_goal"] - np.asarray(o["achieved_goal"]), axis=1) <= self.epsilon] = np.inf
        last = np.where(from_nodes <= cap, from_nodes, np.inf)
        total = first[:, None] + self.graph.paths + last[None, :]  # (N, N): here -> i -> ... -> j -> goal
        i, j = np.unravel_index(int(np.argmin(total)), total.shape)
        if not np.isfinite(total[i, j]) or direct <= min(cap, total[i, j]):
            return Subgoal("state", goal, "policy", "goal")
        return Subgoal("state", nodes["achieved_goal"][i].copy(), "policy", f"waypoint {i}")
