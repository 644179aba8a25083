"""Training arrays for the imitation learners, built once from a dataset's episodes.

Every learner samples through GatherSampler: per-sample arrays (indices, small vectors) plus shared lookup
tables (text embeddings, command embeddings, frames), gathered per batch so nothing large is duplicated.

High-level pairs use the previously active subgoal as the hierarchy's memory of progress. For every step t of
segment j two pairs are made: (o_t, c, prev = g_{j-1}) -> g_j and (o_t, c, prev = g_j) -> g_j. So the high
level learns "after g_{j-1} comes g_j" and "keep g_j until the state shows it done", which is what it needs when
it is re-asked on completion, on a timeout, or every n steps (its memory is simply its last proposal).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from hirl.data.dataset import Dataset
from hirl.policies.features import CommandFeaturizer

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


def build_tables(ds: Dataset, obs_keys: tuple[str, ...]) -> StepTables:
    """Flatten ds into StepTables, with obs made of the Dict entries obs_keys (as the models' obs_vector does)."""
    vocab = sorted({str(t) for e in ds.episodes for t in e.subgoal_text[e.seg_start]})
    commands = sorted({e.command for e in ds.episodes})
    v_index, c_index = {t: i for i, t in enumerate(vocab)}, {c: i for i, c in enumerate(commands)}
    step: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "action", "label", "prev", "cmd", "gs", "pgs", "end")}
    frame: dict[str, list[np.ndarray]] = {k: [] for k in ("row", "label", "prev", "cmd", "end")}
    frames: list[np.ndarray] = []
    offset = 0
    for e in ds.episodes:
        T, S = e.T, len(e.seg_start)
        seg_of_step = np.searchsorted(e.seg_start, np.arange(T), side="right") - 1  # (T,) segment of each step
        labels = np.array([v_index[str(t)] for t in e.subgoal_text[e.seg_start]], np.int64)  # (S,)
        prev = np.concatenate([[NO_INDEX], labels[:-1]]).astype(np.int64)
        seg_goal = e.seg_goal_state.astype(np.float32)  # (S, G)
        prev_goal = np.concatenate([np.zeros_like(seg_goal[:1]), seg_goal[:-1]])
        seg_end_frame = np.full(S, NO_INDEX, np.int64)
        if e.frames is not None and len(e.frames):
            last = len(e.frame_steps) - 1  # the end image of a segment: the first stored frame at or after its end
            seg_end_frame = offset + np.minimum(np.searchsorted(e.frame_steps, e.seg_end, side="left"), last)
            inside = np.flatnonzero(e.frame_steps < T)  # frames taken while a segment was still running
            f_seg = seg_of_step[e.frame_steps[inside]]
            frame["row"].append(offset + inside)
            frame["label"].append(labels[f_seg])
            frame["prev"].append(prev[f_seg])
            frame["cmd"].append(np.full(len(inside), c_index[e.command], np.int64))
            frame["end"].append(seg_end_frame[f_seg])
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
    s = {k: np.concatenate(v) for k, v in step.items()}
    f = {k: (np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64)) for k, v in frame.items()}
    return StepTables(
        obs=s["obs"], action=s["action"], label=s["label"], prev_label=s["prev"], command=s["cmd"],
        goal_state=s["gs"], prev_goal_state=s["pgs"], end_frame=s["end"], vocab=vocab, commands=commands,
        frames=np.concatenate(frames) if frames else None, frame_row=f["row"], frame_label=f["label"],
        frame_prev_label=f["prev"], frame_command=f["cmd"], frame_end=f["end"],
    )


