"""`hirl data import`: a user's demonstrations (npz / HDF5 / Minari, hirl.data.import_files) -> a hirl dataset.

    summary = import_demos("demos.npz", "hirl/Tabletop-v0", "runs/data/mine", segment="gripper")

Rows -> episodes: an episode ends at a row whose `terminals` or `timeouts` flag is set (or the file's last row), or
where `episode_ids` changes. With next_observations each row is one transition (T rows: T steps, the last observation
from next_observations); without, the rows are the episode's T + 1 observations and the last row's action is dropped
(OGBench's convention).

Steps -> segments (one subgoal each): where `segment_ids` changes, else where the `language` label changes; a file with
neither is segmented by the heuristic `segment` names (SEGMENTERS): none (the episode is one segment), gripper (a new
segment wherever the sign of the last action dimension -- the gripper command -- flips), fixed:N (windows of N steps);
its segments are labelled UNLABELLED. The episode's command is its `commands` text, else its labels joined with
", then ", else `command`.

The env (any registered hirl env, plugins included) gives the spaces the file is checked against, the control rate and
the dataset's env id: observations must be entries of its observation space with their shapes (a flat vector: its Box,
or the Dict's 'observation' entry), actions its action size inside its bounds."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.data.import_files import NEXT_OBS, OBS, Arrays, observation_keys, observation_rows, read_demo_file
from hirl.data.imported import ImportedEpisode
from hirl.encoders.commands import MAX_SUBTASKS, command_subtasks
from hirl.errors import InputError

UNLABELLED = "imported segment"  # the label of segments a heuristic found (the file has no language labels)
DEFAULT_COMMAND = "imported demonstration"  # the command of episodes without commands or labels (--command changes it)
THEN = ", then "  # joins an episode's segment labels into its command
ACTION_TOLERANCE = 1e-4  # how far outside the env's action bounds an action may be (float noise)


def segment_none(actions: np.ndarray) -> np.ndarray:
    """One segment: [0]."""
    return np.zeros(1, np.int64)


def segment_gripper(actions: np.ndarray) -> np.ndarray:
    """A segment starts at step 0 and wherever the last action dimension (the gripper command) changes sign."""
    closed = np.asarray(actions)[:, -1] > 0
    return np.concatenate([[0], np.flatnonzero(closed[1:] != closed[:-1]) + 1]).astype(np.int64)


def segment_fixed(n: int) -> Callable[[np.ndarray], np.ndarray]:
    """Windows of n steps (the last one shorter)."""
    return lambda actions: np.arange(0, len(actions), n, dtype=np.int64)


SEGMENTERS = ("none", "gripper", "fixed:N")  # the heuristics `segment` names (documented in docs/tutorials/import.md)


def segmenter(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The heuristic named name (SEGMENTERS): actions (T, A) -> (S,) first step of each segment. InputError otherwise."""
    if name == "none":
        return segment_none
    if name == "gripper":
        return segment_gripper
    head, _, size = name.partition(":")
    if head == "fixed" and size.isdigit() and int(size) >= 1:
        return segment_fixed(int(size))
    raise InputError(f"--segment {name}: expected one of {', '.join(SEGMENTERS)} (N >= 1 steps)")


def episode_bounds(arrays: Arrays) -> list[tuple[int, int]]:
    """[(first, last)] rows of each episode in file order (see the module doc)."""
    n = len(arrays["actions"])
    if "episode_ids" in arrays:
        ids = arrays["episode_ids"]
        ends = np.flatnonzero(ids[1:] != ids[:-1])
    else:
        flags = np.zeros(n, bool)
        for key in ("terminals", "timeouts"):
            if key in arrays:
                flags |= arrays[key].astype(bool)
        ends = np.flatnonzero(flags[:-1])
    ends = np.append(ends, n - 1)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def _changes(values: np.ndarray) -> np.ndarray:
    """(S,) positions where values (T,) differ from the previous one, 0 first."""
    return np.concatenate([[0], np.flatnonzero(values[1:] != values[:-1]) + 1]).astype(np.int64)


