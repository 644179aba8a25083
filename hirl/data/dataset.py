"""Loading, validation and the Segment API every learner uses.

    ds = load_dataset("data/maze")                 # PATH given to `hirl collect --out` (or PATH/data, or the .hdf5)
    for seg in ds.segments(): ...                  # Segment(obs o_{t:t+k}, actions a_{t:t+k}, goal g, ...)
    lo = ds.sample_low_level(256, rng)             # LowLevelBatch: (o, g) -> a
    hi = ds.sample_high_level(256, rng)            # HighLevelBatch: (o, c) -> g
    train, val = ds.split(0.1, seed=0)             # by episode: no episode in both

Anything wrong with the files raises hirl.errors.InputError with one line naming the file and the problem.
The on-disk format is described in hirl/data/schema.py."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np

from hirl.data import relabel as rl
from hirl.data import schema
from hirl.errors import InputError


# ------------------------------------------------------------------- paths + metadata
def resolve(path: str | Path) -> Path:
    """The dataset directory (the one holding data/) for PATH, PATH/data or PATH/data/main_data.hdf5."""
    p = Path(path)
    if not p.exists():
        raise InputError(schema.dataset_error(p, "no such file or directory"))
    if p.is_file():
        p = p.parent
    if p.name == schema.DATA_DIR and (p / schema.METADATA_FILE).exists():
        return p.parent
    if not (p / schema.DATA_DIR / schema.METADATA_FILE).exists():
        if (p / schema.JOURNAL_DIR).is_dir():
            raise InputError(schema.dataset_error(p, "unfinished collection with no assembled dataset yet (run hirl collect --resume)"))
        raise InputError(schema.dataset_error(p, f"not a Minari dataset ({schema.DATA_DIR}/{schema.METADATA_FILE} missing)"))
    return p


def read_minari_metadata(path: str | Path) -> dict[str, Any]:
    """metadata.json of the dataset at path, checked to be a hirl HDF5 dataset."""
    root = resolve(path)
    meta_file = root / schema.DATA_DIR / schema.METADATA_FILE
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(schema.dataset_error(meta_file, f"metadata is corrupt ({type(exc).__name__}: {exc})")) from None
    if not isinstance(meta, dict):
        raise InputError(schema.dataset_error(meta_file, "metadata is corrupt (not a JSON object)"))
    if meta.get("data_format") != "hdf5":
        raise InputError(schema.dataset_error(meta_file, f"unsupported data format {meta.get('data_format')!r} (hirl writes hdf5)"))
    schema.check_meta(meta.get(schema.HIRL_KEY), meta_file)
    return meta


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata["hirl"] section (env id, rates, collection config, ...) of the dataset at path."""
    return read_minari_metadata(path)[schema.HIRL_KEY]


# ------------------------------------------------------------------- episodes
@dataclass
class Episode:
    """One stored episode (T control steps). Step-aligned arrays have T rows (row t: the action at observation t)
    except observations, is_success and predicates, which have T+1 rows (aligned with observations)."""

    index: int  # episode number i of the collection (seed = base seed + i)
    seed: int
    observations: dict[str, np.ndarray] | np.ndarray  # (T+1, ...) per key
    actions: np.ndarray  # (T, A)
    rewards: np.ndarray  # (T,)
    terminations: np.ndarray  # (T,) bool
    truncations: np.ndarray  # (T,) bool
    subgoal_text: np.ndarray  # (T,) str (object array)
    subgoal_source: np.ndarray  # (T,) str
    subgoal_reason: np.ndarray  # (T,) str, "" when the subgoal was kept
    segment: np.ndarray  # (T,) int64 segment id
    intervention: np.ndarray  # (T,) bool
    is_success: np.ndarray  # (T+1,) bool
    subgoal_state: np.ndarray | None  # (T, G) commanded state goals (state subgoals only)
    predicates: np.ndarray | None  # (T+1, P) env completion predicates
    seg_start: np.ndarray  # (S,) first step of each segment
    seg_end: np.ndarray  # (S,) one past the last step (= observation index where the segment ended)
    seg_goal_state: np.ndarray  # (S, G) achieved goal at observation seg_end
    frames: np.ndarray | None  # (N, H, W, 3) uint8
    frame_steps: np.ndarray | None  # (N,) observation index of each frame
    command: str
    success: bool
    task: list[str]

    @property
    def T(self) -> int:
        return int(self.actions.shape[0])

    def flat_obs(self, keys: Sequence[str] | None = None) -> np.ndarray:
        """(T+1, D) float32: Dict observations concatenated in the order of keys (default: sorted keys)."""
        if not isinstance(self.observations, dict):
            return np.asarray(self.observations, dtype=np.float32).reshape(self.T + 1, -1)
        keys = sorted(self.observations) if keys is None else list(keys)
        return np.concatenate([np.asarray(self.observations[k], dtype=np.float32).reshape(self.T + 1, -1) for k in keys], axis=1)

    def achieved(self) -> np.ndarray:
        """(T+1, G) achieved goals (obs["achieved_goal"], or the flat observation for Box spaces)."""
        if isinstance(self.observations, dict):
            return np.asarray(self.observations.get("achieved_goal", self.flat_obs()), dtype=np.float64)
        return self.flat_obs().astype(np.float64)


