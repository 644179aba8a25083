"""The one dataset-to-table builder: flat per-step training tables (StepTables) and their text embeddings.

    t = build_tables(ds, obs_keys)                         # from dataset episodes
    t = tables_from_rows(obs, action, label, ...)          # from rows that are not dataset episodes (adapt, corrections)
    m = concat_tables(a, b); r = remap_vocab(t, vocab)     # merging and re-indexing
    goal, relabelled = hindsight_goal_state(t, HindsightConfig("future"), rng)   # HER goals for state low levels
    tt = text_tables(t, text_encoder, max_subtasks)        # embeddings of t's vocabulary and commands
    ahead, behind = segment_steps_ahead(t), episode_steps_behind(t)   # run lengths for chunk / history samplers
    goal = goal_state_ahead(t, k)                          # achieved goal k steps ahead (short-horizon subgoals)

Every StepTables is built in this module; the learners' samplers (hirl.learn.imitation_data) only read them."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hirl.data.dataset import Dataset
from hirl.data.relabel import HindsightConfig, relabel_indices
from hirl.encoders.commands import CommandFeaturizer
from hirl.encoders.text import TextEncoder

NO_INDEX = -1  # lookup index meaning "none": gathers a zero row


@dataclass
class StepTables:
    """Per-step arrays over all episodes (N steps in total), per-frame arrays (F usable frames) and the texts.

    obs (N, S) float32, action (N, A) float32
    label (N,) int64            vocabulary index of the active segment's subgoal text
    prev_label (N,) int64       label of the previous segment in the episode, NO_INDEX at the first
    command (N,) int64          index into commands
    goal_state (N, G) float32   achieved goal at the end of the active segment
    prev_goal_state (N, G)      goal_state of the previous segment, zeros at the first (as StateHighLevel starts)
    end_frame (N,) int64        row in frames of the segment's end image (NO_INDEX without images)
    frames (R, H, W, 3) uint8   all stored frames, or None
    frame_row/label/prev_label/command/end (F,) int64: for each frame taken inside a segment, its row, the
                                segment's label, the previous segment's label, the command and the end-image row
    achieved (O, G) float32     achieved goal at every observation of every episode (T+1 rows each; O = 0 without episodes)
    obs_row (N,) int64          row in achieved of the step's observation (NO_INDEX: the row is not from an episode)
    segment_window (N, 2) int64 [first, last] rows in achieved of the step's segment (its start .. the observation it
                                ended in), NO_INDEX without an episode
    episode_window (N, 2) int64 [first, last] rows in achieved of the step's episode, NO_INDEX without an episode
    frame_obs_row (R,) int64    row in achieved of each stored frame's observation (what the frame shows)
    """

    obs: np.ndarray
    action: np.ndarray
    label: np.ndarray
    prev_label: np.ndarray
    command: np.ndarray
    goal_state: np.ndarray
    prev_goal_state: np.ndarray
    end_frame: np.ndarray
    vocab: list[str]
    commands: list[str]
    frames: np.ndarray | None
    frame_row: np.ndarray
    frame_label: np.ndarray
    frame_prev_label: np.ndarray
    frame_command: np.ndarray
    frame_end: np.ndarray
    achieved: np.ndarray
    obs_row: np.ndarray
    segment_window: np.ndarray
    episode_window: np.ndarray
    frame_obs_row: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def _no_frames() -> dict[str, Any]:
    """The frame fields of tables without images."""

    def empty() -> np.ndarray:  # (0,) int64
        return np.zeros(0, np.int64)

    return dict(frames=None, frame_row=empty(), frame_label=empty(), frame_prev_label=empty(), frame_command=empty(),
                frame_end=empty(), frame_obs_row=empty())


def build_tables(ds: Dataset, obs_keys: tuple[str, ...]) -> StepTables:
    """Flatten ds into StepTables, with obs made of the Dict entries obs_keys (as the models' obs_vector does)."""
    vocab = sorted({str(t) for e in ds.episodes for t in e.subgoal_text[e.seg_start]})
    commands = sorted({e.command for e in ds.episodes})
    v_index, c_index = {t: i for i, t in enumerate(vocab)}, {c: i for i, c in enumerate(commands)}
    step: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "action", "label", "prev", "cmd", "gs", "pgs", "end",
                                                         "row", "seg_win", "ep_win")}
    frame: dict[str, list[np.ndarray]] = {k: [] for k in ("row", "label", "prev", "cmd", "end", "obs_row")}
    frames: list[np.ndarray] = []
    achieved: list[np.ndarray] = []
    offset = obs_offset = 0
    for e in ds.episodes:
        T, S = e.T, len(e.seg_start)
        seg_of_step = np.searchsorted(e.seg_start, np.arange(T), side="right") - 1  # (T,) segment of each step
        labels = np.array([v_index[str(t)] for t in e.subgoal_text[e.seg_start]], np.int64)  # (S,)
        prev = np.concatenate([[NO_INDEX], labels[:-1]]).astype(np.int64)
        seg_goal = e.seg_goal_state.astype(np.float32)  # (S, G)
        prev_goal = np.concatenate([np.zeros_like(seg_goal[:1]), seg_goal[:-1]])
        seg_end_frame = np.full(S, NO_INDEX, np.int64)
        if e.frames is not None and e.frame_steps is not None and len(e.frames):
            last = len(e.frame_steps) - 1  # the end image of a segment: the first stored frame at or after its end
            seg_end_frame = offset + np.minimum(np.searchsorted(e.frame_steps, e.seg_end, side="left"), last)
            inside = np.flatnonzero(e.frame_steps < T)  # frames taken while a segment was still running
            f_seg = seg_of_step[e.frame_steps[inside]]
            frame["row"].append(offset + inside)
            frame["label"].append(labels[f_seg])
            frame["prev"].append(prev[f_seg])
            frame["cmd"].append(np.full(len(inside), c_index[e.command], np.int64))
            frame["end"].append(seg_end_frame[f_seg])
            frame["obs_row"].append(obs_offset + np.minimum(e.frame_steps, T))
            frames.append(e.frames)
            offset += len(e.frames)
        step["obs"].append(e.flat_obs(obs_keys)[:T].astype(np.float32))
        step["action"].append(e.actions.reshape(T, -1).astype(np.float32))
        step["label"].append(labels[seg_of_step])
        step["prev"].append(prev[seg_of_step])
        step["cmd"].append(np.full(T, c_index[e.command], np.int64))
        step["gs"].append(seg_goal[seg_of_step])
        step["pgs"].append(prev_goal[seg_of_step])
        step["end"].append(seg_end_frame[seg_of_step])
        achieved.append(e.achieved().reshape(T + 1, -1).astype(np.float32))
        step["row"].append(obs_offset + np.arange(T, dtype=np.int64))
        window = np.stack([e.seg_start[seg_of_step], e.seg_end[seg_of_step]], axis=1).astype(np.int64)  # (T, 2)
        step["seg_win"].append(obs_offset + window)
        step["ep_win"].append(np.tile(np.array([obs_offset, obs_offset + T], np.int64), (T, 1)))
        obs_offset += T + 1
    s = {k: np.concatenate(v) for k, v in step.items()}
    f = {k: (np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64)) for k, v in frame.items()}
    return StepTables(
        obs=s["obs"], action=s["action"], label=s["label"], prev_label=s["prev"], command=s["cmd"],
        goal_state=s["gs"], prev_goal_state=s["pgs"], end_frame=s["end"], vocab=vocab, commands=commands,
        frames=np.concatenate(frames) if frames else None, frame_row=f["row"], frame_label=f["label"],
        frame_prev_label=f["prev"], frame_command=f["cmd"], frame_end=f["end"], frame_obs_row=f["obs_row"],
        achieved=np.concatenate(achieved), obs_row=s["row"], segment_window=s["seg_win"], episode_window=s["ep_win"],
    )


