"""Observation flattening: the one way an observation becomes a model's state vector.

    x = obs_vector(obs, config.obs_keys)     # Dict obs / array -> (S,) float32
    g = achieved_of(obs, "achieved_goal")    # Dict obs entry -> (G,) float32 (the residual state models' input)

Must match how training data was flattened (hirl.data: load_dataset(path, obs_keys=keys)).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hirl.types import Observation

DEFAULT_OBS_KEYS: tuple[str, ...] = ("observation",)  # Dict obs entries concatenated into the state vector


def obs_vector(obs: Observation, keys: Sequence[str] = DEFAULT_OBS_KEYS) -> np.ndarray:
    """One observation -> (S,) float32: Dict obs entries `keys` concatenated in that order; arrays flattened.

    Must match how training data was flattened (hirl.data: load_dataset(path, obs_keys=keys))."""
    if isinstance(obs, Mapping):
        try:
            parts = [np.asarray(obs[k], dtype=np.float32).ravel() for k in keys]
        except KeyError as exc:
            raise KeyError(f"observation has no {exc.args[0]!r} entry "
                           f"(keys: {sorted(obs)}; model wants {list(keys)})") from None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.asarray(obs, dtype=np.float32).ravel()


def achieved_of(obs: Observation, key: str) -> np.ndarray:
    """obs[key] as float32 (G,); ValueError naming the key when the observation has no such entry."""
    if not isinstance(obs, Mapping) or key not in obs:
        raise ValueError(f"a residual state model reads the observation's {key!r} entry, which it does not have")
    return np.asarray(obs[key], dtype=np.float32)
