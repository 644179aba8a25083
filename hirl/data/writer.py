"""Episode buffers -> Minari HDF5, crash-safe.

    recorder = EpisodeRecorder(env, image_every=K)
    result = run_episode(env, agent, command_fn, seed=s, on_step=recorder.on_step, on_transition=recorder.on_transition)
    record = recorder.finish(index=i, seed=s, options=opts, result=result)   # a plain dict of numpy arrays / lists
    journal.write(record)                                                   # atomic: one file per finished episode
    write_dataset(out, (journal.read(i) for i in journal.done()), meta=..., ...)   # built aside, swapped in

Readers therefore see the previous complete dataset or the new complete one, never a half-written file.
The format is described in hirl/data/schema.py."""
from __future__ import annotations

import contextlib
import ctypes
import json
import io
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import gymnasium as gym
import numpy as np

from hirl.data import schema
from hirl.errors import InputError
from hirl.fileio import atomic_write_bytes, atomic_write_json
from hirl.hierarchy.agent import HierarchicalAgent
from hirl.hierarchy.completion import achieved_state
from hirl.types import Observation, Subgoal

PREDICATE_INFO_KEY = "subtask_success"


def subgoal_text(subgoal: Subgoal) -> str:
    """Language label of a subgoal: the instruction itself, else its label, else Subgoal.describe() (see Subgoal.text)."""
    return subgoal.text


def _copy_obs(obs: Observation) -> Any:
    if isinstance(obs, Mapping):
        return {k: np.array(v, copy=True) for k, v in obs.items()}
    return np.array(obs, copy=True)


