"""Segments: the steps of one episode under one subgoal, with their goal (text, state and image)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from hirl.data.episode import Episode
from hirl.data.relabel import frame_rows


class Segment(NamedTuple):
    """Steps [start, end) of one episode under one subgoal: (o_{t:t+k}, a_{t:t+k}, g), k = end - start.

    obs         (k+1, D) float32  observations start..end inclusive (the last one is where the segment ended)
    actions     (k, A) float32
    goal_text   str               the subgoal's language label
    goal_state  (G,) float64      commanded state subgoal, or the achieved goal at `end` for language/image subgoals
    achieved    (G,) float64      achieved goal at observation `end`
    goal_image  (H, W, 3) uint8 or None   first stored frame at or after `end`
    source      str               expert | human | policy | relabel
    command     str               the episode's task command
    """

    episode: int
    index: int  # type: ignore[assignment]  # the segment's number in its episode (shadows tuple.index)
    start: int
    end: int
    obs: np.ndarray
    actions: np.ndarray
    goal_text: str
    goal_state: np.ndarray
    achieved: np.ndarray
    goal_image: np.ndarray | None
    source: str
    command: str


def episode_segments(position: int, e: Episode, obs_keys: Sequence[str] | None = None) -> Iterator[Segment]:
    """The segments of episode e (at `position` in its dataset), in order; obs flattened over obs_keys."""
    S = len(e.seg_start)
    obs = e.flat_obs(obs_keys).astype(np.float32)  # (T+1, D)
    goal = e.subgoal_state[e.seg_start] if e.subgoal_state is not None else e.seg_goal_state
    goal_state = np.asarray(goal, np.float64).reshape(S, -1)  # (S, G)
    achieved = np.asarray(e.seg_goal_state, np.float64).reshape(S, -1)  # (S, G)
    frames, frame = None, np.zeros(0, np.int64)
    if e.frames is not None and e.frame_steps is not None and len(e.frames):
        frames, frame = e.frames, frame_rows(e.frame_steps, e.seg_end)  # frame (S,): the end image of each segment
    for j in range(S):
        start, end = int(e.seg_start[j]), int(e.seg_end[j])
        yield Segment(position, j, start, end, obs[start:end + 1],
                      e.actions[start:end].astype(np.float32).reshape(end - start, -1), str(e.subgoal_text[start]),
                      goal_state[j], achieved[j], frames[frame[j]] if frames is not None else None,
                      str(e.subgoal_source[start]), e.command)
