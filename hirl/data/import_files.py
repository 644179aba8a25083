"""Reading a user's demonstration file (`hirl data import`) into flat per-row arrays, checked.

    arrays = read_demo_file("demos.npz")          # {key: (N, ...)}; Dict observations as "observations/<key>"

Formats (the schema: docs/tutorials/import.md):
    npz      np.savez arrays, one row per step over all episodes; read with allow_pickle=False (strings: unicode arrays)
    hdf5     the same keys as datasets (observations may be a group of datasets), or robomimic's layout
             (data/demo_<i>/{obs/<key>, next_obs/<key>, actions, rewards}: each demo one episode)
    minari   a Minari dataset directory (PATH with data/metadata.json, or PATH/data): each episode's T+1 observations
             and T actions; optional per-step infos `language` / `subgoal_text` (labels) and `segment_ids`

Every problem is one InputError naming the file, the key and what is wrong (missing key, row count, shape, dtype,
NaN)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from hirl.errors import InputError

OBS, NEXT_OBS, ACTIONS = "observations", "next_observations", "actions"
BOUNDARY_KEYS = ("terminals", "timeouts", "episode_ids")  # at least one: where episodes end (flags) or which (ids)
STRING_KEYS = ("language", "commands")  # per-step strings: the active segment's label, the episode's command
INTEGER_KEYS = ("episode_ids", "segment_ids")
FLOAT_KEYS = (ACTIONS, "rewards")  # checked finite, like every observation entry
IMAGE_KEYS = ("images", "next_images")  # uint8 (N, H, W, 3) camera frames at the observation / next observation
KNOWN_KEYS = (ACTIONS, "rewards", "terminals", "timeouts", *INTEGER_KEYS, *STRING_KEYS, *IMAGE_KEYS)
FORMATS = ("npz", "hdf5", "minari")
LABEL_INFOS = ("language", "subgoal_text")  # Minari infos entries read as per-step labels, first found wins

Arrays = dict[str, np.ndarray]


def detect_format(path: Path) -> str:
    """npz | hdf5 | minari from the path (a directory is a Minari dataset); InputError when none fits."""
    if path.is_dir():
        return "minari"
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz"
    if suffix in (".h5", ".hdf5", ".hdf"):
        return "hdf5"
    raise InputError(f"{path}: unknown file type {suffix or '(no suffix)'!r}: expected .npz, .h5/.hdf5 or a Minari "
                     f"dataset directory (or name it with --format {'|'.join(FORMATS)})")


def read_demo_file(path: str | Path, fmt: str | None = None) -> Arrays:
    """The checked flat arrays of the demonstration file at path (fmt None: detect_format)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    fmt = fmt or detect_format(path)
    readers: dict[str, Callable[[Path], Arrays]] = {"npz": _read_npz, "hdf5": _read_hdf5, "minari": _read_minari}
    if fmt not in readers:
        raise InputError(f"{path}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    arrays = readers[fmt](path)
    check_arrays(arrays, path)
    return arrays


def _read_npz(path: Path) -> Arrays:
    try:
        f = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({' '.join(str(exc).split())[:120]})") from None
    out: Arrays = {}
    with f:
        for key in f.files:
            try:
                out[key] = np.asarray(f[key])
            except ValueError:
                raise InputError(f"{path}: key {key!r}: an object array (would need pickle); save strings as a unicode "
                                 "array, e.g. np.array(labels, dtype=str)") from None
    return out


def _h5_arrays(group: Any, prefix: str = "") -> Arrays:
    """Every dataset under an h5py group, by its path below the group (strings decoded to str)."""
    import h5py

    out: Arrays = {}
    for name, node in group.items():
        key = f"{prefix}{name}"
        if isinstance(node, h5py.Group):
            out.update(_h5_arrays(node, key + "/"))
        elif h5py.check_string_dtype(node.dtype) is not None:
            out[key] = np.asarray(node.asstr()[()], dtype=str)
        else:
            out[key] = np.asarray(node[()])
    return out


def _read_hdf5(path: Path) -> Arrays:
    import h5py

    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{path}: not a readable HDF5 file ({' '.join(str(exc).split())[:120]})") from None
    with fh:
        data = fh.get("data")
        if isinstance(data, h5py.Group) and any(k.startswith("demo_") for k in data):
            return _robomimic(path, data)
        return _h5_arrays(fh)


def _demo_number(name: str) -> int:
    digits = name.removeprefix("demo_")
    return int(digits) if digits.isdigit() else -1


def _robomimic(path: Path, data: Any) -> Arrays:
    """robomimic's data/demo_<i> groups (in number order) as flat rows with episode_ids = i."""
    rows: list[Arrays] = []
    for name in sorted((k for k in data if k.startswith("demo_")), key=_demo_number):
        demo = _h5_arrays(data[name])
        renamed = {k.replace("next_obs/", NEXT_OBS + "/", 1).replace("obs/", OBS + "/", 1): v for k, v in demo.items()}
        if ACTIONS not in renamed:
            raise InputError(f"{path}: key 'data/{name}/actions' missing (a robomimic demo holds obs/ and actions)")
        renamed["episode_ids"] = np.full(len(renamed[ACTIONS]), _demo_number(name), np.int64)
        rows.append({k: v for k, v in renamed.items() if k.split("/")[0] in (OBS, NEXT_OBS) or k in KNOWN_KEYS})
    return _concat(rows, path)


def _concat(rows: Iterable[Arrays], path: Path) -> Arrays:
    """Per-episode arrays -> one array per key; every episode must hold the same keys."""
    rows = list(rows)
    if not rows:
        raise InputError(f"{path}: holds no episodes")
    keys = set(rows[0])
    for i, r in enumerate(rows):
        if set(r) != keys:
            raise InputError(f"{path}: episode {i} has keys {sorted(r)}, episode 0 {sorted(keys)}")
    return {k: np.concatenate([r[k] for r in rows]) for k in sorted(keys)}


def _read_minari(path: Path) -> Arrays:
    from minari import MinariDataset

    root = path if (path / "metadata.json").is_file() else path / "data"
    if not (root / "metadata.json").is_file():
        raise InputError(f"{path}: not a Minari dataset (no metadata.json in it or in its data/)")
    try:
        ds = MinariDataset(root)
        episodes = list(ds.iterate_episodes())
    except Exception as exc:  # Minari raises many types on a bad directory: one line naming it
        raise InputError(f"{path}: not a readable Minari dataset ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})"
                         ) from None
    rows: list[Arrays] = []
    for i, ep in enumerate(episodes):
        T = len(ep.actions)
        r: Arrays = {ACTIONS: np.asarray(ep.actions), "rewards": np.asarray(ep.rewards, np.float64),
                     "episode_ids": np.full(T, i, np.int64)}
        obs = ep.observations
        for key, part in ((OBS, slice(0, T)), (NEXT_OBS, slice(1, T + 1))):
            if isinstance(obs, dict):
                r.update({f"{key}/{k}": np.asarray(v)[part] for k, v in obs.items()})
            else:
                r[key] = np.asarray(obs)[part]
        infos = ep.infos if isinstance(ep.infos, dict) else {}
        label = next((k for k in LABEL_INFOS if k in infos), None)
        if label is not None:
            r["language"] = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in infos[label][:T]], dtype=str)
        if "segment_ids" in infos:
            r["segment_ids"] = np.asarray(infos["segment_ids"])[:T]
        rows.append(r)
    return _concat(rows, path)


