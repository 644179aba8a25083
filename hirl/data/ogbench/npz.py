"""Import OGBench's own dataset files (e.g. scene-play-v0.npz from OGBench's download) as a hirl dataset, so a user
who has them trains on exactly OGBench's data instead of regenerating it.

    python -m hirl.data.ogbench.npz scene-play-v0.npz --env scene-v0 --out runs/data/ogbench/scene-play-npz

An OGBench file holds flat arrays over all episodes: observations (N, S), actions (N, A), terminals (N,) (1 at the
last step of each episode) and optionally qpos / qvel / button_states. Each run of steps up to a terminal is one
episode of T + 1 observations: its first T actions are the transitions, the last action (taken at the final
observation, whose successor the file does not hold) is dropped, as OGBench's own loader does. The files carry no
oracle targets, so each episode is one segment labelled IMPORTED_LABEL: GCBC, HIQL and the state hierarchy train on
imports; the language hierarchy needs generated data (hirl.data.ogbench.generate). Loaded with
np.load(allow_pickle=False): nothing is unpickled."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hirl.data.imported import ImportedEpisode
from hirl.errors import InputError

IMPORTED_LABEL = "OGBench dataset episode"  # the one segment label of imported episodes
REQUIRED = ("observations", "actions", "terminals")  # arrays an OGBench file must hold


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an OGBench .npz file, checked: InputError naming the file and the key on anything wrong."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: np.asarray(f[k]) for k in f.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({' '.join(str(exc).split())[:120]})") from None
    for key in REQUIRED:
        if key not in arrays:
            raise InputError(f"{path}: key {key!r} missing (an OGBench dataset file has {', '.join(REQUIRED)})")
    obs, act, term = arrays["observations"], arrays["actions"], arrays["terminals"]
    if obs.ndim != 2 or act.ndim != 2 or term.ndim != 1:
        raise InputError(f"{path}: key 'observations'/'actions'/'terminals': expected (N, S), (N, A), (N,) arrays, "
                         f"got {obs.shape}, {act.shape}, {term.shape}")
    if not len(obs) == len(act) == len(term) or not len(obs):
        raise InputError(f"{path}: key 'terminals': observations, actions and terminals differ in length "
                         f"({len(obs)}, {len(act)}, {len(term)}) or are empty")
    if not bool(term[-1]):
        raise InputError(f"{path}: key 'terminals': the last step is not an episode end (a truncated file?)")
    return arrays


def episode_bounds(terminals: np.ndarray) -> list[tuple[int, int]]:
    """[(first, last)] step rows of each episode (last = the row whose terminal is set), in file order."""
    ends = np.flatnonzero(np.asarray(terminals).astype(bool))
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def episodes(arrays: dict[str, np.ndarray], command: str) -> Iterator[ImportedEpisode]:
    """Every episode with at least one transition, as one segment labelled IMPORTED_LABEL (goal: its last state)."""
    obs, act = arrays["observations"].astype(np.float64), arrays["actions"].astype(np.float32)
    for first, last in episode_bounds(arrays["terminals"]):
        o = obs[first:last + 1]  # (T + 1, S)
        if len(o) < 2:
            continue
        observations = {"observation": o, "achieved_goal": o.copy(), "desired_goal": np.zeros_like(o)}
        yield ImportedEpisode(observations, act[first:last], np.zeros(1, np.int64), [IMPORTED_LABEL], command,
                              source_row=first)


def import_npz(path: str | Path, env: str, out: str | Path) -> dict[str, Any]:
    """Write the OGBench file at path as the hirl dataset at out, for OGBench env `env` (e.g. 'scene-v0': its
    spaces, control rate and id ogbench/<env>); returns {episodes, steps, path}."""
    from hirl.data.imported import imported_meta, write_imported
    from hirl.adapters.ogbench.adapter import PREFIX, command, register
    from hirl.adapters.ogbench.env import OgbenchEnv

    arrays = read_npz(path)
    register(env)
    base = OgbenchEnv(env)
    try:
        spaces: Any = base.observation_space
        S, A = int(spaces["observation"].shape[0]), int(np.prod(base.action_space.shape or (1,)))
        if arrays["observations"].shape[1] != S or arrays["actions"].shape[1] != A:
            raise InputError(f"{path}: key 'observations': {arrays['observations'].shape[1]} state and "
                             f"{arrays['actions'].shape[1]} action values, but {env} has {S} and {A}")
        meta = imported_meta(PREFIX + env, {}, 1 / base.dt, "state",
                             {"env": PREFIX + env, "policy": "ogbench_npz", "source": str(Path(path).resolve())})
        return write_imported(out, episodes(arrays, command({}).text), meta=meta,
                              observation_space=base.observation_space, action_space=base.action_space)
    finally:
        base.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hirl.data.ogbench.npz", description=__doc__.split("\n\n")[0])
    p.add_argument("npz", help="an OGBench dataset file, e.g. scene-play-v0.npz")
    p.add_argument("--env", required=True, help="its OGBench env, e.g. scene-v0 (the dataset name without the type)")
    p.add_argument("--out", required=True, help="hirl dataset directory to write")
    a = p.parse_args(argv)
    try:
        print(json.dumps(import_npz(a.npz, a.env, a.out)))
    except InputError as exc:
        print(f"npz: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
