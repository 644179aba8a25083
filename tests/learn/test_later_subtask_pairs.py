"""later_subtask_pairs: the high level's "memory ahead of the state" rows, checked against the episodes by brute
force, and the high_language component's memory_ahead field that adds them."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hirl.config import FieldError
from hirl.data.tables import text_tables
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.encoders.text_factory import make_text_encoder
from hirl.learn.imitation_data import effect_holds, later_subtask_pairs
from hirl.policies.obs import DEFAULT_OBS_KEYS
from hirl.runs.agents import component


@pytest.fixture
def tables(chain_dataset):
    return chain_dataset


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


def test_effect_pairs_pair_each_segment_with_later_segments_of_its_episode_that_keep_its_effect(tables):
    _, t = tables
    eff = effect_holds(t)
    windows, pairs = eff.windows, eff.pairs
    assert len(pairs) > 0 and (np.diff(pairs[:, 0]) >= 0).all()  # sorted by the earlier segment
    ep = {int(w[0]): int(e) for w, e in zip(t.segment_window, t.episode_window[:, 0], strict=True) if w[0] >= 0}
    for i, j in pairs:
        assert ep[int(windows[i, 0])] == ep[int(windows[j, 0])] and windows[j, 0] >= windows[i, 1]
    # undo the first paired segment's effect at its partner's end: that pair goes; pairs not reading that row stay
    i, j = pairs[0]
    row = windows[j, 1]
    undone = dataclasses.replace(t, achieved=t.achieved.copy())
    undone.achieved[row] = t.achieved[windows[i, 0]]
    again = {(int(a), int(b)) for a, b in effect_holds(undone).pairs}
    assert (int(i), int(j)) not in again

    def untouched(p: tuple[int, int]) -> bool:
        return row not in (windows[p[0], 0], windows[p[0], 1], windows[p[1], 1])

    before = {(int(a), int(b)) for a, b in pairs}
    assert {p for p in before if untouched(p)} == {p for p in again if untouched(p)}


def test_memory_ahead_effect_draws_the_memory_only_from_segments_that_keep_the_effect(tables):
    _, t = tables
    eff = effect_holds(t)
    windows, labels, pairs = eff.windows, eff.labels, eff.pairs
    allowed: dict[int, set[int]] = {}
    for i, j in pairs:
        allowed.setdefault(int(i), set()).add(int(labels[j]))
    out = later_subtask_pairs(t, 1.0, only_effect_holds=True)
    seg_of = {int(w[0]): k for k, w in enumerate(windows)}
    steps = np.flatnonzero(t.obs_row >= 0)

    def undone(r: int) -> bool:  # the row's observation does not show its segment's effect yet (brute force)
        k = seg_of[int(t.segment_window[r, 0])]
        now, end = t.achieved[t.obs_row[r]], t.achieved[windows[k, 1]]
        return any(abs(now[g] - end[g]) > 0.5 * abs(eff.change[k, g]) for g in np.flatnonzero(eff.effect[k]))

    eligible = [r for r in steps if seg_of[int(t.segment_window[r, 0])] in allowed and undone(r)]
    assert len(out["target"]) == len(eligible) > 0
    shown = [r for r in steps if seg_of[int(t.segment_window[r, 0])] in allowed and not undone(r)]
    assert shown  # the late steps of segments, where the effect already shows: left out
    by_obs = {t.obs[r].tobytes(): r for r in eligible}
    for o, target, prev in zip(out["obs"], out["target"], out["prev"], strict=True):
        r = by_obs[o.tobytes()]
        assert target == t.label[r] and prev in allowed[seg_of[int(t.segment_window[r, 0])]]
    assert len(later_subtask_pairs(t, 1.0)["target"]) >= len(out["target"])  # the filter only removes rows


def test_memory_ahead_effect_field_switches_the_filter_on(tables):
    _, t = tables
    tt = text_tables(t, make_text_encoder("hash", 32), MAX_SUBTASKS)
    high = component("high_language")
    plain = high.sampler(t, tt, 8).size
    high.set_network_fields({"memory_ahead": 1.0, "memory_ahead_effect": True})
    try:
        assert high.sampler(t, tt, 8).size == plain + len(later_subtask_pairs(t, 1.0, only_effect_holds=True)["target"])
        assert high.build(t, tt, "hash", DEFAULT_OBS_KEYS).config.memory_ahead_effect is True
    finally:
        high.set_network_fields({})


def test_max_ahead_keeps_only_the_pairs_within_that_many_segments(tables):
    _, t = tables
    pairs = effect_holds(t).pairs
    near = effect_holds(t, max_ahead=1).pairs
    assert {tuple(p) for p in near} == {tuple(p) for p in pairs if p[1] - p[0] == 1} and len(near) > 0
    out = later_subtask_pairs(t, 1.0, only_effect_holds=True, max_ahead=1)
    assert len(out["target"]) <= len(later_subtask_pairs(t, 1.0, only_effect_holds=True)["target"])
    with pytest.raises(ValueError, match="need only_effect_holds"):
        later_subtask_pairs(t, 1.0, max_ahead=1)
