"""Writer -> Minari HDF5 -> loader round trip on the toy env (no MuJoCo), Segment API, training tables and their
hindsight goals, split, and one-line errors for corrupt, truncated, foreign and schema-mismatched datasets."""
import json
import shutil

import h5py
import minari
import numpy as np
import pytest

from hirl.data import load_dataset
from hirl.data.relabel import HindsightConfig
from hirl.data.tables import (NO_INDEX, build_tables, concat_tables, hindsight_goal_state, tables_from_rows,
                              tables_from_state_episodes)
from hirl.data.assemble import write_dataset
from hirl.data.journal import Journal
from hirl.data.recorder import EpisodeRecorder
from hirl.errors import InputError
from hirl.hierarchy.rollout import run_episode
from hirl.hierarchy import HierarchicalAgent, OnCompletion, StateDistance
from hirl.types import Command, Subgoal
from tests.fixtures.point_env import GreedyLowLevel, PointGoalEnv, WaypointHighLevel

META = {"hirl_version": "test", "env_id": "toy/Point-v0", "env_kwargs": {}, "control_rate_hz": 50.0, "image_every": 0,
        "image_size": 0, "image_rate_hz": 0.0, "subgoal_kind": "state", "collection": {"seed": 0}}


def toy_records(n=5, override_at=None):
    env = PointGoalEnv(max_steps=60)
    rec = EpisodeRecorder(env)
    out = []
    for i in range(n):
        agent = HierarchicalAgent(WaypointHighLevel(0.3), GreedyLowLevel(), OnCompletion(StateDistance(0.02), timeout=100))

        def on_step(t, ag, obs, info):
            rec.on_step(t, ag, obs, info)
            if override_at is not None and t == override_at:
                ag.override(Subgoal("state", obs["achieved_goal"] + 0.01, "human"))

        result = run_episode(env, agent, lambda info: Command("reach the goal"), seed=i, on_step=on_step,
                             on_transition=rec.on_transition)
        out.append(rec.finish(index=i, seed=i, attrs={"command": result.command, "success": result.success, "task": []}))
    return env, out


@pytest.fixture(scope="module")
def toy_dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("toy") / "toy"
    env, records = toy_records(5, override_at=2)
    write_dataset(path, iter(records), meta=META, observation_space=env.observation_space, action_space=env.action_space)
    return path, records


def test_round_trip_through_minari(toy_dataset, monkeypatch):
    path, records = toy_dataset
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(path.parent))
    mds = minari.load_dataset(path.name)
    assert mds.total_episodes == 5 and mds.total_steps == sum(len(r["rewards"]) for r in records)
    for ep, r in zip(mds.iterate_episodes(), records, strict=True):
        np.testing.assert_array_equal(ep.actions, r["actions"])
        np.testing.assert_array_equal(ep.observations["achieved_goal"], r["observations"]["achieved_goal"])
        assert len(ep.observations["observation"]) == len(ep.actions) + 1
        assert [s.decode() for s in ep.infos["subgoal_text"]] == r["infos"]["subgoal_text"]
        assert ep.infos["subgoal_state"].shape == (len(ep.actions) + 1, 2)
        np.testing.assert_array_equal(ep.infos["segment"], r["infos"]["segment"])
    assert mds.storage.metadata["hirl"]["episode_indices"] == [0, 1, 2, 3, 4]


def test_loader_fields_and_intervention_flag(toy_dataset):
    path, records = toy_dataset
    ds = load_dataset(path)
    assert len(ds) == 5 and ds.num_steps == sum(len(r["rewards"]) for r in records)
    e = ds.episodes[0]
    assert e.intervention[2] and e.subgoal_source[2] == "human" and e.subgoal_reason[2] == "override"
    assert e.intervention.sum() == 1 and e.subgoal_source[0] == "policy"
    assert e.segment[0] == 0 and e.segment[2] == e.segment[1] + 1
    assert [ep.index for ep in ds.episodes] == [0, 1, 2, 3, 4]
    assert load_dataset(path / "data").num_steps == load_dataset(path / "data" / "main_data.hdf5").num_steps == ds.num_steps