class GatherSampler:
    """Trainer batch source: (step, rng) -> dict of tensors.

    samples  name -> (M, ...) per-sample array (M the same for all)
    lookups  output name -> (table (R, ...), index name in samples); index NO_INDEX gathers zeros
    """

    def __init__(self, samples: Mapping[str, np.ndarray], lookups: Mapping[str, tuple[np.ndarray, str]], batch_size: int) -> None:
        sizes = {len(v) for v in samples.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise ValueError(f"GatherSampler: per-sample arrays must share one non-zero length, got {sorted(sizes)}")
        self.samples, self.batch_size, self.size = dict(samples), int(batch_size), sizes.pop()
        # a zero row appended at the end of every table, so NO_INDEX (-1) gathers zeros
        self.lookups = {k: (np.concatenate([t, np.zeros_like(t[:1])]), idx) for k, (t, idx) in lookups.items()}

    def gather(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        batch = {k: torch.from_numpy(np.ascontiguousarray(v[rows])) for k, v in self.samples.items()}
        for name, (table, idx) in self.lookups.items():
            batch[name] = torch.from_numpy(np.ascontiguousarray(table[self.samples[idx][rows]]))
        return batch

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        return self.gather(rng.integers(0, self.size, size=self.batch_size))

    def epochs(self, batch_size: int | None = None) -> list[dict[str, torch.Tensor]]:
        """All samples once, in order (validation)."""
        b = batch_size or self.batch_size
        return [self.gather(np.arange(i, min(i + b, self.size))) for i in range(0, self.size, b)]


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


def text_tables(t: StepTables, text_encoder: Any, max_subtasks: int,
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


class ParaphraseSampler(GatherSampler):
    """A low_language sampler whose goal text is, with probability p per sample, replaced by one of the segment
    instruction's training paraphrases (uniformly), so the low level learns the skill, not one phrasing.
    Validation batches (gather) keep the instructions as recorded."""

    def __init__(self, samples: Mapping[str, np.ndarray], lookups: Mapping[str, tuple[np.ndarray, str]], batch_size: int,
                 tt: TextTables, p: float) -> None:
        super().__init__(samples, lookups, batch_size)
        if tt.paraphrase_emb is None or tt.paraphrase_rows is None or tt.paraphrase_count is None:
            raise ValueError("ParaphraseSampler needs text tables built with paraphrases")
        self.tt, self.p = tt, float(p)

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        rows = rng.integers(0, self.size, size=self.batch_size)
        batch = self.gather(rows)
        label = self.samples["goal"][rows]
        count = self.tt.paraphrase_count[label]
        swap = np.flatnonzero((rng.random(len(rows)) < self.p) & (count > 0))
        if len(swap):
            pick = self.tt.paraphrase_rows[label[swap], rng.integers(0, count[swap])]
            batch["goal_emb"][swap] = torch.from_numpy(self.tt.paraphrase_emb[pick])
        return batch


def _two_families(t: StepTables, extra: Mapping[str, np.ndarray] = {}) -> dict[str, np.ndarray]:
    """The (prev = g_{j-1}) and (prev = g_j) copies of every step, see the module docstring."""
    both = lambda a: np.concatenate([a, a])  # noqa: E731
    out = {"obs": both(t.obs), "command": both(t.command), "target": both(t.label),
           "prev": np.concatenate([t.prev_label, t.label])}
    out.update({k: both(v) for k, v in extra.items()})
    return out


def _command_lookups(tt: TextTables) -> dict[str, tuple[np.ndarray, str]]:
    return {"command_emb": (tt.command_emb, "command"), "command_mask": (tt.command_mask, "command")}


def sampler_for(kind: str, t: StepTables, tt: TextTables | None, batch_size: int, paraphrase_p: float = 0.0) -> GatherSampler:
    """The batch source of one learner.

    kind          low_language | low_state | low_image | high_language | high_state | high_image | flat | cot
    paraphrase_p  low_language only: probability of training on a paraphrase of the goal text (needs tt's paraphrases)
    """
    if kind == "low_language":
        samples, lookups = {"obs": t.obs, "action": t.action, "goal": t.label}, {"goal_emb": (tt.vocab_emb, "goal")}
        if paraphrase_p > 0:
            return ParaphraseSampler(samples, lookups, batch_size, tt, paraphrase_p)
        return GatherSampler(samples, lookups, batch_size)
    if kind == "low_state":
        return GatherSampler({"obs": t.obs, "action": t.action, "goal_state": t.goal_state}, {}, batch_size)
    if kind == "low_image":
        ok = t.end_frame != NO_INDEX
        _need_frames(t, kind)
        return GatherSampler({"obs": t.obs[ok], "action": t.action[ok], "end": t.end_frame[ok]},
                             {"goal_image": (t.frames, "end")}, batch_size)
    if kind == "high_language":
        return GatherSampler(_two_families(t), {**_command_lookups(tt), "prev_emb": (tt.vocab_emb, "prev")}, batch_size)
    if kind == "high_state":
        s = {"obs": np.concatenate([t.obs, t.obs]), "command": np.concatenate([t.command, t.command]),
             "prev_state": np.concatenate([t.prev_goal_state, t.goal_state]),
             "target_state": np.concatenate([t.goal_state, t.goal_state])}
        return GatherSampler(s, _command_lookups(tt), batch_size)
    if kind == "high_image":
        _need_frames(t, kind)
        s = {"row": t.frame_row, "end": t.frame_end, "command": t.frame_command, "prev": t.frame_prev_label}
        return GatherSampler(s, {**_command_lookups(tt), "image": (t.frames, "row"), "target_image": (t.frames, "end"),
                                 "prev_emb": (tt.vocab_emb, "prev")}, batch_size)
    if kind == "flat":
        return GatherSampler({"obs": t.obs, "action": t.action, "command": t.command}, _command_lookups(tt), batch_size)
    if kind == "cot":
        return GatherSampler(_two_families(t, {"action": t.action}),
                             {**_command_lookups(tt), "prev_emb": (tt.vocab_emb, "prev")}, batch_size)
    raise ValueError(f"sampler_for: unknown learner kind {kind!r}")


def _need_frames(t: StepTables, kind: str) -> None:
    if t.frames is None or not len(t.frame_row):
        raise ValueError(f"{kind}: the dataset has no images; collect it with --image-every K")


def concat_tables(a: StepTables, b: StepTables) -> StepTables:
    """Rows of a then rows of b, for per-step learners (image frames are not merged: b must have none).

    Both must index the same vocabulary (labels are vocabulary indices); commands are merged and b's command
    indices shifted."""
    if a.vocab != b.vocab:
        raise ValueError("concat_tables: the tables index different subgoal vocabularies")
    if b.frames is not None:
        raise ValueError("concat_tables: cannot merge image frames")
    commands = list(dict.fromkeys(a.commands + b.commands))
    remap = np.array([commands.index(c) for c in b.commands], np.int64)
    cat = lambda x, y: np.concatenate([x, y])  # noqa: E731
    return StepTables(
        obs=cat(a.obs, b.obs), action=cat(a.action, b.action), label=cat(a.label, b.label),
        prev_label=cat(a.prev_label, b.prev_label), command=cat(a.command, remap[b.command] if len(b.command) else b.command),
        goal_state=cat(a.goal_state, b.goal_state), prev_goal_state=cat(a.prev_goal_state, b.prev_goal_state),
        end_frame=cat(a.end_frame, np.full(len(b.obs), NO_INDEX, np.int64)), vocab=a.vocab, commands=commands,
        frames=a.frames, frame_row=a.frame_row, frame_label=a.frame_label, frame_prev_label=a.frame_prev_label,
        frame_command=a.frame_command, frame_end=a.frame_end,
    )
