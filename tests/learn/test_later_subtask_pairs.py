"""later_subtask_pairs: the high level's "memory ahead of the state" rows, checked against the episodes by brute
force, and the high_language component's memory_ahead field that adds them."""
from __future__ import annotations

import numpy as np
import pytest

from hirl.config import FieldError
from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.tables import build_tables, text_tables
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.encoders.text_factory import make_text_encoder
from hirl.learn.imitation_data import later_subtask_pairs
from hirl.policies.obs import DEFAULT_OBS_KEYS
from hirl.runs.agents import component


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    path = tmp_path_factory.mktemp("chains") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=3, workers=1, seed=11, chain_length=3), path, progress=False)
    ds = load_dataset(path, obs_keys=DEFAULT_OBS_KEYS, images=False)
    return ds, build_tables(ds, DEFAULT_OBS_KEYS)


def test_the_memory_is_a_later_subtask_of_the_same_chain_and_the_label_the_rows_own(tables):
    ds, t = tables
    later_of: list[set[int]] = []  # per step row: the labels of the later segments of its episode
    own: list[int] = []
    for e in ds.episodes:
        labels = [t.vocab.index(str(x)) for x in e.subgoal_text]
        for step in range(e.T):
            later_of.append({labels[s] for s in range(step, e.T) if e.segment[s] > e.segment[step]})
            own.append(labels[step])
    pairs = later_subtask_pairs(t, 1.0)
    eligible = sum(1 for s in later_of if s)
    assert len(pairs["target"]) == eligible > 0  # share 1: every row that has a later segment, once
    rows = [int(np.flatnonzero((t.obs == o).all(axis=1))[0]) for o in pairs["obs"]]
    for r, target, prev in zip(rows, pairs["target"], pairs["prev"], strict=True):
        assert target == own[r] and prev in later_of[r]
    assert len(later_subtask_pairs(t, 0.25)["target"]) == round(0.25 * eligible)
    again = later_subtask_pairs(t, 0.25)
    np.testing.assert_array_equal(again["prev"], later_subtask_pairs(t, 0.25)["prev"])  # a fixed generator


def test_memory_ahead_adds_the_rows_to_the_high_levels_batches(tables):
    _, t = tables
    tt = text_tables(t, make_text_encoder("hash", 32), MAX_SUBTASKS)
    high = component("high_language")
    plain = high.sampler(t, tt, 8).size
    high.set_network_fields({"memory_ahead": 0.5})
    try:
        assert high.sampler(t, tt, 8).size == plain + len(later_subtask_pairs(t, 0.5)["target"])
        assert high.build(t, tt, "hash", DEFAULT_OBS_KEYS).config.memory_ahead == 0.5
        high.set_network_fields({"memory_ahead": 2.0})
        with pytest.raises(FieldError, match=r"networks\.high_language"):
            high.build(t, tt, "hash", DEFAULT_OBS_KEYS)
        with pytest.raises(FieldError, match=r"networks\.high_language\.nope"):
            high.set_network_fields({"nope": 1})
    finally:
        high.set_network_fields({})
