"""Chunk and history samplers over StepTables (hirl.learn.imitation_data.action_samples): a hand-made two-episode
table, a brute-force check on collected Tabletop episodes, rows without episodes, and the batches of the components."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.tables import (
    NO_INDEX, StepTables, build_tables, concat_tables, episode_steps_behind, segment_steps_ahead, tables_from_rows,
    text_tables,
)
from hirl.encoders.text_factory import make_text_encoder
from hirl.learn.imitation_data import action_samples, chunk_rows, history_rows
from hirl.policies.heads import HeadConfig
from hirl.policies.obs import DEFAULT_OBS_KEYS
from hirl.runs.agents import component


def rows_only(n: int, obs_dim: int = 2) -> StepTables:
    """n table rows that are not from episodes (as adapt / corrections make them)."""
    z = np.zeros(n, np.int64)
    return tables_from_rows(np.arange(n * obs_dim, dtype=np.float32).reshape(n, obs_dim),
                            np.arange(n * 2, dtype=np.float32).reshape(n, 2), z, z, z, np.zeros((n, 3), np.float32),
                            np.zeros((n, 3), np.float32), ["a"], ["c"])


def two_episodes() -> StepTables:
    """Episode A: 5 steps, segments [0, 2) and [2, 5); episode B: 3 steps, one segment (achieved rows: T + 1 each)."""
    t = rows_only(8)
    t.obs_row = np.array([0, 1, 2, 3, 4, 6, 7, 8])
    t.segment_window = np.array([[0, 2], [0, 2], [2, 5], [2, 5], [2, 5], [6, 9], [6, 9], [6, 9]])
    t.episode_window = np.array([[0, 5]] * 5 + [[6, 9]] * 3)
    return t


def test_chunks_stay_in_their_segment_by_hand() -> None:
    t = two_episodes()
    np.testing.assert_array_equal(segment_steps_ahead(t), [2, 1, 3, 2, 1, 3, 2, 1])
    rows, mask = chunk_rows(t, 3)
    np.testing.assert_array_equal(rows, [[0, 1, 1], [1, 1, 1], [2, 3, 4], [3, 4, 4], [4, 4, 4], [5, 6, 7], [6, 7, 7],
                                         [7, 7, 7]])
    np.testing.assert_array_equal(mask, [[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 1, 0],
                                         [1, 0, 0]])


def test_histories_stay_in_their_episode_by_hand() -> None:
    t = two_episodes()
    np.testing.assert_array_equal(episode_steps_behind(t), [0, 1, 2, 3, 4, 0, 1, 2])
    edge = history_rows(t, 3, "edge")
    np.testing.assert_array_equal(edge, [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [5, 5, 5], [5, 5, 6],
                                         [5, 6, 7]])  # across A's segment switch, never into A from B
    zero = history_rows(t, 3, "zero")
    np.testing.assert_array_equal(zero[[0, 1, 2, 5, 6]], [[NO_INDEX, NO_INDEX, 0], [NO_INDEX, 0, 1], [0, 1, 2],
                                                          [NO_INDEX, NO_INDEX, 5], [NO_INDEX, 5, 6]])


def test_rows_without_episodes_and_concatenated_tables() -> None:
    loose = rows_only(4)
    rows, mask = chunk_rows(loose, 3)
    np.testing.assert_array_equal(rows, np.repeat(np.arange(4)[:, None], 3, 1))
    np.testing.assert_array_equal(mask, [[1, 0, 0]] * 4)  # one labelled action each, no neighbours
    np.testing.assert_array_equal(history_rows(loose, 2), np.repeat(np.arange(4)[:, None], 2, 1))
    m = concat_tables(two_episodes(), two_episodes())  # the second copy's windows are shifted: no chunk crosses over
    rows, _ = chunk_rows(m, 3)
    assert rows[7].tolist() == [7, 7, 7] and rows[8].tolist() == [8, 9, 9]
    assert history_rows(m, 3)[8].tolist() == [8, 8, 8]


@pytest.fixture(scope="module")
def tabletop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("heads") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=3, workers=1, seed=11, chain_length=2), path, progress=False)
    return path


def test_chunks_and_histories_match_the_episodes(tabletop: Path) -> None:
    """Brute force, step by step over every episode: the chunk is the segment's next H actions (its last one
    repeated past its end), the history the episode's previous k observations (the first one repeated)."""
    ds = load_dataset(tabletop, obs_keys=DEFAULT_OBS_KEYS)
    t = build_tables(ds, DEFAULT_OBS_KEYS)
    H, k = 6, 3
    samples, lookups = action_samples(t, HeadConfig(kind="chunk", horizon=H, history=k))
    action = t.action[samples["action_rows"]]
    obs = t.obs[samples["obs_rows"]]
    offset = 0
    for e in ds.episodes:
        acts, flat = e.actions.reshape(e.T, -1), e.flat_obs(DEFAULT_OBS_KEYS)[: e.T]
        for step in range(e.T):
            seg = max(i for i, s in enumerate(e.seg_start) if s <= step)
            end = e.seg_end[seg]
            want = [acts[min(step + j, end - 1)] for j in range(H)]
            np.testing.assert_allclose(action[offset + step], want, rtol=1e-6)
            np.testing.assert_array_equal(samples["action_mask"][offset + step], [step + j < end for j in range(H)])
            np.testing.assert_allclose(obs[offset + step], [flat[max(step - j, 0)] for j in range(k - 1, -1, -1)])
        offset += e.T
    assert set(lookups) == {"obs", "action"}


