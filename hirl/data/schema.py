"""What a hirl dataset stores, and the checks that decide whether a file on disk is one.

On disk (PATH is what `hirl collect --out PATH` was given; it is a Minari dataset directory):

    PATH/data/metadata.json     Minari metadata + metadata["hirl"] (see HirlMeta below)
    PATH/data/main_data.hdf5    one group per episode, written by minari.create_dataset_from_buffers
    PATH/journal/               only while a collection is unfinished: one atomically written file per episode

Per episode `episode_<n>` (Minari layout; T = number of control steps):

    observations    Dict obs as a group of (T+1, ...) arrays (or one (T+1, D) array for Box spaces)
    actions         (T, A)
    rewards, terminations, truncations   (T,)
    infos/          step-aligned entries have T+1 rows, aligned with observations: row t describes the subgoal
                    the agent acted on at observation t; row T (no action taken there) repeats row T-1.
        subgoal_text    str   language label of the active subgoal (the instruction; describe() for state goals)
        subgoal_source  str   expert | human | policy | relabel
        subgoal_reason  str   why the subgoal changed at this step ("start", "completion", "timeout", ...), "" if kept
        segment         int64 segment index within the episode (a segment = steps under one subgoal)
        intervention    bool  a human/scripted correction switched the subgoal at this step
        is_success      bool  the env's info["is_success"] after this row's action (row 0: at reset)
        subgoal_state   float64 (T+1, G)   only for state subgoals: the commanded goal vector
        predicates      bool (T+1, P)      only for envs with info["subtask_success"]; columns = hirl.predicate_names
        disturbance     str (T+1,)         only for envs with info["disturbance"] (Tabletop's `disturbance` env kwarg):
                        row t says what the world undid during the step before observation t ("" for nothing)
        segments/       per-segment (S rows): start (S,), end (S,) = first step of the segment and one past its
                        last step, goal_state (S, G) = achieved goal at observation `end`
        images/         only with --image-every K: frames (N, H, W, 3) uint8 at observations steps (N,)
                        (every K-th step plus the final observation)
    attrs           seed, options/* (written by Minari) and EPISODE_ATTRS below
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hirl.errors import InputError

SCHEMA_VERSION = 1
HIRL_KEY = "hirl"  # metadata.json key holding HirlMeta
DATA_DIR = "data"  # Minari keeps the files of dataset <id> in <root>/<id>/data
JOURNAL_DIR = "journal"
MAIN_FILE = "main_data.hdf5"
METADATA_FILE = "metadata.json"

STEP_STR_KEYS = ("subgoal_text", "subgoal_source", "subgoal_reason")
STEP_REQUIRED_KEYS = (*STEP_STR_KEYS, "segment", "intervention", "is_success")
SEGMENT_KEYS = ("start", "end", "goal_state")
IMAGE_KEYS = ("frames", "steps")

CONTROL_RATE_HZ = 50.0

# metadata["hirl"] keys (all JSON):
META_REQUIRED = (
    "schema_version",  # int, SCHEMA_VERSION
    "hirl_version",  # str
    "env_id",  # str
    "env_kwargs",  # dict
    "control_rate_hz",  # float (50)
    "image_every",  # int, 0 = no images
    "image_rate_hz",  # float, control rate / image_every (0 without images)
    "subgoal_kind",  # "language" | "state"
    "predicate_names",  # list[str], columns of infos/predicates ([] when absent)
    "episode_indices",  # list[int], hirl_index of each stored episode in order
    "collection",  # dict, the collection config
)


# per-episode attrs hirl writes next to Minari's seed and options/* (lists and dicts are stored as JSON strings)
EPISODE_ATTRS = (
    "hirl_index",  # int, episode number i of the collection (seed = base seed + i)
    "command",  # str, the episode's task command
    "success",  # bool, the env's is_success at the end
    "task",  # JSON list[str], the chain's subtasks
    "physics_error",  # str, why the simulation broke ("" when it did not)
)
# written only for envs with disturbances: JSON list of the episode's disturbance records (step, kind, undid, index, what)
DISTURBANCES_ATTR = "disturbances"


class EpisodeOutcome(Protocol):
    """What episode_attrs reads from a finished rollout (hirl.hierarchy.rollout.EpisodeResult has these fields).
    Read-only members, so a class whose task is a list[str] (or any Sequence) matches."""

    @property
    def command(self) -> str: ...
    @property
    def success(self) -> bool: ...
    @property
    def task(self) -> Sequence[str]: ...
    @property
    def physics_error(self) -> str | None: ...
    @property
    def disturbances(self) -> Sequence[Mapping[str, Any]] | None: ...


def episode_attrs(outcome: EpisodeOutcome, **extra: Any) -> dict[str, Any]:
    """The attrs of a journal record for a finished rollout (all of EPISODE_ATTRS except hirl_index, which the
    writer adds from the record's index) and, for an env with disturbances, DISTURBANCES_ATTR; plus caller-specific
    extras (e.g. a teleop round or human label)."""
    attrs = {"command": outcome.command, "success": bool(outcome.success), "task": list(outcome.task),
             "physics_error": outcome.physics_error or ""}
    if outcome.disturbances is not None:
        attrs[DISTURBANCES_ATTR] = [dict(d) for d in outcome.disturbances]
    return {**attrs, **extra}


def stored_attrs(index: int, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The HDF5 attrs of one episode: hirl_index plus the record's attrs, lists/dicts/tuples as JSON strings."""
    out: dict[str, Any] = {"hirl_index": int(index)}
    for k, v in dict(attrs).items():
        out[k] = json.dumps(to_json_safe(v)) if isinstance(v, (list, dict, tuple)) else v
    return out


def dataset_error(path: Any, problem: str) -> str:
    """The one-line message for a bad dataset."""
    return f"dataset {path}: {problem}".replace("\n", " ")


def dataset_failure(where: Any, problem: str) -> InputError:
    """The InputError (one line, see dataset_error) to raise for a bad dataset file."""
    return InputError(dataset_error(where, problem))


def check_meta(meta: Any, where: Any) -> dict[str, Any]:
    """Validate metadata["hirl"]; returns it or raises InputError naming where and what."""
    if not isinstance(meta, dict):
        raise InputError(dataset_error(where, "foreign dataset: metadata.json has no 'hirl' section (not written by hirl)"))
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(dataset_error(
            where, f"schema version {version!r} does not match this hirl's version {SCHEMA_VERSION}"))
    missing = [k for k in META_REQUIRED if k not in meta]
    if missing:
        raise InputError(dataset_error(where, f"schema mismatch: metadata 'hirl' section lacks {', '.join(missing)}"))
    return meta


def to_json_safe(obj: Any) -> Any:
    """obj with tuples -> lists and numpy scalars -> Python, so json.dumps works; raises TypeError otherwise."""
    return json.loads(json.dumps(obj, default=_default))


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
