"""Chained-task metrics (CALVIN-style) over a list of EpisodeResult."""
from __future__ import annotations

from collections import defaultdict
from typing import Any
from collections.abc import Sequence

import numpy as np

from hirl.hierarchy.rollout import EpisodeResult


def chain_metrics(results: Sequence[EpisodeResult], max_length: int = 5) -> dict[str, Any]:
    """success_rate             fraction of episodes whose whole task succeeded
    avg_chain_length           mean number of subtasks completed in a row (the chain stops at the first failure)
    success_at_length[k]       among chains of >= k subtasks, the fraction that completed at least k (k = 1..max_length)
    per_subtask_success[name]  completed / attempted, an attempt being each completed subtask plus the one that failed
    per_subtask[name]          {"attempted", "completed", "success"}: the same with its counts, sorted by subtask
    mean_steps_to_subtask      mean control steps per completed subtask
    subgoal_reach_rate         fraction of subgoal segments during which the low level completed a subtask
                               (None for agents without subgoals)
    state_subgoal_reach_rate   fraction of state-subgoal segments during which the achieved goal came within the env's
                               goal tolerance of the subgoal (None without state subgoals)
    replans / high_level_queries / interventions per episode, and physics errors
    disturbed_episodes         episodes in which the world undid a subtask (only for envs with disturbances)"""
    if not results:
        raise ValueError("chain_metrics: no episodes")
    attempted: dict[str, int] = defaultdict(int)
    done: dict[str, int] = defaultdict(int)
    for r in results:
        for name in r.completed:
            attempted[name] += 1
            done[name] += 1
        if len(r.completed) < len(r.task):
            attempted[r.task[len(r.completed)]] += 1
    at_length = {}
    for k in range(1, max_length + 1):
        eligible = [r for r in results if len(r.task) >= k]
        if eligible:
            at_length[str(k)] = float(np.mean([len(r.completed) >= k for r in eligible]))
    steps = [s for r in results for s in r.subtask_steps]
    segments = sum(r.subgoals for r in results)
    state_segments = sum(r.state_subgoals for r in results)
    disturbed = ({"disturbed_episodes": sum(bool(r.disturbances) for r in results)}
                 if any(r.disturbances is not None for r in results) else {})
    return {
        "episodes": len(results),
        "success_rate": float(np.mean([r.success for r in results])),
        "avg_chain_length": float(np.mean([len(r.completed) for r in results])),
        "success_at_length": at_length,
        "per_subtask_success": {name: done[name] / attempted[name] for name in sorted(attempted)},
        "per_subtask": {name: {"attempted": attempted[name], "completed": done[name], "success": done[name] / attempted[name]}
                        for name in sorted(attempted)},
        "mean_steps_to_subtask": float(np.mean(steps)) if steps else None,
        "subgoal_reach_rate": sum(r.subgoals_reached for r in results) / segments if segments else None,
        "state_subgoal_reach_rate": (sum(r.state_subgoals_reached for r in results) / state_segments
                                     if state_segments else None),
        "replans_per_episode": float(np.mean([r.replans for r in results])),
        "high_level_queries_per_episode": float(np.mean([r.high_level_queries for r in results])),
        "interventions_per_episode": float(np.mean([r.interventions for r in results])),
        "physics_errors": sum(r.physics_error is not None for r in results),
        **disturbed,
    }