def _fail(where: Any, problem: str) -> InputError:
    return InputError(schema.dataset_error(where, problem))


def _read_episode(grp: Any, name: str, where: Path, meta: dict[str, Any]) -> Episode:
    def arr(g: Any, key: str) -> np.ndarray:
        if key not in g:
            raise _fail(where, f"schema mismatch: {name} has no {g.name}/{key}")
        return g[key][()]

    def strings(g: Any, key: str) -> np.ndarray:
        if key not in g:
            raise _fail(where, f"schema mismatch: {name} has no {g.name}/{key}")
        return np.asarray(g[key].asstr()[()], dtype=object)

    obs_node = grp["observations"] if "observations" in grp else None
    if obs_node is None:
        raise _fail(where, f"schema mismatch: {name} has no observations")
    observations = {k: obs_node[k][()] for k in obs_node} if hasattr(obs_node, "keys") else obs_node[()]
    actions = arr(grp, "actions")
    T = int(actions.shape[0])
    if "infos" not in grp:
        raise _fail(where, f"schema mismatch: {name} has no infos (not written by hirl)")
    inf = grp["infos"]
    ep = Episode(
        index=int(grp.attrs.get("hirl_index", -1)), seed=int(grp.attrs.get("seed", -1)), observations=observations,
        actions=actions, rewards=arr(grp, "rewards"), terminations=arr(grp, "terminations"), truncations=arr(grp, "truncations"),
        subgoal_text=strings(inf, "subgoal_text")[:T], subgoal_source=strings(inf, "subgoal_source")[:T],
        subgoal_reason=strings(inf, "subgoal_reason")[:T], segment=arr(inf, "segment")[:T].astype(np.int64),
        intervention=arr(inf, "intervention")[:T].astype(bool), is_success=arr(inf, "is_success").astype(bool),
        subgoal_state=arr(inf, "subgoal_state")[:T] if "subgoal_state" in inf else None,
        predicates=arr(inf, "predicates").astype(bool) if "predicates" in inf else None,
        seg_start=np.zeros(0, np.int64), seg_end=np.zeros(0, np.int64), seg_goal_state=np.zeros((0, 0)),
        frames=None, frame_steps=None, command=str(grp.attrs.get("command", "")), success=bool(grp.attrs.get("success", False)),
        task=json.loads(grp.attrs.get("task", "[]")) if isinstance(grp.attrs.get("task", "[]"), str) else [],
    )
    if "segments" not in inf:
        raise _fail(where, f"schema mismatch: {name} has no infos/segments")
    seg = inf["segments"]
    ep.seg_start, ep.seg_end, ep.seg_goal_state = arr(seg, "start").astype(np.int64), arr(seg, "end").astype(np.int64), arr(seg, "goal_state")
    if "images" in inf:
        ep.frames, ep.frame_steps = arr(inf["images"], "frames"), arr(inf["images"], "steps").astype(np.int64)
    _check_episode(ep, name, where, meta)
    return ep