def test_component_batches_with_a_head(tabletop: Path) -> None:
    ds = load_dataset(tabletop, obs_keys=DEFAULT_OBS_KEYS)
    t = build_tables(ds, DEFAULT_OBS_KEYS)
    tt = text_tables(t, make_text_encoder("hash", 32), 5)
    S, A = t.obs.shape[1], t.action.shape[1]
    head = HeadConfig(kind="chunk", horizon=4, history=2)
    for name in ("low_language", "low_state", "flat", "cot"):
        sampler = component(name).sampler(t, tt, 16, head=head)
        batch = sampler(0, np.random.default_rng(0))
        assert tuple(batch["obs"].shape) == (16, 2, S) and tuple(batch["action"].shape) == (16, 4, A), name
        assert tuple(batch["action_mask"].shape) == (16, 4) and (batch["action_mask"][:, 0] == 1).all()
        plain = component(name).sampler(t, tt, 16)  # no head: the arrays as before heads existed
        assert "action_mask" not in plain(0, np.random.default_rng(0))
    single = component("low_language").sampler(t, tt, 16, head=replace(head, horizon=1))  # history only
    batch = single(0, np.random.default_rng(0))
    assert tuple(batch["obs"].shape) == (16, 2, S) and tuple(batch["action"].shape) == (16, A)


def test_samplers_are_vectorised() -> None:
    """200k rows (the size of the demo's 600-episode tables): indices for H = 16, k = 4 in well under a second."""
    n, T = 200_000, 250
    t = rows_only(n, 1)
    t.obs_row = np.arange(n) + np.arange(n) // T  # T steps per episode, T + 1 achieved rows each
    ep = np.arange(n) // T
    t.episode_window = np.stack([ep * (T + 1), ep * (T + 1) + T], 1)
    seg = np.arange(n) // 50
    t.segment_window = np.stack([seg, seg], 1)  # 50-step segments (windows only compared for equality)
    t0 = time.perf_counter()
    rows, mask = chunk_rows(t, 16)
    hist = history_rows(t, 4)
    assert time.perf_counter() - t0 < 1.0
    assert rows.shape == (n, 16) and hist.shape == (n, 4) and mask[49].tolist() == [1] + [0] * 15