def observation_keys(arrays: Arrays, key: str = OBS) -> list[str] | None:
    """The Dict observation entries under key ("observations/<k>" names), None when key is one array."""
    if key in arrays:
        return None
    return sorted(k.split("/", 1)[1] for k in arrays if k.startswith(key + "/"))


def observation_rows(arrays: Arrays, key: str, rows: slice | np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
    """Rows of the observations under key: one array, or {entry: rows}."""
    names = observation_keys(arrays, key)
    if names is None:
        return arrays[key][rows]
    return {k: arrays[f"{key}/{k}"][rows] for k in names}


def check_arrays(arrays: Arrays, path: Path) -> None:
    """InputError naming path and the key unless arrays follow the import schema."""
    if ACTIONS not in arrays:
        raise InputError(f"{path}: key 'actions' missing (the file has: {', '.join(sorted(arrays)) or 'nothing'})")
    if not observation_keys(arrays) and OBS not in arrays:
        raise InputError(f"{path}: key 'observations' missing (one (N, ...) array, or observations/<name> entries)")
    if not any(k in arrays for k in BOUNDARY_KEYS):
        raise InputError(f"{path}: no episode boundaries: give one of the keys {', '.join(BOUNDARY_KEYS)}")
    if NEXT_OBS not in arrays and not observation_keys(arrays, NEXT_OBS) and "next_images" in arrays:
        raise InputError(f"{path}: key 'next_images': given without next_observations")
    actions = arrays[ACTIONS]
    if actions.ndim != 2 or not len(actions) or actions.shape[1] < 1:
        raise InputError(f"{path}: key 'actions': expected an (N, A) array with N, A >= 1, got shape {actions.shape}")
    for key, value in arrays.items():
        if value.ndim == 0 or len(value) != len(actions):
            rows = "a scalar" if value.ndim == 0 else f"{len(value)} rows"
            raise InputError(f"{path}: key {key!r}: {rows}, but 'actions' has {len(actions)} (one row per step)")
        problem = _problem(key, value)
        if problem:
            raise InputError(f"{path}: key {key!r}: {problem}")


def _problem(key: str, value: np.ndarray) -> str | None:
    """What is wrong with the (N, ...) array of one key of the schema, or None."""
    if key.split("/")[0] in (OBS, NEXT_OBS) or key in FLOAT_KEYS:
        if value.dtype.kind not in "biuf":
            return f"expected numbers, got dtype {value.dtype}"
        bad = ~np.isfinite(value.reshape(len(value), -1)).all(axis=1) if value.dtype.kind == "f" else np.zeros(0, bool)
        return f"NaN or infinite value at row {int(np.flatnonzero(bad)[0])}" if bad.any() else None
    if key in ("terminals", "timeouts") and (value.ndim != 1 or value.dtype.kind not in "biuf"):
        return f"expected (N,) flags (bool or 0/1), got {value.dtype} {value.shape}"
    if key in INTEGER_KEYS and (value.ndim != 1 or value.dtype.kind not in "iu"):
        return f"expected (N,) integers, got {value.dtype} {value.shape}"
    if key in STRING_KEYS:
        if value.ndim != 1 or value.dtype.kind != "U":
            return f"expected (N,) strings, got {value.dtype} {value.shape}"
        empty = np.flatnonzero(np.char.strip(value) == "")
        return f"empty text at row {int(empty[0])}" if len(empty) else None
    if key in IMAGE_KEYS and (value.dtype != np.uint8 or value.ndim != 4 or value.shape[3] != 3
                              or value.shape[1] != value.shape[2]):
        return f"expected uint8 (N, H, H, 3) square frames, got {value.dtype} {value.shape}"
    return None
