"""A loaded dataset: its episodes, the Segment API, hindsight language labels and the split by episode.

    ds = load_dataset("data/maze")                 # PATH given to `hirl collect --out` (or PATH/data, or the .hdf5)
    for seg in ds.segments(): ...                  # Segment(obs o_{t:t+k}, actions a_{t:t+k}, goal g, ...)
    train, val = ds.split(0.1, seed=0)             # by episode: no episode in both
    tables = build_tables(ds, obs_keys)            # hirl.data.tables: the flat training tables

Anything wrong with the files raises hirl.errors.InputError with one line naming the file and the problem.
The on-disk format is described in hirl/data/schema.py."""
from __future__ import annotations

from pathlib import Path
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from hirl.data import schema
from hirl.data.episode import Episode, read_episode, space_shapes
from hirl.data.metadata import read_minari_metadata, resolve
from hirl.data.relabel import hindsight_language
from hirl.data.segments import Segment, episode_segments
from hirl.errors import InputError


class Dataset:
    """Episodes in collection order.

    vocabulary  sorted subgoal texts; commands: sorted episode commands
    obs_keys    Dict observation keys concatenated into the flat observation (sorted unless given)
    checksummed_episodes  how many of the file's episodes carry checksums, all verified when they were read (0: a
                dataset written before hirl stored them; hirl.data.checksums)"""

    def __init__(self, episodes: list[Episode], meta: dict[str, Any], path: Path | None = None,
                 obs_keys: Sequence[str] | None = None, vocabulary: Sequence[str] | None = None,
                 commands: Sequence[str] | None = None) -> None:
        self.episodes, self.meta, self.path = episodes, meta, path
        first = episodes[0].observations if episodes else None
        self.obs_keys = list(obs_keys) if obs_keys is not None else (sorted(first) if isinstance(first, dict) else None)
        self.vocabulary = (list(vocabulary) if vocabulary is not None
                           else sorted({str(s) for e in episodes for s in e.subgoal_text}))
        self.commands = list(commands) if commands is not None else sorted({e.command for e in episodes})
        self.checksummed_episodes = 0  # set by load_dataset

    def __len__(self) -> int:
        return len(self.episodes)

    @property
    def num_steps(self) -> int:
        return int(sum(e.T for e in self.episodes))

    @property
    def has_images(self) -> bool:
        return any(e.frames is not None for e in self.episodes)

    def segments(self) -> Iterator[Segment]:
        """Every segment, in episode order."""
        for k, e in enumerate(self.episodes):
            yield from episode_segments(k, e, self.obs_keys)

    def segment_predicates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs of relabel.hindsight_language for every segment: (commanded (S,) int64 column of the segment's subgoal
        text in meta["predicate_names"] (-1: not a predicate name or not in the vocabulary), pred_start (S, P) bool,
        pred_end (S, P) bool)."""
        names = list(self.meta.get("predicate_names", []))
        if not names or any(e.predicates is None for e in self.episodes):
            raise schema.dataset_failure(self.path, "no completion predicates stored (the env has no info['subtask_success'])")
        col, vocab = {n: i for i, n in enumerate(names)}, set(self.vocabulary)
        texts = [str(t) for e in self.episodes for t in e.subgoal_text[e.seg_start]]
        cmd = np.array([col.get(t, -1) if t in vocab else -1 for t in texts], dtype=np.int64)
        starts = np.concatenate([e.predicates[e.seg_start] for e in self.episodes if e.predicates is not None])
        ends = np.concatenate([e.predicates[e.seg_end] for e in self.episodes if e.predicates is not None])
        return cmd, starts, ends

    def language_relabel(self, ambiguous: str = "skip") -> tuple[list[str], np.ndarray]:
        """Hindsight language labels per segment (S,) and the relabelled mask (S,), from the stored predicates."""
        cmd, start, end = self.segment_predicates()
        r = hindsight_language(cmd, start, end, ambiguous)
        names = list(self.meta["predicate_names"])
        texts = [str(t) for e in self.episodes for t in e.subgoal_text[e.seg_start]]
        return [names[int(r.label[s])] if r.relabelled[s] else texts[s] for s in range(len(cmd))], r.relabelled

    def subset(self, episode_positions: Sequence[int]) -> Dataset:
        """The episodes at these positions (same vocabulary, commands and obs keys)."""
        return Dataset([self.episodes[i] for i in episode_positions], self.meta, self.path, self.obs_keys, self.vocabulary,
                       self.commands)

    def split(self, val_fraction: float = 0.1, seed: int = 0) -> tuple[Dataset, Dataset]:
        """(train, val) split by episode: a seeded permutation, at least one episode in each when possible."""
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        n = len(self.episodes)
        order = np.random.default_rng(seed).permutation(n)
        n_val = min(max(round(val_fraction * n), 1 if val_fraction > 0 and n > 1 else 0), max(n - 1, 0))
        return self.subset(sorted(order[n_val:].tolist())), self.subset(sorted(order[:n_val].tolist()))


def load_dataset(path: str | Path, obs_keys: Sequence[str] | None = None, images: bool = True) -> Dataset:
    """Read and validate the hirl dataset at path (PATH, PATH/data or the .hdf5 file). images=False skips frames.
    Every stored checksum is verified on the way (a mismatch is one InputError naming the file and episode)."""
    import h5py

    from hirl.data.checksums import has_checksums

    root = resolve(path)
    minari_meta = read_minari_metadata(root)
    meta = minari_meta[schema.HIRL_KEY]
    h5 = root / schema.DATA_DIR / schema.MAIN_FILE
    if not h5.exists():
        raise schema.dataset_failure(h5, "missing (the dataset has metadata but no data file)")
    try:
        fh = h5py.File(h5, "r")
    except OSError as exc:
        raise schema.dataset_failure(h5, f"truncated or corrupt HDF5 file ({exc})") from None
    episodes: list[Episode] = []
    checksummed = 0
    spaces = (space_shapes(minari_meta.get("observation_space")), space_shapes(minari_meta.get("action_space")))
    for key, shape in zip(("observation_space", "action_space"), spaces, strict=True):
        if shape is None:  # every episode is checked against these: a dataset without them cannot be trusted
            shown = repr(minari_meta.get(key))
            raise schema.dataset_failure(root / schema.DATA_DIR / schema.METADATA_FILE,
                                         f"key '{key}': not a Box or Dict space ({shown[:60]})")
    try:
        with fh:
            names = [k for k in fh.keys() if k.startswith("episode_")]
            expected = int(minari_meta.get("total_episodes", -1))
            if len(names) != expected or len(meta["episode_indices"]) != expected:
                raise schema.dataset_failure(h5, f"holds {len(names)} episodes but metadata says {expected} "
                                                 f"(hirl lists {len(meta['episode_indices'])}): truncated or mixed files")
            if expected == 0:
                raise schema.dataset_failure(h5, "holds no episodes")
            for n in range(expected):
                name = f"episode_{n}"
                if name not in fh:
                    raise schema.dataset_failure(h5, f"schema mismatch: {name} missing")
                ep = read_episode(fh[name], name, h5, meta, spaces)
                checksummed += int(has_checksums(fh[name]))
                if not images:
                    ep.frames = ep.frame_steps = None
                episodes.append(ep)
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError, AttributeError) as exc:
        raise schema.dataset_failure(h5, f"truncated or corrupt ({type(exc).__name__}: {str(exc)[:200]})") from None
    stored = episodes[0].observations
    if obs_keys is not None and isinstance(stored, dict):
        unknown = [k for k in obs_keys if k not in stored]
        if unknown:
            raise schema.dataset_failure(root, f"has no observation {unknown[0]!r} (obs_keys asks for it; "
                                               f"stored: {', '.join(sorted(stored))})")
    ds = Dataset(episodes, meta, root, obs_keys)
    ds.checksummed_episodes = checksummed
    return ds
