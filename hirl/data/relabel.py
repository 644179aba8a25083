"""Pure, vectorised relabeling (numpy only, no env, no I/O).

Hindsight goals work on *index arrays*: for a sample at row t whose window (its segment or its episode) spans
observation rows [lo, hi], the functions return the row whose achieved goal becomes the new goal. Index any goal
array with the result (achieved states, image frames via `frame_rows`, embeddings, ...).

    strategy "final"    hi                          (the window's last observation)
             "future"   uniform in [min(t+1, hi), hi] (HER "future": something reached after this step)
             "episode"  uniform in [lo, hi]         (HER "episode": anything reached in the window)

Hindsight language relabeling: a segment commanded to do subtask c that instead achieved subtask d (by the env's
completion predicates) is relabelled with d's instruction."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

STRATEGIES = ("final", "future", "episode")
WINDOWS = ("segment", "episode")


@dataclass(frozen=True)
class HindsightConfig:
    strategy: str = "future"  # final | future | episode
    window: str = "segment"  # segment: goals from the same segment; episode: from anywhere later in the episode
    ratio: float = 0.8  # fraction of samples whose goal is replaced (HER's relabel probability)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"hindsight strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.window not in WINDOWS:
            raise ValueError(f"hindsight window must be one of {WINDOWS}, got {self.window!r}")
        if not 0.0 <= self.ratio <= 1.0:
            raise ValueError(f"hindsight ratio must be in [0, 1], got {self.ratio}")


def hindsight_indices(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, strategy: str, u: np.ndarray) -> np.ndarray:
    """Goal rows (B,) int64 for samples at rows t (B,) with windows [lo, hi] (B,), lo <= t <= hi.
    u (B,) uniform draws in [0, 1) decide the random strategies (pass rng.random(B))."""
    t, lo, hi = (np.asarray(x, dtype=np.int64) for x in (t, lo, hi))
    if strategy == "final":
        return hi.copy()
    if strategy == "future":
        first = np.minimum(t + 1, hi)
    elif strategy == "episode":
        first = lo
    else:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    n = hi - first + 1
    return first + np.minimum((np.asarray(u, dtype=np.float64) * n).astype(np.int64), n - 1)


def relabel_indices(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, strategy: str, ratio: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(goal rows (B,), relabelled mask (B,) bool): a `ratio` fraction of samples get hindsight goal rows.
    Draws rng.random(B) for the mask, then rng.random(B) for the strategy (in that order)."""
    b = len(np.asarray(t))
    mask = rng.random(b) < ratio
    rows = hindsight_indices(t, lo, hi, strategy, rng.random(b))
    return rows, mask


def window_bounds(segment_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-step segment ids (T,) of one episode: (lo, hi) (T,) = each step's segment [start, end] in observation
    rows, where end is the first step of the next segment (the observation the segment ended in) or T."""
    seg = np.asarray(segment_ids)
    T = len(seg)
    change = np.flatnonzero(np.diff(seg)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [T]])
    which = np.searchsorted(starts, np.arange(T), side="right") - 1
    return starts[which].astype(np.int64), ends[which].astype(np.int64)


def frame_rows(frame_steps: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Index into an episode's frames for observation rows: the first frame at or after each row (else the last),
    so image goals can be relabelled with the same index arrays as state goals."""
    steps = np.asarray(frame_steps, dtype=np.int64)
    return np.minimum(np.searchsorted(steps, np.asarray(rows, dtype=np.int64), side="left"), len(steps) - 1)


# ------------------------------------------------------------------- language
class LanguageRelabel(NamedTuple):
    """label (S,) int64 index into the names the segment is labelled with (its command unless relabelled);
    relabelled (S,) bool; success (S,) bool the commanded subtask was achieved;
    achieved_other (S,) bool some other subtask was newly achieved (relabelled or ambiguous)."""

    label: np.ndarray
    relabelled: np.ndarray
    success: np.ndarray
    achieved_other: np.ndarray


def hindsight_language(commanded: np.ndarray, pred_start: np.ndarray, pred_end: np.ndarray,
                       ambiguous: str = "skip") -> LanguageRelabel:
    """Relabel attempted segments with what they actually achieved.

    commanded   (S,) int64   index of each segment's commanded subtask in the predicate columns (-1: unknown)
    pred_start  (S, P) bool  the env's completion predicates at the segment's first observation
    pred_end    (S, P) bool  the same predicates at the observation where the segment ended
    ambiguous   several subtasks newly achieved and not the commanded one: "skip" keeps the command label
                (achieved_other marks it), "first" relabels with the lowest column index

    A segment succeeded when the commanded predicate holds at the end. Otherwise, if a predicate turned from
    false to true during the segment, the segment demonstrates that subtask and is relabelled with it."""
    cmd = np.asarray(commanded, dtype=np.int64)
    start, end = np.asarray(pred_start, dtype=bool), np.asarray(pred_end, dtype=bool)
    if start.shape != end.shape or start.ndim != 2 or start.shape[0] != cmd.shape[0]:
        raise ValueError(f"shapes: commanded {cmd.shape}, pred_start {start.shape}, pred_end {end.shape}")
    if ambiguous not in ("skip", "first"):
        raise ValueError(f"ambiguous must be 'skip' or 'first', got {ambiguous!r}")
    S = cmd.shape[0]
    rows = np.arange(S)
    known = cmd >= 0
    success = np.zeros(S, bool)
    success[known] = end[rows[known], cmd[known]]
    newly = end & ~start
    n_new = newly.sum(axis=1)
    first_new = np.argmax(newly, axis=1)
    achieved_other = ~success & (n_new > 0)
    take = achieved_other & ((n_new == 1) | (ambiguous == "first"))
    label = np.where(take, first_new, cmd).astype(np.int64)
    return LanguageRelabel(label, take, success, achieved_other)


def relabel_texts(names: Sequence[str], commanded_text: Sequence[str], pred_start: np.ndarray, pred_end: np.ndarray,
                  canonical: dict[str, str] | None = None, ambiguous: str = "skip") -> tuple[list[str], np.ndarray]:
    """Text-level wrapper: commanded instructions (S,) -> (instructions after relabeling, relabelled mask).
    names: the predicate columns' instructions; canonical: optional text -> column instruction map (paraphrases)."""
    col = {n: i for i, n in enumerate(names)}
    canonical = canonical or {}
    cmd = np.array([col.get(canonical.get(t, t), -1) for t in commanded_text], dtype=np.int64)
    r = hindsight_language(cmd, pred_start, pred_end, ambiguous)
    out = [names[int(r.label[i])] if r.relabelled[i] else str(commanded_text[i]) for i in range(len(cmd))]
    return out, r.relabelled