def _check_episode(ep: Episode, name: str, where: Path, meta: dict[str, Any]) -> None:
    T = ep.T
    obs_rows = {k: v.shape[0] for k, v in ep.observations.items()} if isinstance(ep.observations, dict) else {"": ep.observations.shape[0]}
    problems = [f"observations{('/' + k) if k else ''} has {n} rows, expected {T + 1}" for k, n in obs_rows.items() if n != T + 1]
    for key in ("rewards", "terminations", "truncations", "subgoal_text", "subgoal_source", "subgoal_reason", "segment", "intervention"):
        n = len(getattr(ep, key))
        if n != T:
            problems.append(f"{key} has {n} rows, expected {T}")
    if len(ep.is_success) != T + 1:
        problems.append(f"is_success has {len(ep.is_success)} rows, expected {T + 1}")
    if ep.predicates is not None and ep.predicates.shape != (T + 1, len(meta["predicate_names"])):
        problems.append(f"predicates shape {ep.predicates.shape} != ({T + 1}, {len(meta['predicate_names'])})")
    if T < 1:
        problems.append("no steps")
    elif not np.array_equal(ep.seg_start, np.flatnonzero(np.diff(ep.segment, prepend=-1))) or len(ep.seg_end) != len(ep.seg_start):
        problems.append("segments table does not match the per-step segment ids")
    if ep.frames is not None and (ep.frames.dtype != np.uint8 or ep.frames.ndim != 4 or len(ep.frames) != len(ep.frame_steps)):
        problems.append(f"images/frames must be uint8 (N, H, W, 3), got {ep.frames.dtype} {ep.frames.shape}")
    if problems:
        raise _fail(where, f"schema mismatch in {name}: {problems[0]}")


# ------------------------------------------------------------------- batches
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
    index: int
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


class LowLevelBatch(NamedTuple):
    """B samples of (o_t, g) -> a_t.

    obs         (B, D) float32   flattened observation o_t
    goal_state  (B, G) float32   goal state (see Segment.goal_state; hindsight-relabelled when asked)
    goal_index  (B,) int64       index of the subgoal text in Dataset.vocabulary
    goal_image  (B, H, W, 3) uint8, or None without images
    action      (B, A) float32
    episode     (B,) int64       position of the episode in the dataset
    step        (B,) int64       t within the episode
    relabelled  (B,) bool        goal_state was replaced by a hindsight goal
    """

    obs: np.ndarray
    goal_state: np.ndarray
    goal_index: np.ndarray
    goal_image: np.ndarray | None
    action: np.ndarray
    episode: np.ndarray
    step: np.ndarray
    relabelled: np.ndarray


class HighLevelBatch(NamedTuple):
    """B samples of (o_t, c) -> g.

    obs            (B, D) float32  flattened observation o_t (at a segment start, or any step with at="any")
    command_index  (B,) int64      index of the episode command in Dataset.commands
    goal_index     (B,) int64      index of the subgoal text in Dataset.vocabulary
    goal_state     (B, G) float32  the segment's goal state
    goal_image     (B, H, W, 3) uint8, or None without images
    episode        (B,) int64
    step           (B,) int64
    """

    obs: np.ndarray
    command_index: np.ndarray
    goal_index: np.ndarray
    goal_state: np.ndarray
    goal_image: np.ndarray | None
    episode: np.ndarray
    step: np.ndarray


