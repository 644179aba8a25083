"""Rollout evaluation during training: episodes of an agent through the one rollout path (run_episode), scored by
chain_metrics (success, chain length), the first few filmed with annotated frames, and logged to a Tracker.

    result = rollouts(env, agent, adapter.command, episodes=5, seed=100_000, videos=1, frame_every=4)
    log_rollouts(tracker, result, step)      # rollout/success_rate, rollout/avg_chain_length, ..., rollout/video_0
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.hierarchy.metrics import chain_metrics
from hirl.hierarchy.rollout import CommandFn, EpisodeResult, run_episode
from hirl.tracking.frames import EpisodeFilm
from hirl.tracking.trackers import Tracker

# chain_metrics entries logged as scalars (when not None); the rest stay in RolloutResult.full
SCALARS = ("success_rate", "avg_chain_length", "mean_steps_to_subtask", "subgoal_reach_rate", "replans_per_episode",
           "high_level_queries_per_episode")
CONTROL_HZ = 50  # control steps per second of hirl's envs: a video plays at CONTROL_HZ / frame_every frames per second


@dataclass
class RolloutResult:
    """What one rollout evaluation gave.

    metrics   {name: float} of SCALARS (success_rate, avg_chain_length, ...), None entries left out
    full      the whole chain_metrics dict (per-subtask counts, success_at_length, ...)
    videos    one (T, H, W, 3) uint8 clip per filmed episode; fps their frame rate
    episodes  the episode results (without frames)"""

    metrics: dict[str, float]
    full: dict[str, Any]
    videos: list[np.ndarray] = field(default_factory=list)
    fps: float = CONTROL_HZ / 4
    episodes: list[EpisodeResult] = field(default_factory=list)


def rollouts(env: gym.Env, agent: Any, command_fn: CommandFn, *, episodes: int, seed: int,
             options: dict[str, Any] | None = None, videos: int = 0, frame_every: int = 4) -> RolloutResult:
    """`episodes` episodes of agent in env (seeds seed + i, reset options `options`); the first `videos` are filmed
    (env must render) with hirl.tracking.frames.EpisodeFilm (command, subtasks ticked off, subgoal, outcome)."""
    if episodes < 1:
        raise ValueError(f"rollouts: episodes must be >= 1, got {episodes}")
    fps = CONTROL_HZ / frame_every
    results, clips = [], []
    for i in range(episodes):
        film = EpisodeFilm(fps) if i < videos else None
        r = run_episode(env, agent, command_fn, seed=seed + i, options=options,
                        frame_every=frame_every if film else 0, frame_fn=film)
        if film is not None and r.frames:
            clips.append(np.stack(film.finish(r)))
            r.frames = []
        results.append(r)
    full = chain_metrics(results)
    return RolloutResult(scalar_metrics(full), full, clips, fps, results)


def log_rollouts(tracker: Tracker, result: RolloutResult, step: int, prefix: str = "rollout") -> None:
    """result's scalars as prefix/<name> and its clips as prefix/video_<i> at step."""
    tracker.scalars({f"{prefix}/{k}": v for k, v in result.metrics.items()}, step)
    for i, clip in enumerate(result.videos):
        tracker.video(f"{prefix}/video_{i}", clip, step, result.fps)


RolloutSource = Callable[[int], RolloutResult]  # step -> a rollout evaluation of the model being trained


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The SCALARS entries of a chain_metrics dict that are set, as floats."""
    return {k: float(metrics[k]) for k in SCALARS if metrics.get(k) is not None}
