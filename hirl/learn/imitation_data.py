"""Batch sources of the imitation learners over the training tables (hirl.data.tables builds them).

Every learner samples through GatherSampler: per-sample arrays (indices, small vectors) plus shared lookup
tables (text embeddings, command embeddings, frames), gathered per batch so nothing large is duplicated.

Networks with an action head (hirl.policies.heads) read their observations and actions through action_samples:
the plain per-step arrays for a single-step head (the default), else row indices into the step tables gathered
per batch (vectorised, no per-sample Python):
    chunks   action (B, H, A): the actions of rows i .. i+H-1 of the SAME segment. Past the segment's end the chunk
             is padded with the segment's last action and action_mask (B, H) is 0 there (the loss skips those steps
             unless head.pad_loss). The next segment's actions are never used: they belong to another subgoal, and
             at inference the subgoal switch drops the pending actions anyway.
    history  obs (B, k, S), oldest first: rows i-k+1 .. i of the same episode (across its segment switches, as the
             inference history runs), edge-padded (the episode's first observation repeated) or zero-padded before it.
Rows that are not from dataset episodes (adapt / correction rows: tables_from_rows) have no neighbours: their chunk is
the one labelled action (mask 1, 0, ...) and their history the row itself.

High-level pairs use the previously active subgoal as the hierarchy's memory of progress. For every step t of
segment j two pairs are made: (o_t, c, prev = g_{j-1}) -> g_j and (o_t, c, prev = g_j) -> g_j. So the high
level learns "after g_{j-1} comes g_j" and "keep g_j until the state shows it done", which is what it needs when
it is re-asked on completion, on a timeout, or every n steps (its memory is simply its last proposal).
later_subtask_pairs adds (o_t, c, prev = g_k, a later subtask of the same chain) -> g_j: the memory runs ahead of
what the state shows, as after a disturbance undid a finished subtask, and the state decides (the first subtask not
done); clean demonstrations never show that, so a high level trained on them alone re-proposes the subtask after
its memory.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from hirl.data.tables import NO_INDEX, StepTables, TextTables, episode_steps_behind, segment_steps_ahead
from hirl.encoders.commands import command_subtasks
from hirl.policies.heads import HeadConfig


class GatherSampler:
    """Trainer batch source: (step, rng) -> dict of tensors.

    samples  name -> (M, ...) per-sample array (M the same for all)
    lookups  output name -> (table (R, ...), index name in samples); index NO_INDEX gathers zeros
    labels   (M,) vocabulary index of each sample's segment subgoal (low levels), for a curriculum (set_curriculum)
    """

    def __init__(
        self, samples: Mapping[str, np.ndarray], lookups: Mapping[str, tuple[np.ndarray, str]], batch_size: int,
        labels: np.ndarray | None = None,
    ) -> None:
        sizes = {len(v) for v in samples.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise ValueError(f"GatherSampler: per-sample arrays must share one non-zero length, got {sorted(sizes)}")
        self.samples, self.batch_size, self.size = dict(samples), int(batch_size), sizes.pop()
        # a zero row appended at the end of every table, so NO_INDEX (-1) gathers zeros
        self.lookups = {k: (np.concatenate([t, np.zeros_like(t[:1])]), idx) for k, (t, idx) in lookups.items()}
        if labels is not None and len(labels) != self.size:
            raise ValueError(f"GatherSampler: labels has {len(labels)} rows for {self.size} samples")
        self.labels = labels
        self._pools: list[np.ndarray] | None = None  # per stage: the sample rows in play (set_curriculum)
        self._stage_of_step: Callable[[int], int] = lambda step: 0

    def set_curriculum(self, skill_stage: np.ndarray, stage_of_step: Callable[[int], int], n_stages: int) -> list[int]:
        """Draw training rows only from the skills of stages <= stage_of_step(step) (hirl.curriculum).
        skill_stage (V,): the stage (0 .. n_stages - 1) each vocabulary entry enters at. Returns the rows in play per
        stage (a stage adding no skill of the data keeps the last one's rows)."""
        if self.labels is None:
            raise ValueError("GatherSampler.set_curriculum needs per-sample labels")
        row_stage = np.asarray(skill_stage)[self.labels]
        self._pools = [np.flatnonzero(row_stage <= k) for k in range(int(n_stages))]
        self._stage_of_step = stage_of_step
        return [len(p) for p in self._pools]

    def draw(self, step: int, rng: np.random.Generator) -> np.ndarray:
        """(batch_size,) sample rows of training step `step`: uniform over the rows in play."""
        if self._pools is None:
            return rng.integers(0, self.size, size=self.batch_size)
        pool = self._pools[min(self._stage_of_step(step), len(self._pools) - 1)]
        return pool[rng.integers(0, len(pool), size=self.batch_size)]

    def gather(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        batch = {k: torch.from_numpy(np.ascontiguousarray(v[rows])) for k, v in self.samples.items()}
        for name, (table, idx) in self.lookups.items():
            batch[name] = torch.from_numpy(np.ascontiguousarray(table[self.samples[idx][rows]]))
        return batch

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        return self.gather(self.draw(step, rng))

    def epochs(self, batch_size: int | None = None) -> list[dict[str, torch.Tensor]]:
        """All samples once, in order (validation)."""
        b = batch_size or self.batch_size
        return [self.gather(np.arange(i, min(i + b, self.size))) for i in range(0, self.size, b)]


class ParaphraseSampler(GatherSampler):
    """A low_language sampler whose goal text is, with probability p per sample, replaced by one of the segment
    instruction's training paraphrases (uniformly), so the low level learns the skill, not one phrasing.
    Validation batches (gather) keep the instructions as recorded."""

    def __init__(self, samples: Mapping[str, np.ndarray], lookups: Mapping[str, tuple[np.ndarray, str]], batch_size: int,
                 tt: TextTables, p: float, labels: np.ndarray | None = None) -> None:
        super().__init__(samples, lookups, batch_size, labels)
        self.phrasings = TrainingPhrasings(tt)
        self.p = float(p)

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        rows = self.draw(step, rng)
        batch = self.gather(rows)
        self.phrasings.swap(batch["goal_emb"], self.samples["goal"][rows], self.p, rng)
        return batch


class CommandParaphraseSampler(GatherSampler):
    """A high-level sampler whose command subtasks are, each with probability p per sample, replaced by one of that
    instruction's training paraphrases, so the command encoder learns the skills, not one phrasing.
    command_labels (C, K): the vocabulary index of each command's k-th subtask (NO_INDEX: padding or not in the
    vocabulary: kept). Validation batches (gather) keep the commands as recorded."""

    def __init__(self, samples: Mapping[str, np.ndarray], lookups: Mapping[str, tuple[np.ndarray, str]], batch_size: int,
                 tt: TextTables, p: float, command_labels: np.ndarray) -> None:
        super().__init__(samples, lookups, batch_size)
        # None over tables without paraphrases (validation: gather only); training draws need them
        self.phrasings = TrainingPhrasings(tt) if tt.paraphrase_emb is not None else None
        self.p, self.command_labels = float(p), np.asarray(command_labels, np.int64)

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        if self.phrasings is None:
            raise ValueError("command augmentation needs text tables built with paraphrases (paraphrase_augment > 0)")
        rows = self.draw(step, rng)
        batch = self.gather(rows)
        labels = self.command_labels[self.samples["command"][rows]]  # (B, K)
        self.phrasings.swap(batch["command_emb"].view(-1, batch["command_emb"].shape[-1]), labels.reshape(-1),
                            self.p, rng)
        return batch


class TrainingPhrasings:
    """The text tables' training paraphrases of each vocabulary entry, drawn to replace embeddings in a batch."""

    def __init__(self, tt: TextTables) -> None:
        if tt.paraphrase_emb is None or tt.paraphrase_rows is None or tt.paraphrase_count is None:
            raise ValueError("paraphrase augmentation needs text tables built with paraphrases")
        # (R, E) embeddings, (V, P) their rows per vocabulary entry, (V,) how many each entry has
        self.emb, self.rows, self.count = tt.paraphrase_emb, tt.paraphrase_rows, tt.paraphrase_count

    def swap(self, emb: torch.Tensor, labels: np.ndarray, p: float, rng: np.random.Generator) -> None:
        """In place: each row n of emb (N, E) whose label (N,) is a vocabulary entry with paraphrases becomes, with
        probability p, one of them (uniformly); rows labelled NO_INDEX are kept."""
        known = labels >= 0
        count = np.where(known, self.count[np.where(known, labels, 0)], 0)
        swap = np.flatnonzero((rng.random(len(labels)) < p) & (count > 0))
        if len(swap):
            pick = self.rows[labels[swap], rng.integers(0, count[swap])]
            emb[swap] = torch.from_numpy(self.emb[pick])


def command_labels(t: StepTables, max_subtasks: int) -> np.ndarray:
    """(C, K) int64: the vocabulary index of each of t's commands' subtasks (NO_INDEX past the last or when the
    subtask's text is not a vocabulary entry)."""
    index = {v: i for i, v in enumerate(t.vocab)}
    out = np.full((len(t.commands), int(max_subtasks)), NO_INDEX, np.int64)
    for c, text in enumerate(t.commands):
        for k, sub in enumerate(command_subtasks(text)[:max_subtasks]):
            out[c, k] = index.get(sub, NO_INDEX)
    return out


@dataclass(frozen=True)
class Family:
    """One row family of a MixedSampler: its batch source, the weight of its rows in the loss, the pool it is in."""

    name: str
    sampler: GatherSampler
    weight: float  # each of its rows' weight in the loss (batch entry "weight")
    pool: int  # index into MixedSampler.shares


class MixedSampler:
    """Trainer batch source mixing row families (e.g. demonstrations, corrected states, approved decisions).

    Each batch of batch_size rows takes round(shares[p] * batch_size) rows from pool p (at least one when
    shares[p] > 0; the last pool takes what is left), spread over the pool's families in proportion to their sizes
    (so the rows of a pool are drawn uniformly), and carries "weight" (B,) float32: each row's family weight.
    Draws only from the trainer's rng (exact resume). Every family's batches must have the same keys.

    families  the families (none empty: a GatherSampler has >= 1 sample)
    shares    (P,) fraction of each batch from each pool, summing to 1; every pool with a share > 0 has a family"""

    def __init__(self, families: list[Family], shares: list[float], batch_size: int) -> None:
        if abs(sum(shares) - 1.0) > 1e-6 or min(shares) < 0:
            raise ValueError(f"MixedSampler: shares must be >= 0 and sum to 1, got {shares}")
        self.families, self.batch_size = list(families), int(batch_size)
        self.pools = [[f for f in self.families if f.pool == p] for p in range(len(shares))]
        for p, share in enumerate(shares):
            if share > 0 and not self.pools[p]:
                raise ValueError(f"MixedSampler: pool {p} has a share of {share} but no family")
        counts = [max(1, round(s * self.batch_size)) if s > 0 else 0 for s in shares[:-1]]
        self.counts = [*counts, self.batch_size - sum(counts)]  # rows of each pool per batch
        if self.counts[-1] < 0 or (self.counts[-1] == 0 and shares[-1] > 0):
            raise ValueError(f"MixedSampler: batch_size {batch_size} is too small for the shares {shares}")
        self.size = sum(f.sampler.size for f in self.families)

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        parts: list[dict[str, torch.Tensor]] = []
        weights: list[np.ndarray] = []
        for pool, n in zip(self.pools, self.counts, strict=True):
            if not n:
                continue
            sizes = np.array([f.sampler.size for f in pool], np.float64)
            for family, k in zip(pool, rng.multinomial(n, sizes / sizes.sum()), strict=True):
                if k:
                    parts.append(family.sampler.gather(rng.integers(0, family.sampler.size, size=int(k))))
                    weights.append(np.full(int(k), family.weight, np.float32))
        batch = {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
        batch["weight"] = torch.from_numpy(np.concatenate(weights))
        return batch


def prev_subgoal_pairs(t: StepTables, extra: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every step twice, as the two high-level pairs of the module docstring: (2N, ...) arrays whose first N rows have
    prev = g_{j-1} and last N rows prev = g_j (extra: more (N, ...) arrays doubled the same way)."""

    def both(a: np.ndarray) -> np.ndarray:  # (N, ...) -> (2N, ...)
        return np.concatenate([a, a])

    out = {"obs": both(t.obs), "command": both(t.command), "target": both(t.label),
           "prev": np.concatenate([t.prev_label, t.label])}
    out.update({k: both(v) for k, v in (extra or {}).items()})
    return out


EFFECT_TOL = 0.02  # |change| of an achieved-goal dimension over a segment that counts as the segment's effect
BACKGROUND_SHARE = 0.5  # a dimension that changes in more than this share of all segments (the gripper) is no effect


class SegmentEffects(NamedTuple):
    """What each dataset segment did to the achieved goal, and which later segments left it standing (effect_holds)."""

    windows: np.ndarray  # (M, 2) int64 [first, last] achieved rows of the M segments, sorted by first row
    labels: np.ndarray  # (M,) int64 each segment's subgoal label
    pairs: np.ndarray  # (P, 2) int64 (i, j) into windows, sorted by i: j a later segment that left i's effect standing
    effect: np.ndarray  # (M, G) bool the achieved-goal dimensions that are each segment's effect
    change: np.ndarray  # (M, G) float32 achieved goal at each segment's end minus at its start

    def shows_undone(self, t: StepTables, rows: np.ndarray, segment: np.ndarray) -> np.ndarray:
        """(R,) bool: step rows `rows` (of segments `segment`) whose observation does not show their segment's effect
        yet (an effect dimension still more than half its change away from the segment's end)."""
        end = t.achieved[self.windows[segment, 1]]
        away = np.abs(t.achieved[t.obs_row[rows]] - end) > 0.5 * np.abs(self.change[segment])
        return (away & self.effect[segment]).any(axis=1)


def effect_holds(t: StepTables, max_ahead: int = 0) -> SegmentEffects:
    """Which later segments leave a segment's effect standing, from the achieved goals alone (no env knowledge).

    A segment's effect: the achieved-goal dimensions it changed by more than EFFECT_TOL, leaving out those that change
    in most segments (the gripper's position). The effect of segment i still holds at the end of a later segment j of
    its episode when every effect dimension is closer to its value at i's end than half of i's change (a block put
    back, the drawer closed again or the light turned off again undo it). max_ahead > 0: j at most that many segments
    after i."""
    steps = np.flatnonzero(t.obs_row >= 0)
    windows, first_step = np.unique(t.segment_window[steps], axis=0, return_index=True)  # sorted by first row
    labels = t.label[steps[first_step]]
    episode = t.episode_window[steps[first_step], 0]
    start, end = t.achieved[windows[:, 0]], t.achieved[windows[:, 1]]
    change = end - start
    moved = np.abs(change) > EFFECT_TOL
    effect = moved & ~(moved.mean(axis=0) > BACKGROUND_SHARE)[None]  # (M, G)
    pairs = []
    for i in np.flatnonzero(effect.any(axis=1)):
        j = np.flatnonzero((episode == episode[i]) & (windows[:, 0] >= windows[i, 1]))  # starts after i ends
        if max_ahead > 0:
            j = j[j - i <= max_ahead]  # an episode's segments are consecutive in windows (sorted by first row)
        away = np.abs(end[j] - end[i])[:, effect[i]]
        j = j[(away <= 0.5 * np.abs(change[i, effect[i]])).all(axis=1)]
        pairs.append(np.stack([np.full(len(j), i), j], axis=1))
    out = np.concatenate(pairs).astype(np.int64) if pairs else np.zeros((0, 2), np.int64)
    return SegmentEffects(windows, labels, out, effect, change)


def later_subtask_pairs(t: StepTables, share: float, seed: int = 0, only_effect_holds: bool = False,
                        only_labels: Sequence[int] | None = None, max_ahead: int = 0) -> dict[str, np.ndarray]:
    """round(share * N') rows (N': the step rows from dataset episodes that have a later segment), drawn without
    replacement with a fixed generator, each as (obs, command, prev = the label of a uniformly drawn step of a later
    segment of its episode) -> its own label: obs / command / target / prev (M,) arrays (M may be 0).

    only_effect_holds: only rows whose observation does not show their subtask's effect yet (the late steps of a
    segment already look done: taught to redo there, the high level re-proposes a subtask it just finished), and the
    memory only a later subtask at whose end the row's own subtask's effect still held (effect_holds; drawn uniformly
    among those segments; N' counts the rows that qualify). Without it a state the chain itself returns to (the light
    off before "turn on" and after "turn off") is taught to redo the subtask, which a clean chain then repeats.
    only_labels / max_ahead (with only_effect_holds): only rows whose own label is one of these vocabulary indices /
    memories at most max_ahead subtasks later (0: any)."""
    if only_effect_holds:
        return _effect_holds_pairs(t, share, seed, only_labels, max_ahead)
    if only_labels is not None or max_ahead:
        raise ValueError("only_labels and max_ahead need only_effect_holds")
    steps = np.flatnonzero(t.obs_row >= 0)
    inverse = np.full(len(t.achieved), NO_INDEX, np.int64)  # achieved row -> the step row observing it
    inverse[t.obs_row[steps]] = steps
    seg_last, ep_last = t.segment_window[steps, 1], t.episode_window[steps, 1]  # observation rows (the final one: T)
    ok = steps[seg_last < ep_last]  # a later segment exists: its steps are achieved rows seg_last .. ep_last - 1
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(ok, size=min(len(ok), round(share * len(ok))), replace=False))
    first, last = t.segment_window[rows, 1], t.episode_window[rows, 1]
    later = inverse[first + np.floor(rng.random(len(rows)) * (last - first)).astype(np.int64)]
    rows, later = rows[later >= 0], later[later >= 0]  # an observation whose step row was dropped (remap_vocab)
    return {"obs": t.obs[rows], "command": t.command[rows], "target": t.label[rows], "prev": t.label[later]}


def _effect_holds_pairs(t: StepTables, share: float, seed: int, only_labels: Sequence[int] | None,
                        max_ahead: int) -> dict[str, np.ndarray]:
    eff = effect_holds(t, max_ahead)
    windows, labels, pairs = eff.windows, eff.labels, eff.pairs
    steps = np.flatnonzero(t.obs_row >= 0)
    segment = np.searchsorted(windows[:, 0], t.segment_window[steps, 0])  # each step row's segment in windows
    count = np.bincount(pairs[:, 0], minlength=len(windows))
    offset = np.concatenate([[0], np.cumsum(count)[:-1]])  # pairs is sorted by i: segment i's run starts here
    ok = (count[segment] > 0) & eff.shows_undone(t, steps, segment)
    if only_labels is not None:
        ok &= np.isin(labels[segment], np.asarray(list(only_labels), np.int64))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(np.flatnonzero(ok), size=min(int(ok.sum()), round(share * int(ok.sum()))),
                                replace=False))
    rows, seg = steps[chosen], segment[chosen]
    later = pairs[offset[seg] + np.floor(rng.random(len(rows)) * count[seg]).astype(np.int64), 1]
    return {"obs": t.obs[rows], "command": t.command[rows], "target": t.label[rows], "prev": labels[later]}


def command_lookups(tt: TextTables) -> dict[str, tuple[np.ndarray, str]]:
    return {"command_emb": (tt.command_emb, "command"), "command_mask": (tt.command_mask, "command")}


def chunk_rows(t: StepTables, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows (N, H) int64, mask (N, H) float32): rows of t of the H actions from each row on within its segment; past
    the segment end the segment's last row is repeated and the mask is 0."""
    ahead = segment_steps_ahead(t)[:, None]
    j = np.arange(int(horizon), dtype=np.int64)[None]
    return np.arange(len(t.obs), dtype=np.int64)[:, None] + np.minimum(j, ahead - 1), (j < ahead).astype(np.float32)


def history_rows(t: StepTables, k: int, pad: str = "edge") -> np.ndarray:
    """(N, k) int64 rows of t of the k observations ending at each row within its episode, oldest first; before the
    episode's first step: that step's row (pad edge) or NO_INDEX, which gathers zeros (pad zero)."""
    behind = episode_steps_behind(t)[:, None]
    back = np.arange(int(k) - 1, -1, -1, dtype=np.int64)[None]  # k-1 .. 0 steps back
    rows = np.arange(len(t.obs), dtype=np.int64)[:, None] - np.minimum(back, behind)
    return rows if pad == "edge" else np.where(back <= behind, rows, NO_INDEX)


def action_samples(t: StepTables, head: HeadConfig | None,
                   keep: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, str]]]:
    """(samples, lookups) of a GatherSampler giving obs and action (and action_mask) as the head needs them (module
    doc); keep (N,) bool / indices selects the rows sampled (chunks and histories still reach outside them)."""
    samples: dict[str, np.ndarray] = {}
    lookups: dict[str, tuple[np.ndarray, str]] = {}
    if head is None or head.history == 1:
        samples["obs"] = t.obs
    else:
        samples["obs_rows"] = history_rows(t, head.history, head.history_pad)
        lookups["obs"] = (t.obs, "obs_rows")
    if head is None or head.horizon == 1:
        samples["action"] = t.action
    else:
        samples["action_rows"], samples["action_mask"] = chunk_rows(t, head.horizon)
        lookups["action"] = (t.action, "action_rows")
    if keep is not None:
        samples = {k: v[keep] for k, v in samples.items()}
    return samples, lookups