class EpisodeBuilder:
    """Rows of a checked file -> ImportedEpisodes (segments, labels, command); InputError naming the file and key."""

    def __init__(self, arrays: Arrays, path: Path, segment: str | None, command: str | None) -> None:
        self.arrays, self.path = arrays, path
        self.transitions = NEXT_OBS in arrays or bool(observation_keys(arrays, NEXT_OBS))
        self.split = segmenter(segment or "none")
        labelled = "segment_ids" in arrays or "language" in arrays
        if segment is not None and labelled:
            raise InputError(f"{path}: --segment {segment}: the file has segment boundaries (segment_ids / language); "
                             "leave --segment out")
        self.command = command
        self.labelled = labelled

    def episodes(self) -> Iterator[ImportedEpisode]:
        for first, last in episode_bounds(self.arrays):
            yield self.episode(first, last)

    def episode(self, first: int, last: int) -> ImportedEpisode:
        a = self.arrays
        if self.transitions:
            steps = np.arange(first, last + 1)  # every row is a transition
            obs = _stack(observation_rows(a, OBS, steps), observation_rows(a, NEXT_OBS, slice(last, last + 1)))
        else:
            if last == first:
                raise InputError(f"{self.path}: key 'observations': the episode at row {first} has one row, no transition "
                                 "(without next_observations the last row of an episode is only an observation)")
            steps = np.arange(first, last)
            obs = observation_rows(a, OBS, slice(first, last + 1))
        actions = a["actions"][steps]
        starts, labels = self._segments(first, steps, actions)
        frames, frame_steps = self._frames(first, last, len(steps))
        return ImportedEpisode(obs, actions, starts, labels, self._command(first, steps, labels),
                               a["rewards"][steps] if "rewards" in a else None, frames, frame_steps, first)

    def _segments(self, first: int, steps: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, list[str]]:
        a = self.arrays
        labels = a["language"][steps] if "language" in a else None
        if "segment_ids" in a:
            starts = _changes(a["segment_ids"][steps])
            if labels is not None:
                ends = np.append(starts[1:], len(steps))
                for s, e in zip(starts, ends, strict=True):
                    if len(set(labels[s:e].tolist())) > 1:
                        raise InputError(f"{self.path}: key 'language': the label changes inside one segment (rows "
                                         f"{first + s}..{first + e - 1} have one segment_ids value)")
        elif labels is not None:
            starts = _changes(labels)
        else:
            starts = self.split(actions)
        return starts, ([str(labels[s]) for s in starts] if labels is not None else [UNLABELLED] * len(starts))

    def _command(self, first: int, steps: np.ndarray, labels: Sequence[str]) -> str:
        a = self.arrays
        if "commands" in a:
            texts = set(a["commands"][steps].tolist())
            if len(texts) > 1:
                raise InputError(f"{self.path}: key 'commands': the episode at row {first} has {len(texts)} different "
                                 "commands (one per episode)")
            command = texts.pop()
        elif self.labelled:
            command = THEN.join(list(dict.fromkeys(labels)))
        else:
            command = self.command or DEFAULT_COMMAND
        n = len(command_subtasks(command))
        if n > MAX_SUBTASKS:
            raise InputError(f"{self.path}: key 'commands': the episode at row {first} has a command of {n} subtasks, "
                             f"models accept at most {MAX_SUBTASKS} ({command[:80]!r})")
        return command

    def _frames(self, first: int, last: int, T: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        a = self.arrays
        if "images" not in a:
            return None, None
        frames = a["images"][first:last + 1]  # rows: observations 0..T-1 (transitions) or 0..T
        if "next_images" in a:
            frames = np.concatenate([frames, a["next_images"][last:last + 1]])
        return frames, np.arange(len(frames), dtype=np.int64)


def _stack(rows: np.ndarray | dict[str, np.ndarray], final: np.ndarray | dict[str, np.ndarray]) -> Any:
    if isinstance(rows, dict):
        assert isinstance(final, dict)
        return {k: np.concatenate([rows[k], final[k]]) for k in rows}
    return np.concatenate([rows, final])


def observation_space(arrays: Arrays, env_space: gym.Space, env: str, path: Path) -> tuple[gym.Space, bool]:
    """(the dataset's observation space: the env's entries the file holds, whether a flat file vector is the env's
    Dict 'observation' entry); InputError naming the key the env does not have or whose shape differs."""
    keys = observation_keys(arrays)
    env_dict = env_space.spaces if isinstance(env_space, gym.spaces.Dict) else None
    if keys is None:
        shape = arrays[OBS].shape[1:]
        if env_dict is None:
            _same_shape(OBS, shape, env_space.shape, env, path)
            return env_space, False
        if "observation" not in env_dict:
            raise InputError(f"{path}: key 'observations': one array, but {env} observes a Dict of "
                             f"{', '.join(sorted(env_dict))}: give observations/<name> entries")
        _same_shape(OBS, shape, env_dict["observation"].shape, env, path)
        return gym.spaces.Dict({"observation": env_dict["observation"]}), True
    if env_dict is None:
        raise InputError(f"{path}: key 'observations/{keys[0]}': {env} observes one vector, give one 'observations' array")
    for k in keys:
        if k not in env_dict:
            raise InputError(f"{path}: key 'observations/{k}': {env} has no observation {k!r} (it has: "
                             f"{', '.join(sorted(env_dict))})")
        _same_shape(f"{OBS}/{k}", arrays[f"{OBS}/{k}"].shape[1:], env_dict[k].shape, env, path)
    return gym.spaces.Dict({k: env_dict[k] for k in keys}), False


def _same_shape(key: str, got: tuple[int, ...], want: tuple[int, ...] | None, env: str, path: Path) -> None:
    if tuple(got) != tuple(want or ()):
        raise InputError(f"{path}: key {key!r}: rows of shape {tuple(got)}, but {env}'s are {tuple(want or ())}")


def check_actions(actions: np.ndarray, space: gym.Space, env: str, path: Path) -> None:
    """InputError naming 'actions' unless they have the env's action size and lie inside its bounds."""
    size = int(np.prod(space.shape or (1,)))
    if actions.shape[1] != size:
        raise InputError(f"{path}: key 'actions': {actions.shape[1]} values per row, but {env} takes {size}")
    low, high = (np.asarray(getattr(space, b), np.float64).reshape(-1) for b in ("low", "high"))
    outside = np.flatnonzero(((actions < low - ACTION_TOLERANCE) | (actions > high + ACTION_TOLERANCE)).any(axis=1))
    if len(outside):
        r = int(outside[0])
        raise InputError(f"{path}: key 'actions': row {r} {np.round(actions[r], 4).tolist()} lies outside {env}'s action "
                         f"bounds [{low.min():g}, {high.max():g}] (scale the actions to the env's)")


def import_demos(path: str | Path, env: str, out: str | Path, *, fmt: str | None = None, segment: str | None = None,
                 command: str | None = None, env_kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write the demonstrations in the file at path as the hirl dataset at out for the registered env `env`; returns
    {episodes, steps, segments, labelled, path}. Nothing is written when the file fails a check."""
    from hirl.data.imported import imported_meta, write_imported
    from hirl.integrations import adapter

    path = Path(path)
    arrays = read_demo_file(path, fmt)
    builder = EpisodeBuilder(arrays, path, segment, command)
    episodes = list(builder.episodes())  # every check before anything is written
    base = adapter(env).make(**dict(env_kwargs or {}))
    try:
        space, wrap = observation_space(arrays, base.observation_space, env, path)
        check_actions(arrays["actions"].astype(np.float64), base.action_space, env, path)
        if wrap:
            for ep in episodes:
                ep.observations = {"observation": np.asarray(ep.observations)}
        rate = 1.0 / float(getattr(base.unwrapped, "dt", 0.02))
        image_size = int(arrays["images"].shape[1]) if "images" in arrays else 0
        meta = imported_meta(env, env_kwargs or {}, rate, "language" if builder.labelled else "state",
                             {"env": env, "policy": "imported", "source": str(path.resolve()),
                              "segment": segment or ("file" if builder.labelled else "none")}, image_size)
        summary = write_imported(out, episodes, meta=meta, observation_space=space, action_space=base.action_space)
    finally:
        base.close()
    return {**summary, "segments": int(sum(len(e.seg_start) for e in episodes)), "labelled": builder.labelled}