def tables_from_rows(obs: np.ndarray, action: np.ndarray, label: np.ndarray, prev_label: np.ndarray, command: np.ndarray,
                     goal_state: np.ndarray, prev_goal_state: np.ndarray, vocab: list[str], commands: list[str],
                     achieved: np.ndarray | None = None) -> StepTables:
    """StepTables of n rows that are not dataset episodes (learner rollouts labelled by an expert, corrections):
    obs (n, S), action (n, A), goal_state / prev_goal_state (n, G) float32; label / prev_label (n,) vocab indices
    or NO_INDEX; command (n,) indices into commands. No images. achieved (n, G): the achieved goal at each row's
    observation (what residual state models read, achieved_now); each row is then its own one-observation window
    (no hindsight or look-ahead past it). None: no achieved goals and no windows."""
    n, goal_dim = len(label), goal_state.shape[1]
    rows = np.arange(n, dtype=np.int64) if achieved is not None else np.full(n, NO_INDEX, np.int64)
    window = np.stack([rows, rows], axis=1)
    return StepTables(
        obs=obs, action=action, label=label, prev_label=prev_label, command=command, goal_state=goal_state,
        prev_goal_state=prev_goal_state, end_frame=np.full(n, NO_INDEX, np.int64), vocab=vocab, commands=commands,
        **_no_frames(), obs_row=rows, segment_window=window, episode_window=window.copy(),
        achieved=(np.asarray(achieved, np.float32).reshape(n, goal_dim) if achieved is not None
                  else np.zeros((0, goal_dim), np.float32)),
    )