def test_segments_cover_every_step_with_consistent_shapes(toy_dataset):
    ds = load_dataset(toy_dataset[0])
    segs = list(ds.segments())
    assert sum(s.end - s.start for s in segs) == ds.num_steps
    D = ds.episodes[0].flat_obs().shape[1]
    for s in segs:
        k = s.end - s.start
        assert s.obs.shape == (k + 1, D) and s.actions.shape == (k, 2) and s.goal_state.shape == (2,)
        e = ds.episodes[s.episode]
        np.testing.assert_array_equal(s.actions, e.actions[s.start:s.end])
        np.testing.assert_allclose(s.goal_state, e.subgoal_state[s.start])
        np.testing.assert_allclose(s.achieved, e.observations["achieved_goal"][s.end])
        assert s.goal_image is None and s.command == "reach the goal"


def test_step_tables_have_documented_shapes(toy_dataset):
    ds = load_dataset(toy_dataset[0])
    keys = tuple(ds.obs_keys)
    t = build_tables(ds, keys)
    N, D = ds.num_steps, ds.episodes[0].flat_obs().shape[1]
    assert t.obs.shape == (N, D) and t.obs.dtype == np.float32 and t.action.shape == (N, 2)
    assert t.goal_state.shape == (N, 2) and t.label.shape == (N,) and t.frames is None
    assert t.achieved.shape == (N + len(ds), 2) and t.segment_window.shape == t.episode_window.shape == (N, 2)
    offset = 0
    for e in ds.episodes:  # each row really is that step of that episode, with its segment's goal and windows
        rows = slice(offset, offset + e.T)
        np.testing.assert_allclose(t.obs[rows], e.flat_obs(keys)[:e.T])
        np.testing.assert_allclose(t.action[rows], e.actions)
        ach = e.observations["achieved_goal"].astype(np.float32)
        np.testing.assert_array_equal(t.achieved[t.obs_row[rows]], ach[:e.T])
        for step in range(e.T):
            j = max(i for i, s in enumerate(e.seg_start) if s <= step)
            assert t.vocab[t.label[offset + step]] == e.subgoal_text[e.seg_start[j]]
            first, last = t.segment_window[offset + step] - t.episode_window[offset + step, 0]
            assert (first, last) == (e.seg_start[j], e.seg_end[j])
            np.testing.assert_allclose(t.goal_state[offset + step], ach[e.seg_end[j]])
        assert (t.episode_window[rows, 1] - t.episode_window[rows, 0] == e.T).all()
        offset += e.T


def test_hindsight_relabelled_low_level_goals_are_achieved_states(toy_dataset):
    ds = load_dataset(toy_dataset[0])
    t = build_tables(ds, tuple(ds.obs_keys))
    episode_of = np.repeat(np.arange(len(ds)), [e.T for e in ds.episodes])
    step_of = np.concatenate([np.arange(e.T) for e in ds.episodes])
    for window in ("segment", "episode"):
        rows = np.random.default_rng(0).integers(0, len(t.obs), size=300)
        cfg = HindsightConfig("future", window, ratio=1.0)
        goal, relabelled = hindsight_goal_state(t, cfg, np.random.default_rng(1), rows)
        assert relabelled.all() and goal.shape == (300, 2) and goal.dtype == np.float32
        for i in range(50):
            e, step = ds.episodes[episode_of[rows[i]]], step_of[rows[i]]
            ach = e.observations["achieved_goal"].astype(np.float32)
            later = ach[step + 1:]
            assert np.any(np.all(np.isclose(later, goal[i]), axis=1))
    goal, relabelled = hindsight_goal_state(t, HindsightConfig("final", ratio=0.0), np.random.default_rng(2))
    assert not relabelled.any()
    np.testing.assert_array_equal(goal, t.goal_state)