def _stack_obs(rows: list[Any]) -> Any:
    if isinstance(rows[0], dict):
        return {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    return np.stack(rows)


class EpisodeRecorder:
    """Collects one episode through run_episode's hooks (on_step before each action, on_transition after it).

    env          the env being stepped (rendered every `image_every` steps when > 0; needs render_mode="rgb_array")
    image_every  K: keep a frame of observation t when t % K == 0, plus the final observation (0: no images)
    """

    def __init__(self, env: gym.Env, image_every: int = 0) -> None:
        if image_every < 0:
            raise ValueError(f"image_every must be >= 0, got {image_every}")
        self.env, self.image_every = env, int(image_every)
        self.predicate_names: list[str] | None = None
        self._reset()

    def _reset(self) -> None:
        self.obs: list[Any] = []
        self.actions: list[np.ndarray] = []
        self.rewards: list[float] = []
        self.terminations: list[bool] = []
        self.truncations: list[bool] = []
        self.text: list[str] = []
        self.source: list[str] = []
        self.reason: list[str] = []
        self.segment: list[int] = []
        self.state_goal: list[np.ndarray] = []
        self.success: list[bool] = []
        self.predicates: list[np.ndarray] = []
        self.frames: list[np.ndarray] = []
        self.frame_steps: list[int] = []
        self._last: tuple[Any, Mapping[str, Any]] | None = None

    # --------------------------------------------------------------- hooks
    def on_step(self, t: int, agent: HierarchicalAgent, obs: Observation, info: Mapping[str, Any]) -> None:
        if t == 0:
            self._reset()
        self._observe(t, obs, info)

    def on_transition(self, t: int, agent: HierarchicalAgent, obs: Observation, action: np.ndarray, reward: float,
                      next_obs: Observation, terminated: bool, truncated: bool, info: Mapping[str, Any]) -> None:
        entry = agent.trace[-1]
        self.actions.append(np.array(action, copy=True))
        self.rewards.append(float(reward))
        self.terminations.append(bool(terminated))
        self.truncations.append(bool(truncated))
        self.text.append(subgoal_text(entry.subgoal))
        self.source.append(entry.subgoal.source)
        self.reason.append(entry.reason or "")
        new_segment = entry.reason is not None and t > 0
        self.segment.append((self.segment[-1] + int(new_segment)) if self.segment else 0)
        if entry.subgoal.kind == "state":
            self.state_goal.append(np.asarray(entry.subgoal.value, dtype=np.float64))
        self._last = (next_obs, info)

    def _observe(self, t: int, obs: Observation, info: Mapping[str, Any]) -> None:
        self.obs.append(_copy_obs(obs))
        self.success.append(bool(info.get("is_success", False)))
        flags = info.get(PREDICATE_INFO_KEY)
        if isinstance(flags, Mapping):
            if self.predicate_names is None:
                self.predicate_names = sorted(str(k) for k in flags)
            self.predicates.append(np.array([bool(flags.get(n, False)) for n in self.predicate_names], dtype=bool))
        if self.image_every and t % self.image_every == 0:
            self._frame(t)

    def _frame(self, t: int) -> None:
        frame = self.env.render()
        if frame is None:
            raise RuntimeError("EpisodeRecorder: image_every > 0 needs an env made with render_mode='rgb_array'")
        self.frames.append(np.asarray(frame, dtype=np.uint8).copy())
        self.frame_steps.append(t)

    # --------------------------------------------------------------- result
    def finish(self, *, index: int, seed: int, options: Mapping[str, Any] | None = None,
               attrs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The finished episode as a journal record (plain dict). Call right after run_episode returns (the env
        still holds the final state, rendered when images are kept)."""
        if self._last is None or not self.actions:
            raise RuntimeError("EpisodeRecorder.finish: no transition was recorded")
        T = len(self.actions)
        final_obs, final_info = self._last
        self._observe(T, final_obs, final_info)
        if self.image_every and (not self.frame_steps or self.frame_steps[-1] != T):
            self._frame(T)
        pad = lambda rows: rows + rows[-1:]  # noqa: E731  row T repeats row T-1
        segment = np.asarray(pad(self.segment), dtype=np.int64)
        infos: dict[str, Any] = {
            "subgoal_text": pad(self.text),
            "subgoal_source": pad(self.source),
            "subgoal_reason": self.reason + [""],
            "segment": segment,
            "intervention": np.asarray([r == "override" for r in self.reason] + [False], dtype=bool),
            "is_success": np.asarray(self.success, dtype=bool),
        }
        if self.state_goal:
            if len(self.state_goal) != T:
                raise RuntimeError("EpisodeRecorder: state and non-state subgoals mixed in one episode")
            infos["subgoal_state"] = np.stack(pad(self.state_goal))
        if self.predicates:
            infos["predicates"] = np.stack(self.predicates)
        starts = np.flatnonzero(np.diff(segment[:T], prepend=-1))
        ends = np.append(starts[1:], T)
        achieved = np.stack([achieved_state(self.obs[e]) for e in ends])
        infos["segments"] = {"start": starts.astype(np.int64), "end": ends.astype(np.int64), "goal_state": achieved}
        if self.frames:
            infos["images"] = {"frames": np.stack(self.frames), "steps": np.asarray(self.frame_steps, dtype=np.int64)}
        record = {
            "index": int(index),
            "seed": int(seed),
            "options": dict(options) if options else None,
            "observations": _stack_obs(self.obs),
            "actions": np.stack(self.actions),
            "rewards": np.asarray(self.rewards, dtype=np.float64),
            "terminations": np.asarray(self.terminations, dtype=bool),
            "truncations": np.asarray(self.truncations, dtype=bool),
            "infos": infos,
            "predicate_names": list(self.predicate_names or []),
            "attrs": dict(attrs or {}),
        }
        self._reset()
        return record


# ------------------------------------------------------------------- journal
_SKELETON_KEY = "__record__"  # npz entry holding the record's non-array structure as UTF-8 JSON


def encode_record(record: Mapping[str, Any]) -> bytes:
    """A journal record (nested dicts / lists of numpy arrays, numbers, str, None) -> npz bytes: every array is an
    npz entry named by its path, the rest is a JSON skeleton pointing at them. Read back without pickle."""
    arrays: dict[str, np.ndarray] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError(f"journal record {path}: object arrays cannot be stored")
            name = path.lstrip("/")
            arrays[name] = value
            return {"__array__": name}
        if isinstance(value, Mapping):
            return {str(k): walk(v, f"{path}/{k}") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(value)]
        return value.item() if isinstance(value, np.generic) else value

    skeleton = json.dumps(walk(dict(record), "")).encode("utf-8")
    buf = io.BytesIO()
    np.savez(buf, **{_SKELETON_KEY: np.frombuffer(skeleton, dtype=np.uint8)}, **arrays)
    return buf.getvalue()


def decode_record(data: bytes) -> dict[str, Any]:
    """Inverse of encode_record. allow_pickle=False: a tampered file can fail to load, never run code."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    skeleton = json.loads(arrays.pop(_SKELETON_KEY).tobytes().decode("utf-8"))

    def build(value: Any) -> Any:
        if isinstance(value, dict):
            return arrays[value["__array__"]] if set(value) == {"__array__"} else {k: build(v) for k, v in value.items()}
        if isinstance(value, list):
            return [build(v) for v in value]
        return value

    return build(skeleton)


class Journal:
    """One atomically written npz (encode_record) per finished episode under DIR; collect.json holds the collection
    config. Files are only ever renamed into place, so a crash leaves whole episodes or nothing."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def config_path(self) -> Path:
        return self.root / "collect.json"

    def exists(self) -> bool:
        return self.config_path.exists()

    def episode_path(self, index: int) -> Path:
        return self.root / f"episode_{index:06d}.npz"

    def write_config(self, config: Mapping[str, Any]) -> None:
        atomic_write_json(self.config_path, schema.to_json_safe(dict(config)))

    def read_config(self) -> dict[str, Any]:
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"journal {self.config_path}: unreadable ({type(exc).__name__}: {exc})") from None

    def write(self, record: Mapping[str, Any]) -> Path:
        return atomic_write_bytes(self.episode_path(int(record["index"])), encode_record(record))

    def done(self) -> list[int]:
        """Indices of the episodes journaled so far, sorted."""
        if not self.root.is_dir():
            return []
        out = []
        for p in self.root.glob("episode_*.npz"):
            m = re.fullmatch(r"episode_(\d+)\.npz", p.name)
            if m:
                out.append(int(m.group(1)))
        return sorted(out)

    def read(self, index: int) -> dict[str, Any]:
        path = self.episode_path(index)
        try:
            return decode_record(path.read_bytes())
        except Exception as exc:  # a journal file is only ever renamed into place whole; this means tampering
            raise InputError(f"journal {path}: unreadable ({type(exc).__name__}: {exc})") from None

    def clean_temporaries(self) -> None:
        for p in self.root.glob(".*.tmp"):
            p.unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------- dataset assembly
def dataset_id_for(path: str | Path) -> str:
    """Minari dataset id stored in metadata: the directory name if it is a valid id with a version, else name-v0."""
    name = re.sub(r"[^-_\w]", "_", Path(path).resolve().name) or "dataset"
    return name if re.fullmatch(r"[-_\w]+?-v\d+", name) else f"{name}-v0"


def _buffer(record: Mapping[str, Any]) -> Any:
    from minari.data_collector import EpisodeBuffer

    def as_list(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: as_list(v) for k, v in x.items()}
        return list(x) if isinstance(x, np.ndarray) else x

    return EpisodeBuffer(
        id=None, seed=record["seed"], options=record["options"], observations=as_list(record["observations"]),
        actions=list(record["actions"]), rewards=list(record["rewards"]), terminations=list(record["terminations"]),
        truncations=list(record["truncations"]), infos=as_list(record["infos"]),
    )


@contextlib.contextmanager
def _datasets_root(root: Path) -> Iterator[None]:
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _fsync_tree(path: Path) -> None:
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing directories (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = renameat2(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE)
    return rc == 0


def write_dataset(
    out: str | Path,
    records: Iterable[Mapping[str, Any]],
    *,
    meta: Mapping[str, Any],
    observation_space: gym.Space,
    action_space: gym.Space,
    env_spec: gym.envs.registration.EnvSpec | None = None,
) -> Path:
    """Write records (journal dicts, in dataset order) as the Minari dataset at out/data; returns out.

    The dataset is built in a temporary directory inside `out` and swapped in whole (atomic exchange when the
    OS supports it), so `out/data` is always either the previous complete dataset or the new one.
    meta: the metadata["hirl"] section without episode_indices / predicate_names (filled in here)."""
    import minari

    out = Path(out).absolute()  # Minari joins MINARI_DATASETS_PATH with relative paths inconsistently
    out.mkdir(parents=True, exist_ok=True)
    dataset_id = dataset_id_for(out)
    tmp_root = Path(tempfile.mkdtemp(prefix=".assemble-", dir=out))
    episode_attrs: list[dict[str, Any]] = []
    indices: list[int] = []
    predicate_names: list[list[str]] = []

    def buffers() -> Iterator[Any]:
        for record in records:
            indices.append(int(record["index"]))
            predicate_names.append(list(record.get("predicate_names", [])))
            attrs = {"hirl_index": int(record["index"])}
            for k, v in dict(record.get("attrs", {})).items():
                attrs[k] = json.dumps(schema.to_json_safe(v)) if isinstance(v, (list, dict, tuple)) else v
            episode_attrs.append(attrs)
            yield _buffer(record)

    try:
        with _datasets_root(tmp_root), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = minari.create_dataset_from_buffers(
                dataset_id, buffers(), env=None, observation_space=observation_space, action_space=action_space,
                algorithm_name=str(meta.get("collection", {}).get("policy", "hirl")), author="hirl", author_email="n/a",
                code_permalink="n/a", description=f"hirl demonstrations on {meta.get('env_id')}", data_format="hdf5",
                jpeg_encoding=False,
            )
        names = predicate_names[0] if predicate_names else []
        if any(n != names for n in predicate_names):
            raise ValueError("episodes disagree on the env's predicate names (info['subtask_success'] keys)")
        if episode_attrs:
            ds.storage.update_episode_metadata(episode_attrs)
        hirl_meta = dict(meta)
        hirl_meta.update(schema_version=schema.SCHEMA_VERSION, predicate_names=names, episode_indices=indices)
        extra: dict[str, Any] = {schema.HIRL_KEY: schema.to_json_safe(hirl_meta)}
        if env_spec is not None:
            try:
                extra["env_spec"] = env_spec.to_json()
            except (TypeError, ValueError):
                pass
        ds.storage.update_metadata(extra)
        new_data = tmp_root / dataset_id / schema.DATA_DIR
        _fsync_tree(new_data)
        target = out / schema.DATA_DIR
        if not target.exists():
            os.rename(new_data, target)
        elif not _exchange(new_data, target):
            old = tmp_root / "old"
            os.rename(target, old)  # not atomic: a crash right here leaves out/.assemble-*/old; --resume rebuilds
            os.rename(new_data, target)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return out
