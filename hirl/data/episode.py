"""One stored episode: the Episode record and reading + checking it from its HDF5 group."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np

from hirl.data import schema


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
    disturbances: list[dict[str, Any]] = field(default_factory=list)  # what the world undid (attrs "disturbances")

    @property
    def T(self) -> int:
        return int(self.actions.shape[0])

    def flat_obs(self, keys: Sequence[str] | None = None) -> np.ndarray:
        """(T+1, D) float32: Dict observations concatenated in the order of keys (default: sorted keys)."""
        if not isinstance(self.observations, dict):
            return np.asarray(self.observations, dtype=np.float32).reshape(self.T + 1, -1)
        keys = sorted(self.observations) if keys is None else list(keys)
        return np.concatenate([np.asarray(self.observations[k], dtype=np.float32).reshape(self.T + 1, -1) for k in keys],
                              axis=1)

    def achieved(self) -> np.ndarray:
        """(T+1, G) achieved goals (obs["achieved_goal"], or the flat observation for Box spaces)."""
        if isinstance(self.observations, dict):
            return np.asarray(self.observations.get("achieved_goal", self.flat_obs()), dtype=np.float64)
        return self.flat_obs().astype(np.float64)


Shape = tuple[int, ...]
SpaceShapes = Shape | dict[str, Shape] | None  # a Box's shape, a Dict's {key: shape}, None: not checked


def space_shapes(spec: Any) -> SpaceShapes:
    """Shapes of a space as Minari serialises it in metadata.json ({"type": "Box", "shape": [...]} or
    {"type": "Dict", "subspaces": {...}}, possibly as a JSON string); None for anything else (not checked)."""
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            return None
    if not isinstance(spec, dict):
        return None
    if spec.get("type") == "Box" and isinstance(spec.get("shape"), list):
        return tuple(int(d) for d in spec["shape"])
    if spec.get("type") == "Dict" and isinstance(spec.get("subspaces"), dict):
        shapes = {str(k): space_shapes(v) for k, v in spec["subspaces"].items()}
        return {k: v for k, v in shapes.items() if isinstance(v, tuple)}
    return None


MAX_ABS_ACTION = 1e6  # a stored action beyond this is a damaged file (hirl's envs act in [-1, 1])


def _check_array(a: Any, field: str, rows: int | None, shape: Shape | None) -> str | None:
    """What is wrong with the stored array a (numbers, (rows, *shape), finite), or None."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        return f"{field} holds {a.dtype} values, expected numbers"
    if a.ndim == 0:
        return f"{field} is a scalar, expected ({'T' if rows is None else rows}, ...) rows"
    if rows is not None and a.shape[0] != rows:
        return f"{field} has {a.shape[0]} rows, expected {rows}"
    if shape is not None and tuple(a.shape[1:]) != shape:
        return f"{field} has rows of shape {tuple(a.shape[1:])}, expected {shape} (the dataset's space)"
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        return f"{field} holds a non-finite value ({a[tuple(bad)]} at row {bad[0]})"
    return None


def check_step_arrays(observations: Any, actions: Any, rewards: Any, spaces: tuple[SpaceShapes, SpaceShapes]) -> str | None:
    """The first problem with an episode's observations, actions and rewards against the dataset's observation and
    action spaces (numbers, T+1 / T rows, row shapes, finite values), or None."""
    obs_shape, act_shape = spaces
    problem = _check_array(actions, "actions", None, act_shape if isinstance(act_shape, tuple) else None)
    if problem:
        return problem
    a = np.asarray(actions)
    if a.dtype not in (np.float32, np.float64):  # hirl writes float32; bool / ints / float16 are a damaged or foreign file
        return f"actions hold {a.dtype} values, expected float32 or float64"
    if a.size and float(np.abs(a).max()) > MAX_ABS_ACTION:
        row = int(np.argwhere(np.abs(a) > MAX_ABS_ACTION)[0][0])
        return f"actions hold {float(np.abs(a).max()):.3g} at row {row}, beyond any action space (|a| <= {MAX_ABS_ACTION:g})"
    T = int(np.asarray(actions).shape[0])
    if isinstance(observations, dict):
        if isinstance(obs_shape, tuple):
            return f"observations is a group of {sorted(observations)}, the observation space is a Box {obs_shape}"
        if isinstance(obs_shape, dict):
            missing = sorted(set(obs_shape) - set(observations))
            if missing:
                return f"observations has no {missing[0]!r} (the observation space has {sorted(obs_shape)})"
        for key in sorted(observations):
            want = obs_shape.get(key) if isinstance(obs_shape, dict) else None
            problem = _check_array(observations[key], f"observations/{key}", T + 1, want)
            if problem:
                return problem
    else:
        if isinstance(obs_shape, dict):
            return f"observations is one array, the observation space is a Dict of {sorted(obs_shape)}"
        problem = _check_array(observations, "observations", T + 1, obs_shape)
        if problem:
            return problem
    return _check_array(rewards, "rewards", T, ())