def test_hindsight_goals_skip_rows_that_are_not_episodes(toy_dataset):
    ds = load_dataset(toy_dataset[0])
    t = build_tables(ds, tuple(ds.obs_keys))
    n = 7
    extra = tables_from_rows(
        obs=np.ones((n, t.obs.shape[1]), np.float32), action=np.zeros((n, 2), np.float32), label=np.zeros(n, np.int64),
        prev_label=np.full(n, NO_INDEX, np.int64), command=np.zeros(n, np.int64), goal_state=np.full((n, 2), 5.0, np.float32),
        prev_goal_state=np.zeros((n, 2), np.float32), vocab=t.vocab, commands=t.commands)
    m = concat_tables(extra, t)  # b's hindsight rows are shifted past a's (empty) achieved table
    goal, relabelled = hindsight_goal_state(m, HindsightConfig("final", "segment", ratio=1.0), np.random.default_rng(0))
    assert not relabelled[:n].any() and relabelled[n:].all()
    np.testing.assert_array_equal(goal[:n], extra.goal_state)
    np.testing.assert_array_equal(goal[n:], t.achieved[t.segment_window[:, 1]])
    np.testing.assert_array_equal(goal[n:], t.goal_state)  # the segment's final observation is its goal state


def test_split_by_episode_has_no_overlap(toy_dataset):
    ds = load_dataset(toy_dataset[0])
    train, val = ds.split(0.4, seed=3)
    ti, vi = {e.index for e in train.episodes}, {e.index for e in val.episodes}
    assert ti.isdisjoint(vi) and ti | vi == {0, 1, 2, 3, 4} and len(vi) == 2
    assert train.vocabulary == val.vocabulary == ds.vocabulary
    assert train.num_steps + val.num_steps == ds.num_steps
    assert ds.split(0.4, seed=3)[1].episodes[0].index == val.episodes[0].index