def tables_from_state_episodes(states: list[np.ndarray], actions: list[np.ndarray]) -> StepTables:
    """StepTables of unlabelled episodes whose achieved goals are their states (OGBench-style data): states[i]
    (T_i + 1, S) float32 (every observation, the last one after the last action), actions[i] (T_i, A). Each episode
    is one segment with label 0 of vocab ["-"] and command 0 of ["-"]; goal_state zeros; no images."""
    if len(states) != len(actions) or not states:
        raise ValueError(f"states and actions: one array per episode, got {len(states)} and {len(actions)}")
    rows, windows = [], []
    offset = 0
    for i, (x, a) in enumerate(zip(states, actions, strict=True)):
        if len(x) != len(a) + 1:
            raise ValueError(f"episode {i}: states must have one row more than actions, got {len(x)} and {len(a)}")
        rows.append(offset + np.arange(len(a), dtype=np.int64))
        windows.append(np.tile(np.array([offset, offset + len(a)], np.int64), (len(a), 1)))
        offset += len(x)
    n, goal_dim = sum(len(a) for a in actions), states[0].shape[1]
    zeros = np.zeros(n, np.int64)
    window = np.concatenate(windows)
    return StepTables(
        obs=np.concatenate([x[:-1] for x in states]).astype(np.float32), action=np.concatenate(actions).astype(np.float32),
        label=zeros, prev_label=np.full(n, NO_INDEX, np.int64), command=zeros,
        goal_state=np.zeros((n, goal_dim), np.float32), prev_goal_state=np.zeros((n, goal_dim), np.float32),
        end_frame=np.full(n, NO_INDEX, np.int64), vocab=["-"], commands=["-"], **_no_frames(),
        achieved=np.concatenate(states).astype(np.float32), obs_row=np.concatenate(rows), segment_window=window,
        episode_window=window.copy(),
    )


def _shift(rows: np.ndarray, by: int) -> np.ndarray:
    """rows + by, leaving NO_INDEX entries as they are."""
    return np.where(rows == NO_INDEX, rows, rows + by)


def concat_tables(a: StepTables, b: StepTables) -> StepTables:
    """Rows of a then rows of b, for per-step learners (image frames are not merged: b must have none).

    Both must index the same vocabulary (labels are vocabulary indices); commands are merged and b's command
    indices shifted; b's achieved goals follow a's (b's hindsight rows shifted)."""
    if a.vocab != b.vocab:
        raise ValueError("concat_tables: the tables index different subgoal vocabularies")
    if b.frames is not None:
        raise ValueError("concat_tables: cannot merge image frames")
    commands = list(dict.fromkeys(a.commands + b.commands))
    remap = np.array([commands.index(c) for c in b.commands], np.int64)

    def cat(x: np.ndarray, y: np.ndarray) -> np.ndarray:  # a's rows, then b's
        return np.concatenate([x, y])

    o = len(a.achieved)
    return StepTables(
        obs=cat(a.obs, b.obs), action=cat(a.action, b.action), label=cat(a.label, b.label),
        prev_label=cat(a.prev_label, b.prev_label), command=cat(a.command, remap[b.command] if len(b.command) else b.command),
        goal_state=cat(a.goal_state, b.goal_state), prev_goal_state=cat(a.prev_goal_state, b.prev_goal_state),
        end_frame=cat(a.end_frame, np.full(len(b.obs), NO_INDEX, np.int64)), vocab=a.vocab, commands=commands,
        frames=a.frames, frame_row=a.frame_row, frame_label=a.frame_label, frame_prev_label=a.frame_prev_label,
        frame_command=a.frame_command, frame_end=a.frame_end, frame_obs_row=a.frame_obs_row,
        achieved=cat(a.achieved, b.achieved),
        obs_row=cat(a.obs_row, _shift(b.obs_row, o)), segment_window=cat(a.segment_window, _shift(b.segment_window, o)),
        episode_window=cat(a.episode_window, _shift(b.episode_window, o)),
    )


