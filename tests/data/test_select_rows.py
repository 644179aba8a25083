"""select_rows (a row subset of StepTables whose windows still point into the whole achieved goals) and
held_out_episodes (every k-th episode's rows), checked on collected chains."""
from __future__ import annotations

import numpy as np
import pytest

from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.tables import build_tables, held_out_episodes, remap_vocab, select_rows
from hirl.policies.obs import DEFAULT_OBS_KEYS


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    path = tmp_path_factory.mktemp("rows") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=4, workers=1, seed=3, chain_length=2), path, progress=False)
    return build_tables(load_dataset(path, obs_keys=DEFAULT_OBS_KEYS, images=False), DEFAULT_OBS_KEYS)


def test_every_kth_episode_is_held_out_whole(tables):
    t = tables
    out = held_out_episodes(t, 2)
    starts = np.unique(t.episode_window[:, 0])
    assert len(starts) == 4
    for i, first in enumerate(starts):  # episodes 1 and 3 (every 2nd), each with all of its rows
        rows = t.episode_window[:, 0] == first
        assert out[rows].all() == (i % 2 == 1) and out[rows].any() == (i % 2 == 1)
    kept, held = select_rows(t, ~out), select_rows(t, out)
    assert len(kept.obs) + len(held.obs) == len(t.obs) and len(held.obs) > 0
    np.testing.assert_array_equal(held.obs, t.obs[out])
    assert held.achieved is t.achieved and held.commands == t.commands and held.frames is None
    np.testing.assert_array_equal(held.achieved[held.obs_row], t.achieved[t.obs_row[out]])  # windows still valid
    assert not held_out_episodes(t, 10).any()  # 4 episodes: no 10th one


def test_remap_vocab_keeps_the_rows_of_known_subgoals(tables):
    t = tables
    keep = t.vocab[: max(1, len(t.vocab) // 2)]
    r = remap_vocab(t, keep)
    assert r.vocab == keep and set(r.label.tolist()) <= set(range(len(keep)))
    assert len(r.obs) == int(np.isin(np.array(t.vocab)[t.label], keep).sum())