# ------------------------------------------------------------------ bad files
def copy(toy_dataset, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(toy_dataset[0], dst)
    return dst


def one_line_error(path, match):
    with pytest.raises(InputError) as err:
        load_dataset(path)
    msg = str(err.value)
    assert "\n" not in msg and match in msg, msg
    return msg


def test_truncated_hdf5_fails_in_one_line(toy_dataset, tmp_path):
    p = copy(toy_dataset, tmp_path)
    h5 = p / "data" / "main_data.hdf5"
    data = h5.read_bytes()
    h5.write_bytes(data[: len(data) // 2])
    msg = one_line_error(p, "truncated or corrupt")
    assert str(h5) in msg


def test_garbage_metadata_and_missing_files(toy_dataset, tmp_path):
    p = copy(toy_dataset, tmp_path)
    (p / "data" / "metadata.json").write_text("{not json")
    assert str(p / "data" / "metadata.json") in one_line_error(p, "metadata is corrupt")
    one_line_error(tmp_path / "nowhere", "no such file")
    (tmp_path / "empty").mkdir()
    one_line_error(tmp_path / "empty", "not a Minari dataset")


def test_foreign_minari_dataset_fails_in_one_line(toy_dataset, tmp_path):
    p = copy(toy_dataset, tmp_path)
    meta_file = p / "data" / "metadata.json"
    meta = json.loads(meta_file.read_text())
    del meta["hirl"]
    meta_file.write_text(json.dumps(meta))
    assert str(meta_file) in one_line_error(p, "foreign dataset")


def test_schema_mismatch_fails_in_one_line(toy_dataset, tmp_path):
    p = copy(toy_dataset, tmp_path)
    meta_file = p / "data" / "metadata.json"
    meta = json.loads(meta_file.read_text())
    meta["hirl"]["schema_version"] = 99
    meta_file.write_text(json.dumps(meta))
    one_line_error(p, "schema version 99")
    p2 = copy(toy_dataset, tmp_path / "b")
    with h5py.File(p2 / "data" / "main_data.hdf5", "a") as f:
        del f["episode_3/infos/subgoal_source"]
    one_line_error(p2, "schema mismatch: episode_3")
    p3 = copy(toy_dataset, tmp_path / "c")
    with h5py.File(p3 / "data" / "main_data.hdf5", "a") as f:
        del f["episode_4"]
    one_line_error(p3, "holds 4 episodes but metadata says 5")


def test_journal_is_atomic_and_sorted(tmp_path):
    _, records = toy_records(3)
    j = Journal(tmp_path / "journal")
    j.write_config({"env": "x"})
    for r in reversed(records):
        j.write(r)
    (j.root / ".episode_000009.npz.abc.tmp").write_bytes(b"partial")
    assert j.done() == [0, 1, 2]
    j.clean_temporaries()
    assert not list(j.root.glob(".*.tmp"))
    np.testing.assert_array_equal(j.read(1)["actions"], records[1]["actions"])


def test_rewrite_swaps_whole_dataset(toy_dataset, tmp_path):
    env, records = toy_records(3)
    p = tmp_path / "swap"
    write_dataset(p, iter(records[:2]), meta=META, observation_space=env.observation_space, action_space=env.action_space)
    assert len(load_dataset(p)) == 2
    write_dataset(p, iter(records), meta=META, observation_space=env.observation_space, action_space=env.action_space)
    assert len(load_dataset(p)) == 3
    assert sorted(x.name for x in p.iterdir()) == ["data"]


def test_journal_records_round_trip_without_pickle(tmp_path):
    from hirl.data.journal import decode_record, encode_record

    _, records = toy_records(2)
    rec = dict(records[1], options={"chain_length": 3, "cell": (1, 2)}, attrs={"n": np.int64(4)})
    back = decode_record(encode_record(rec))

    def same(a, b):  # brute-force structural comparison (tuples come back as lists, numpy scalars as numbers)
        if isinstance(a, np.ndarray):
            assert isinstance(b, np.ndarray) and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        elif isinstance(a, dict):
            assert set(map(str, a)) == set(b)
            for k in a:
                same(a[k], b[str(k)])
        elif isinstance(a, (list, tuple)):
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                same(x, y)
        else:
            assert a == b

    same(rec, back)
    bad = tmp_path / "journal"
    j = Journal(bad)
    j.write(records[0])
    j.episode_path(0).write_bytes(b"\x80\x04not an npz")  # e.g. an old pickle journal or a tampered file
    with pytest.raises(InputError, match=r"episode_000000\.npz: unreadable"):
        j.read(0)


def test_tables_from_state_episodes_rows_windows_and_errors():
    states = [np.arange(8, dtype=np.float32).reshape(4, 2), 10 + np.arange(6, dtype=np.float32).reshape(3, 2)]
    actions = [np.ones((3, 1)), np.zeros((2, 1))]
    t = tables_from_state_episodes(states, actions)
    assert t.obs.shape == (5, 2) and t.action.dtype == np.float32 and t.achieved.shape == (7, 2)
    np.testing.assert_array_equal(t.obs_row, [0, 1, 2, 4, 5])  # each episode's T + 1 achieved rows
    np.testing.assert_array_equal(t.achieved[t.obs_row], t.obs)
    np.testing.assert_array_equal(t.episode_window, [[0, 3]] * 3 + [[4, 6]] * 2)
    assert (t.prev_label == NO_INDEX).all() and t.frames is None
    with pytest.raises(ValueError, match="episode 1: states must have one row more than actions"):
        tables_from_state_episodes(states, [actions[0], np.zeros((3, 1))])
    with pytest.raises(ValueError, match="one array per episode"):
        tables_from_state_episodes(states, actions[:1])