def remap_vocab(t: StepTables, vocab: list[str]) -> StepTables:
    """t re-indexed over another vocabulary; rows whose subgoal is outside it are dropped (previous subgoals
    outside it become NO_INDEX), and image frames are dropped. E.g. for comparing corrections with extra
    demonstrations on the same high level."""
    index = np.array([vocab.index(v) if v in vocab else NO_INDEX for v in t.vocab] + [NO_INDEX], np.int64)
    label, prev = index[t.label], index[t.prev_label]  # NO_INDEX (-1) picks the trailing NO_INDEX entry
    return select_rows(replace(t, label=label, prev_label=prev, vocab=list(vocab)), label != NO_INDEX)


def select_rows(t: StepTables, keep: np.ndarray) -> StepTables:
    """The rows of t where keep (N,) bool holds; achieved goals and commands stay whole (the kept rows' windows and
    command indices still point into them); image frames are dropped."""
    return StepTables(
        obs=t.obs[keep], action=t.action[keep], label=t.label[keep], prev_label=t.prev_label[keep],
        command=t.command[keep], goal_state=t.goal_state[keep], prev_goal_state=t.prev_goal_state[keep],
        end_frame=np.full(int(keep.sum()), NO_INDEX, np.int64), vocab=list(t.vocab), commands=t.commands,
        **_no_frames(), achieved=t.achieved, obs_row=t.obs_row[keep], segment_window=t.segment_window[keep],
        episode_window=t.episode_window[keep],
    )


def held_out_episodes(t: StepTables, every: int) -> np.ndarray:
    """(N,) bool: the rows of every `every`-th episode of t (episodes in the order they start in achieved; rows not
    from an episode are never held out)."""
    first = t.episode_window[:, 0]
    order = np.unique(first, return_inverse=True)[1]
    return (first >= 0) & (order % every == every - 1)