class Dataset:
    """Episodes in collection order plus flat step/segment tables for fast batch sampling.

    vocabulary  sorted subgoal texts (goal_index refers to it); commands: sorted episode commands
    obs_keys    Dict observation keys concatenated into the flat observation (sorted unless given)"""

    def __init__(self, episodes: list[Episode], meta: dict[str, Any], path: Path | None = None,
                 obs_keys: Sequence[str] | None = None, vocabulary: Sequence[str] | None = None,
                 commands: Sequence[str] | None = None) -> None:
        self.episodes, self.meta, self.path = episodes, meta, path
        first = episodes[0].observations if episodes else None
        self.obs_keys = list(obs_keys) if obs_keys is not None else (sorted(first) if isinstance(first, dict) else None)
        self.vocabulary = list(vocabulary) if vocabulary is not None else sorted({str(s) for e in episodes for s in e.subgoal_text})
        self.commands = list(commands) if commands is not None else sorted({e.command for e in episodes})
        self._build_tables()

    def __len__(self) -> int:
        return len(self.episodes)

    @property
    def num_steps(self) -> int:
        return int(sum(e.T for e in self.episodes))

    @property
    def has_images(self) -> bool:
        return any(e.frames is not None for e in self.episodes)

    def _build_tables(self) -> None:
        vocab = {t: i for i, t in enumerate(self.vocabulary)}
        cmd = {c: i for i, c in enumerate(self.commands)}
        obs, ach, act, ep_i, t_i, seg_g, goal_idx = [], [], [], [], [], [], []
        s_ep, s_start, s_end, s_goal, s_ach, s_text, s_cmd, s_frame, s_win = [], [], [], [], [], [], [], [], []
        s_local, s_t0, s_t1 = [], [], []
        frames, offset_obs, offset_frames, n_seg = [], 0, 0, 0
        for k, e in enumerate(self.episodes):
            T = e.T
            fo = e.flat_obs(self.obs_keys)
            achieved = e.achieved()
            obs.append(fo)
            ach.append(achieved)
            act.append(e.actions.astype(np.float32).reshape(T, -1))
            ep_i.append(np.full(T, k, np.int64))
            t_i.append(np.arange(T, dtype=np.int64))
            seg_g.append(n_seg + np.searchsorted(e.seg_start, np.arange(T), side="right") - 1)
            texts = e.subgoal_text[e.seg_start]
            s_ep.append(np.full(len(e.seg_start), k, np.int64))
            s_local.append(np.arange(len(e.seg_start), dtype=np.int64))
            s_t0.append(e.seg_start)
            s_t1.append(e.seg_end)
            s_start.append(e.seg_start + offset_obs)
            s_end.append(e.seg_end + offset_obs)
            s_win.append(np.full(len(e.seg_start), offset_obs + T, np.int64))
            goal = e.subgoal_state[e.seg_start] if e.subgoal_state is not None else e.seg_goal_state
            s_goal.append(np.asarray(goal, np.float64).reshape(len(e.seg_start), -1))
            s_ach.append(np.asarray(e.seg_goal_state, np.float64).reshape(len(e.seg_start), -1))
            s_text.append(np.array([vocab.get(str(t), -1) for t in texts], np.int64))
            s_cmd.append(np.full(len(e.seg_start), cmd.get(e.command, -1), np.int64))
            if e.frames is not None:
                fi = np.minimum(np.searchsorted(e.frame_steps, e.seg_end, side="left"), len(e.frame_steps) - 1)
                s_frame.append(fi + offset_frames)
                frames.append(e.frames)
                offset_frames += len(e.frames)
            else:
                s_frame.append(np.full(len(e.seg_start), -1, np.int64))
            goal_idx.append(np.array([vocab.get(str(t), -1) for t in e.subgoal_text], np.int64))
            offset_obs += T + 1
            n_seg += len(e.seg_start)
        cat = lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape)  # noqa: E731
        self._obs = cat(obs, (0, 0)).astype(np.float32)  # (sum T+1, D): per-episode observation blocks
        self._achieved = cat(ach, (0, 0))  # (sum T+1, G)
        ep_starts = np.cumsum([0] + [e.T + 1 for e in self.episodes])[:-1]
        self.step_episode = cat(ep_i, (0,)).astype(np.int64)  # (N,) over all actions
        self.step_t = cat(t_i, (0,)).astype(np.int64)
        self.step_row = ep_starts[self.step_episode] + self.step_t if len(self.episodes) else np.zeros(0, np.int64)
        self.step_action = cat(act, (0, 0)).astype(np.float32)
        self.step_segment = cat(seg_g, (0,)).astype(np.int64)
        self.step_goal_index = cat(goal_idx, (0,)).astype(np.int64)
        self.episode_first_row = ep_starts.astype(np.int64)
        self.seg_episode = cat(s_ep, (0,)).astype(np.int64)
        self.seg_local = cat(s_local, (0,)).astype(np.int64)  # segment number within its episode
        self.seg_start_t, self.seg_end_t = cat(s_t0, (0,)).astype(np.int64), cat(s_t1, (0,)).astype(np.int64)
        self.seg_start_row, self.seg_end_row = cat(s_start, (0,)).astype(np.int64), cat(s_end, (0,)).astype(np.int64)
        self.seg_episode_end_row = cat(s_win, (0,)).astype(np.int64)
        self.seg_goal_state, self.seg_achieved = cat(s_goal, (0, 0)), cat(s_ach, (0, 0))
        self.seg_goal_index, self.seg_command_index = cat(s_text, (0,)).astype(np.int64), cat(s_cmd, (0,)).astype(np.int64)
        self.seg_frame = cat(s_frame, (0,)).astype(np.int64)
        self.frames = np.concatenate(frames) if frames else None

    # ----------------------------------------------------------- segment API
    def segments(self) -> Iterator[Segment]:
        """Every segment, in episode order."""
        for s in range(len(self.seg_episode)):
            k, start, end = int(self.seg_episode[s]), int(self.seg_start_t[s]), int(self.seg_end_t[s])
            e = self.episodes[k]
            first_row = int(self.seg_start_row[s])
            frame = self.frames[self.seg_frame[s]] if self.frames is not None and self.seg_frame[s] >= 0 else None
            yield Segment(k, int(self.seg_local[s]), start, end, self._obs[first_row:first_row + end - start + 1],
                          e.actions[start:end].astype(np.float32).reshape(end - start, -1), str(e.subgoal_text[start]),
                          self.seg_goal_state[s], self.seg_achieved[s], frame, str(e.subgoal_source[start]), e.command)

    def low_level(self, idx: np.ndarray | None = None, *, relabel: rl.HindsightConfig | None = None,
                  rng: np.random.Generator | None = None) -> LowLevelBatch:
        """Low-level samples for step indices idx into the flat step table (default: every step)."""
        idx = np.arange(len(self.step_t)) if idx is None else np.asarray(idx, dtype=np.int64)
        seg = self.step_segment[idx]
        goal = self.seg_goal_state[seg].copy()
        relabelled = np.zeros(len(idx), bool)
        if relabel is not None:
            rng = rng if rng is not None else np.random.default_rng()
            rows = self.step_row[idx]
            hi = self.seg_end_row[seg] if relabel.window == "segment" else self.seg_episode_end_row[seg]
            lo = self.seg_start_row[seg] if relabel.window == "segment" else rows - self.step_t[idx]
            goal_rows, relabelled = rl.relabel_indices(rows, lo, hi, relabel.strategy, relabel.ratio, rng)
            goal[relabelled] = self._achieved[goal_rows[relabelled]]
        image = self.frames[np.maximum(self.seg_frame[seg], 0)] if self.frames is not None else None
        return LowLevelBatch(self._obs[self.step_row[idx]], goal.astype(np.float32), self.step_goal_index[idx], image,
                             self.step_action[idx], self.step_episode[idx], self.step_t[idx], relabelled)

    def high_level(self, idx: np.ndarray | None = None, *, at: str = "start") -> HighLevelBatch:
        """High-level samples. at="start": idx indexes segments (default all), o = observation at the segment start;
        at="any": idx indexes steps (default all), o = that step's observation, g = its segment's goal."""
        if at == "start":
            seg = np.arange(len(self.seg_episode)) if idx is None else np.asarray(idx, dtype=np.int64)
            rows, steps = self.seg_start_row[seg], self.seg_start_t[seg]
        elif at == "any":
            sidx = np.arange(len(self.step_t)) if idx is None else np.asarray(idx, dtype=np.int64)
            seg, rows, steps = self.step_segment[sidx], self.step_row[sidx], self.step_t[sidx]
        else:
            raise ValueError(f"at must be 'start' or 'any', got {at!r}")
        image = self.frames[np.maximum(self.seg_frame[seg], 0)] if self.frames is not None else None
        return HighLevelBatch(self._obs[rows], self.seg_command_index[seg], self.seg_goal_index[seg],
                              self.seg_goal_state[seg].astype(np.float32), image, self.seg_episode[seg], steps)

    def sample_low_level(self, batch_size: int, rng: np.random.Generator, relabel: rl.HindsightConfig | None = None) -> LowLevelBatch:
        """batch_size uniformly sampled steps (with replacement); see LowLevelBatch."""
        return self.low_level(rng.integers(0, len(self.step_t), size=batch_size), relabel=relabel, rng=rng)

    def sample_high_level(self, batch_size: int, rng: np.random.Generator, at: str = "start") -> HighLevelBatch:
        """batch_size uniformly sampled segments (at="start") or steps (at="any"), with replacement."""
        n = len(self.seg_episode) if at == "start" else len(self.step_t)
        return self.high_level(rng.integers(0, n, size=batch_size), at=at)

    def segment_predicates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs of relabel.hindsight_language for every segment: (commanded (S,) int64 column of the segment's subgoal
        text in meta["predicate_names"] (-1: not a predicate name), pred_start (S, P) bool, pred_end (S, P) bool)."""
        names = list(self.meta.get("predicate_names", []))
        if not names or any(e.predicates is None for e in self.episodes):
            raise InputError(schema.dataset_error(self.path, "no completion predicates stored (the env has no info['subtask_success'])"))
        col = {n: i for i, n in enumerate(names)}
        cmd = np.array([col.get(self.vocabulary[g], -1) if g >= 0 else -1 for g in self.seg_goal_index], dtype=np.int64)
        starts = np.concatenate([e.predicates[e.seg_start] for e in self.episodes])
        ends = np.concatenate([e.predicates[e.seg_end] for e in self.episodes])
        return cmd, starts, ends

    def language_relabel(self, ambiguous: str = "skip") -> tuple[list[str], np.ndarray]:
        """Hindsight language labels per segment (S,) and the relabelled mask (S,), from the stored predicates."""
        cmd, start, end = self.segment_predicates()
        r = rl.hindsight_language(cmd, start, end, ambiguous)
        names = list(self.meta["predicate_names"])
        texts = [names[int(r.label[s])] if r.relabelled[s] else self.vocabulary[int(self.seg_goal_index[s])] for s in range(len(cmd))]
        return texts, r.relabelled

    def subset(self, episode_positions: Sequence[int]) -> "Dataset":
        """The episodes at these positions (same vocabulary, commands and obs keys)."""
        return Dataset([self.episodes[i] for i in episode_positions], self.meta, self.path, self.obs_keys, self.vocabulary, self.commands)

    def split(self, val_fraction: float = 0.1, seed: int = 0) -> tuple["Dataset", "Dataset"]:
        """(train, val) split by episode: a seeded permutation, at least one episode in each when possible."""
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        n = len(self.episodes)
        order = np.random.default_rng(seed).permutation(n)
        n_val = min(max(int(round(val_fraction * n)), 1 if val_fraction > 0 and n > 1 else 0), max(n - 1, 0))
        return self.subset(sorted(order[n_val:].tolist())), self.subset(sorted(order[:n_val].tolist()))


def load_dataset(path: str | Path, obs_keys: Sequence[str] | None = None, images: bool = True) -> Dataset:
    """Read and validate the hirl dataset at path (PATH, PATH/data or the .hdf5 file). images=False skips frames."""
    import h5py

    root = resolve(path)
    minari_meta = read_minari_metadata(root)
    meta = minari_meta[schema.HIRL_KEY]
    h5 = root / schema.DATA_DIR / schema.MAIN_FILE
    if not h5.exists():
        raise _fail(h5, "missing (the dataset has metadata but no data file)")
    try:
        fh = h5py.File(h5, "r")
    except OSError as exc:
        raise _fail(h5, f"truncated or corrupt HDF5 file ({exc})") from None
    episodes: list[Episode] = []
    try:
        with fh:
            names = [k for k in fh.keys() if k.startswith("episode_")]
            expected = int(minari_meta.get("total_episodes", -1))
            if len(names) != expected or len(meta["episode_indices"]) != expected:
                raise _fail(h5, f"holds {len(names)} episodes but metadata says {expected} "
                                f"(hirl lists {len(meta['episode_indices'])}): truncated or mixed files")
            for n in range(expected):
                name = f"episode_{n}"
                if name not in fh:
                    raise _fail(h5, f"schema mismatch: {name} missing")
                ep = _read_episode(fh[name], name, h5, meta)
                if not images:
                    ep.frames = ep.frame_steps = None
                episodes.append(ep)
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise _fail(h5, f"truncated or corrupt ({type(exc).__name__}: {exc})") from None
    return Dataset(episodes, meta, root, obs_keys)
