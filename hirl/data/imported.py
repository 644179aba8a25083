"""Episodes that were not recorded by hirl (a user's own files, OGBench's .npz) -> journal records -> a hirl dataset.

    ep = ImportedEpisode(observations, actions, seg_start=np.array([0, 40]), labels=["open the drawer", "push the button"],
                         command="open the drawer, then push the button")
    summary = write_imported(out, [ep, ...], meta=imported_meta(...), observation_space=..., action_space=...)

The one writing path of every importer (hirl.data.import_files for `hirl data import`, hirl.data.ogbench.npz): each
episode becomes a record in hirl.data.recorder's format, written by hirl.data.assemble.write_dataset. Imported steps
are attributed to source "expert" (a demonstration); is_success is False everywhere (a file does not say)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

ObsRows = np.ndarray | dict[str, np.ndarray]  # (T+1, ...) or {key: (T+1, ...)}


@dataclass
class ImportedEpisode:
    """One demonstration in hirl's step alignment (T control steps).

    observations  (T+1, ...) array or {key: (T+1, ...)}: row t is the observation the action of row t was taken at,
                  row T the one the last action led to
    actions       (T, A) float
    seg_start     (S,) int64: first step of each segment (0 first, increasing, < T)
    labels        S language labels, one per segment
    command       the episode's task command
    rewards       (T,) float or None (zeros)
    frames        (F, H, W, 3) uint8 camera frames at observation rows frame_steps (F,), or None
    source_row    row of the episode's first step in the file it came from (stored as the episode's seed)"""

    observations: ObsRows
    actions: np.ndarray
    seg_start: np.ndarray
    labels: Sequence[str]
    command: str
    rewards: np.ndarray | None = None
    frames: np.ndarray | None = None
    frame_steps: np.ndarray | None = None
    source_row: int = 0

    @property
    def T(self) -> int:
        return len(self.actions)


def achieved_rows(observations: ObsRows) -> np.ndarray:
    """(T+1, G) float64 achieved goals, as hirl.data.episode.Episode.achieved reads them back: obs["achieved_goal"],
    else every entry flattened in sorted key order (a Box observation: the vector itself)."""
    if not isinstance(observations, Mapping):
        return np.asarray(observations, np.float64).reshape(len(observations), -1)
    if "achieved_goal" in observations:
        return np.asarray(observations["achieved_goal"], np.float64).reshape(len(observations["achieved_goal"]), -1)
    rows = len(next(iter(observations.values())))
    return np.concatenate([np.asarray(observations[k], np.float64).reshape(rows, -1) for k in sorted(observations)], axis=1)


def episode_record(index: int, ep: ImportedEpisode) -> dict[str, Any]:
    """The journal record (hirl.data.recorder's layout) of one imported episode."""
    T = ep.T
    starts = np.asarray(ep.seg_start, np.int64)
    ends = np.append(starts[1:], T)
    segment = np.repeat(np.arange(len(starts), dtype=np.int64), ends - starts)  # (T,)
    text = [str(ep.labels[int(s)]) for s in segment]
    reason = ["start" if t == 0 else ("completion" if t in set(starts.tolist()) else "") for t in range(T)]

    def pad(rows: list[Any]) -> list[Any]:  # T -> T + 1 rows: row T repeats row T-1
        return rows + rows[-1:]

    infos: dict[str, Any] = {
        "subgoal_text": pad(text), "subgoal_source": ["expert"] * (T + 1), "subgoal_reason": [*reason, ""],
        "segment": np.append(segment, segment[-1]), "intervention": np.zeros(T + 1, bool),
        "is_success": np.zeros(T + 1, bool),
        "segments": {"start": starts, "end": ends.astype(np.int64), "goal_state": achieved_rows(ep.observations)[ends]},
    }
    if ep.frames is not None and ep.frame_steps is not None:
        infos["images"] = {"frames": np.asarray(ep.frames, np.uint8), "steps": np.asarray(ep.frame_steps, np.int64)}
    obs = ({k: np.asarray(v) for k, v in ep.observations.items()} if isinstance(ep.observations, Mapping)
           else np.asarray(ep.observations))
    rewards = np.zeros(T) if ep.rewards is None else np.asarray(ep.rewards, np.float64)
    return {"index": int(index), "seed": int(ep.source_row), "options": None, "observations": obs,
            "actions": np.asarray(ep.actions, np.float32), "rewards": rewards, "terminations": np.zeros(T, bool),
            "truncations": np.r_[np.zeros(T - 1, bool), True], "infos": infos, "predicate_names": [],
            "attrs": {"command": ep.command, "success": False, "task": list(dict.fromkeys(ep.labels)), "physics_error": "",
                      "source_row": int(ep.source_row)}}


def imported_meta(env_id: str, env_kwargs: Mapping[str, Any], control_rate_hz: float, subgoal_kind: str,
                  collection: Mapping[str, Any], image_size: int = 0) -> dict[str, Any]:
    """metadata["hirl"] of an imported dataset (write_dataset adds schema_version, predicate_names and
    episode_indices); image_size > 0: frames at every observation (image_every 1)."""
    from hirl.version import __version__

    return {"hirl_version": __version__, "env_id": env_id, "env_kwargs": dict(env_kwargs),
            "control_rate_hz": round(float(control_rate_hz), 6), "image_every": 1 if image_size else 0,
            "image_size": int(image_size), "image_rate_hz": round(float(control_rate_hz), 6) if image_size else 0.0,
            "subgoal_kind": subgoal_kind, "collection": dict(collection)}


def write_imported(out: str | Path, episodes: Iterable[ImportedEpisode], *, meta: Mapping[str, Any],
                   observation_space: gym.Space, action_space: gym.Space) -> dict[str, Any]:
    """Write episodes as the hirl dataset at out (built aside and swapped in whole); returns {episodes, steps, path}."""
    from hirl.data.assemble import write_dataset

    counts = {"episodes": 0, "steps": 0}

    def records() -> Iterator[dict[str, Any]]:
        for ep in episodes:
            counts["steps"] += ep.T
            yield episode_record(counts["episodes"], ep)
            counts["episodes"] += 1

    write_dataset(out, records(), meta=meta, observation_space=observation_space, action_space=action_space)
    return {**counts, "path": str(out)}