def hindsight_goal_state(t: StepTables, cfg: HindsightConfig, rng: np.random.Generator,
                         rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """HER goals for state-goal low levels: (goal_state (B, G) float32, relabelled (B,) bool) for table rows
    (B,) (default: every row). A cfg.ratio fraction of the rows taken from episodes get the achieved goal of a
    hindsight observation (relabel.relabel_indices with cfg.strategy over the step's segment or episode window,
    cfg.window); the others keep t.goal_state. Draws rng.random(B) twice (mask, then strategy)."""
    idx = np.arange(len(t.obs)) if rows is None else np.asarray(rows, dtype=np.int64)
    window = t.segment_window[idx] if cfg.window == "segment" else t.episode_window[idx]
    goal_rows, relabelled = relabel_indices(t.obs_row[idx], window[:, 0], window[:, 1], cfg.strategy, cfg.ratio, rng)
    relabelled &= t.obs_row[idx] != NO_INDEX
    goal = t.goal_state[idx].copy()
    goal[relabelled] = t.achieved[goal_rows[relabelled]]
    return goal, relabelled


def goal_state_ahead(t: StepTables, k: int) -> np.ndarray:
    """(N, G) float32: for each row, the achieved goal k steps after its observation in its episode (the episode's
    last observation when fewer than k steps remain) -- HIQL's subgoal target; rows not from an episode keep
    t.goal_state. k >= 1."""
    if k < 1:
        raise ValueError(f"goal_state_ahead: k must be >= 1, got {k}")
    goal = t.goal_state.copy()
    ok = t.obs_row != NO_INDEX
    goal[ok] = t.achieved[np.minimum(t.obs_row[ok] + k, t.episode_window[ok, 1])]
    return goal


def achieved_now(t: StepTables) -> np.ndarray:
    """(N, G) float32: the achieved goal at each row's observation; rows not from an episode get their goal_state
    (a residual target of zero)."""
    ok = (t.obs_row != NO_INDEX)[:, None]
    return np.where(ok, t.achieved[np.maximum(t.obs_row, 0)], t.goal_state).astype(np.float32)


def segment_index(t: StepTables) -> np.ndarray:
    """(N,) int64: how many segments of the row's episode came before the row's segment (the subtasks a demonstration
    had completed: the chain's progress); 0 for rows not from an episode."""
    out = np.zeros(len(t.obs), np.int64)
    ok = t.obs_row != NO_INDEX
    if not ok.any():
        return out
    episode, start = t.episode_window[ok, 0], t.segment_window[ok, 0]
    pairs, inverse = np.unique(np.stack([episode, start], axis=1), axis=0, return_inverse=True)  # sorted by episode
    first = np.searchsorted(pairs[:, 0], pairs[:, 0], side="left")  # each episode's first segment
    out[ok] = (np.arange(len(pairs)) - first)[inverse.reshape(-1)]
    return out


def _run_ahead(cont: np.ndarray) -> np.ndarray:
    """cont (N,) bool: row i+1 continues row i's run -> (N,) int64 rows of the run from row i on (row i included)."""
    n = len(cont)
    idx = np.arange(n, dtype=np.int64)
    ends = np.where(~cont, idx, n)  # a run ends at every row not continued by the next
    return np.minimum.accumulate(ends[::-1])[::-1] - idx + 1


def _continues(t: StepTables, window: np.ndarray) -> np.ndarray:
    """(N,) bool: row i+1 is the next step after row i of the same window (segment or episode) of an episode."""
    cont = np.zeros(len(t.obs), bool)
    if len(cont) > 1:
        same = np.all(window[1:] == window[:-1], axis=1) & (t.obs_row[1:] == t.obs_row[:-1] + 1)
        cont[:-1] = same & (t.obs_row[:-1] != NO_INDEX)
    return cont


def segment_steps_ahead(t: StepTables) -> np.ndarray:
    """(N,) int64: the steps of the row's segment from this row on, itself included (>= 1), counted along consecutive
    table rows: rows not from an episode (tables_from_rows) count 1. Chunk samplers read H actions of the segment."""
    return _run_ahead(_continues(t, t.segment_window))


def episode_steps_behind(t: StepTables) -> np.ndarray:
    """(N,) int64: the steps of the row's episode before this row (0 at its first step), counted along consecutive
    table rows: rows not from an episode count 0. History samplers read up to k - 1 observations back."""
    cont = _continues(t, t.episode_window)
    n = len(cont)
    idx = np.arange(n, dtype=np.int64)
    starts = np.where(np.concatenate([[True], ~cont[:-1]]) if n else np.zeros(0, bool), idx, 0)  # first row of each run
    return idx - np.maximum.accumulate(starts) if n else np.zeros(0, np.int64)


@dataclass
class TextTables:
    """vocab_emb (V, E) embeddings of StepTables.vocab; command_emb (C, K, E) + command_mask (C, K) of its commands.

    Paraphrases of the vocabulary (for goal-text augmentation), when given:
    paraphrase_emb (R, E)   their embeddings
    paraphrase_rows (V, P)  rows of paraphrase_emb for each vocabulary entry, NO_INDEX-padded
    paraphrase_count (V,)   how many each entry has"""

    vocab_emb: np.ndarray
    command_emb: np.ndarray
    command_mask: np.ndarray
    paraphrase_emb: np.ndarray | None = None
    paraphrase_rows: np.ndarray | None = None
    paraphrase_count: np.ndarray | None = None


def text_tables(t: StepTables, text_encoder: TextEncoder, max_subtasks: int,
                paraphrases: Callable[[str], Sequence[str]] | None = None) -> TextTables:
    """Embeddings of t's vocabulary and commands; paraphrases(text) -> the training paraphrases of a vocabulary entry."""
    featurize = CommandFeaturizer(text_encoder, max_subtasks)
    emb, mask = featurize.batch(t.commands)
    tables = TextTables(np.asarray(text_encoder.encode(t.vocab), np.float32), emb.astype(np.float32), mask)
    if paraphrases is not None:
        lists = [list(paraphrases(v)) for v in t.vocab]
        texts = [p for ps in lists for p in ps]
        rows = np.full((len(lists), max([len(ps) for ps in lists] + [1])), NO_INDEX, np.int64)
        start = 0
        for i, ps in enumerate(lists):
            rows[i, :len(ps)] = np.arange(start, start + len(ps))
            start += len(ps)
        tables.paraphrase_emb = (np.asarray(text_encoder.encode(texts), np.float32) if texts
                                 else np.zeros((0, tables.vocab_emb.shape[1]), np.float32))
        tables.paraphrase_rows, tables.paraphrase_count = rows, np.array([len(ps) for ps in lists], np.int64)
    return tables