def read_episode(grp: Any, name: str, where: Path, meta: dict[str, Any],
                 spaces: tuple[SpaceShapes, SpaceShapes] = (None, None)) -> Episode:
    """The episode stored in HDF5 group grp (named name in file where), checked against metadata["hirl"] meta and
    the dataset's (observation, action) space shapes (space_shapes; None: not checked). Every array is read through
    hirl.data.checksums: a stored checksum that does not match is one InputError naming the file and episode."""
    from hirl.data import checksums

    def arr(g: Any, key: str) -> np.ndarray:
        if key not in g:
            raise schema.dataset_failure(where, f"schema mismatch: {name} has no {g.name}/{key}")
        return checksums.read_array(g[key], where, name)

    def strings(g: Any, key: str) -> np.ndarray:
        if key not in g:
            raise schema.dataset_failure(where, f"schema mismatch: {name} has no {g.name}/{key}")
        return checksums.read_strings(g[key], where, name)

    obs_node = grp["observations"] if "observations" in grp else None
    if obs_node is None:
        raise schema.dataset_failure(where, f"schema mismatch: {name} has no observations")
    observations = ({k: checksums.read_array(obs_node[k], where, name) for k in obs_node} if hasattr(obs_node, "keys")
                    else checksums.read_array(obs_node, where, name))
    actions, rewards = arr(grp, "actions"), arr(grp, "rewards")
    problem = check_step_arrays(observations, actions, rewards, spaces)
    if problem:
        raise schema.dataset_failure(where, f"{name}: {problem}")
    T = int(actions.shape[0])
    if "infos" not in grp:
        raise schema.dataset_failure(where, f"schema mismatch: {name} has no infos (not written by hirl)")
    inf = grp["infos"]
    ep = Episode(
        index=int(grp.attrs.get("hirl_index", -1)), seed=int(grp.attrs.get("seed", -1)), observations=observations,
        actions=actions, rewards=rewards, terminations=arr(grp, "terminations"),
        truncations=arr(grp, "truncations"),
        subgoal_text=strings(inf, "subgoal_text")[:T], subgoal_source=strings(inf, "subgoal_source")[:T],
        subgoal_reason=strings(inf, "subgoal_reason")[:T], segment=arr(inf, "segment")[:T].astype(np.int64),
        intervention=arr(inf, "intervention")[:T].astype(bool), is_success=arr(inf, "is_success").astype(bool),
        subgoal_state=arr(inf, "subgoal_state")[:T] if "subgoal_state" in inf else None,
        predicates=arr(inf, "predicates").astype(bool) if "predicates" in inf else None,
        seg_start=np.zeros(0, np.int64), seg_end=np.zeros(0, np.int64), seg_goal_state=np.zeros((0, 0)),
        frames=None, frame_steps=None, command=str(grp.attrs.get("command", "")),
        success=bool(grp.attrs.get("success", False)),
        task=json.loads(grp.attrs.get("task", "[]")) if isinstance(grp.attrs.get("task", "[]"), str) else [],
        disturbances=_json_list(grp.attrs.get(schema.DISTURBANCES_ATTR, "[]"), where, name),
    )
    if "segments" not in inf:
        raise schema.dataset_failure(where, f"schema mismatch: {name} has no infos/segments")
    seg = inf["segments"]
    ep.seg_start, ep.seg_end = arr(seg, "start").astype(np.int64), arr(seg, "end").astype(np.int64)
    ep.seg_goal_state = arr(seg, "goal_state")
    if "images" in inf:
        ep.frames, ep.frame_steps = arr(inf["images"], "frames"), arr(inf["images"], "steps").astype(np.int64)
    _check_episode(ep, name, where, meta)
    return ep


def _json_list(raw: Any, where: Path, name: str) -> list[Any]:
    """A JSON list stored as a string attr; a dataset error naming the episode when it is not one."""
    try:
        value = json.loads(raw) if isinstance(raw, (str, bytes)) else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        raise schema.dataset_failure(where, f"{name}: attrs {schema.DISTURBANCES_ATTR!r} is not a JSON list: {str(raw)[:80]}")
    return value


def _check_episode(ep: Episode, name: str, where: Path, meta: dict[str, Any]) -> None:
    T = ep.T
    obs_rows = ({k: v.shape[0] for k, v in ep.observations.items()} if isinstance(ep.observations, dict)
                else {"": ep.observations.shape[0]})
    problems = [f"observations{('/' + k) if k else ''} has {n} rows, expected {T + 1}"
                for k, n in obs_rows.items() if n != T + 1]
    for key in ("rewards", "terminations", "truncations", "subgoal_text", "subgoal_source", "subgoal_reason", "segment",
                "intervention"):
        n = len(getattr(ep, key))
        if n != T:
            problems.append(f"{key} has {n} rows, expected {T}")
    if len(ep.is_success) != T + 1:
        problems.append(f"is_success has {len(ep.is_success)} rows, expected {T + 1}")
    if ep.predicates is not None and ep.predicates.shape != (T + 1, len(meta["predicate_names"])):
        problems.append(f"predicates shape {ep.predicates.shape} != ({T + 1}, {len(meta['predicate_names'])})")
    if T < 1:
        problems.append("no steps")
    elif (not np.array_equal(ep.seg_start, np.flatnonzero(np.diff(ep.segment, prepend=-1)))
          or len(ep.seg_end) != len(ep.seg_start)):
        problems.append("segments table does not match the per-step segment ids")
    if ep.frames is not None and (ep.frames.dtype != np.uint8 or ep.frames.ndim != 4 or ep.frame_steps is None
                                  or len(ep.frames) != len(ep.frame_steps)):
        problems.append(f"images/frames must be uint8 (N, H, W, 3), got {ep.frames.dtype} {ep.frames.shape}")
    if problems:
        raise schema.dataset_failure(where, f"schema mismatch in {name}: {problems[0]}")
