"""Shared fixtures of the learner tests."""
from __future__ import annotations

import pytest

from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.tables import build_tables
from hirl.policies.obs import DEFAULT_OBS_KEYS


@pytest.fixture(scope="session")
def chain_dataset(tmp_path_factory):
    """(dataset, step tables) of 4 scripted Tabletop chains of 3 subtasks (seed 11), collected once per test run."""
    path = tmp_path_factory.mktemp("chains") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=4, workers=1, seed=11, chain_length=3), path, progress=False)
    ds = load_dataset(path, obs_keys=DEFAULT_OBS_KEYS, images=False)
    return ds, build_tables(ds, DEFAULT_OBS_KEYS)
