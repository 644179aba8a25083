"""Relabeling: vectorised functions against brute-force Python loops on random inputs, and a hand-made
hindsight-language example."""
import numpy as np
import pytest

from hirl.data.relabel import (
    HindsightConfig,
    frame_rows,
    hindsight_indices,
    hindsight_language,
    relabel_indices,
    relabel_texts,
    window_bounds,
)


def brute_hindsight(t, lo, hi, strategy, u):
    out = []
    for ti, first_row, h, ui in zip(t, lo, hi, u, strict=True):
        if strategy == "final":
            out.append(h)
            continue
        first = min(ti + 1, h) if strategy == "future" else first_row
        choices = list(range(first, h + 1))
        out.append(choices[min(int(ui * len(choices)), len(choices) - 1)])
    return np.array(out)


def random_windows(rng, b):
    lo = rng.integers(0, 50, size=b)
    hi = lo + rng.integers(0, 30, size=b)
    t = lo + (rng.random(b) * (hi - lo + 1)).astype(int)
    t = np.minimum(t, hi)
    return t, lo, hi


@pytest.mark.parametrize("strategy", ["final", "future", "episode"])
@pytest.mark.parametrize("seed", range(5))
def test_hindsight_indices_match_brute_force(strategy, seed):
    rng = np.random.default_rng(seed)
    t, lo, hi = random_windows(rng, 500)
    u = rng.random(500)
    u[:3] = [0.0, 0.999999999, 0.5]
    got = hindsight_indices(t, lo, hi, strategy, u)
    np.testing.assert_array_equal(got, brute_hindsight(t, lo, hi, strategy, u))
    assert np.all((got >= lo) & (got <= hi))
    if strategy == "future":
        assert np.all((got > t) | (t == hi))


def test_relabel_indices_mask_and_goal_rows_reproducible():
    rng = np.random.default_rng(0)
    t, lo, hi = random_windows(rng, 2000)
    rows, mask = relabel_indices(t, lo, hi, "future", 0.8, np.random.default_rng(3))
    ref = np.random.default_rng(3)
    ref_mask = ref.random(2000) < 0.8
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(rows, brute_hindsight(t, lo, hi, "future", ref.random(2000)))
    assert 0.75 < mask.mean() < 0.85


def test_hindsight_indices_work_for_any_goal_array():
    rng = np.random.default_rng(1)
    states = rng.normal(size=(60, 3))
    images = rng.integers(0, 255, size=(60, 4, 4, 3), dtype=np.uint8)
    t, lo, hi = random_windows(rng, 40)
    hi = np.minimum(hi, 59)
    t, lo = np.minimum(t, hi), np.minimum(lo, hi)
    idx = hindsight_indices(t, lo, hi, "episode", rng.random(40))
    assert states[idx].shape == (40, 3) and images[idx].shape == (40, 4, 4, 3)


@pytest.mark.parametrize("seed", range(5))
def test_window_bounds_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    seg = np.cumsum(rng.random(80) < 0.1)
    lo, hi = window_bounds(seg)
    for i in range(80):
        same = [j for j in range(80) if seg[j] == seg[i]]
        assert lo[i] == same[0] and hi[i] == same[-1] + 1


def test_frame_rows_first_frame_at_or_after():
    steps = np.array([0, 10, 20, 27])
    rows = np.arange(30)
    expected = [min([k for k, s in enumerate(steps) if s >= r], default=len(steps) - 1) for r in rows]
    np.testing.assert_array_equal(frame_rows(steps, rows), expected)


def test_hindsight_config_validates():
    with pytest.raises(ValueError, match="strategy"):
        HindsightConfig(strategy="nearest")
    with pytest.raises(ValueError, match="window"):
        HindsightConfig(window="chain")


NAMES = ["open the drawer", "close the drawer", "push the button", "pick up the red block"]


def test_hindsight_language_hand_made():
    # 5 attempted segments; predicate columns = NAMES
    commanded = np.array([0, 1, 2, 3, 0])
    start = np.array([
        [0, 1, 0, 0],  # commanded open; drawer opened -> success
        [1, 0, 0, 0],  # commanded close; instead pressed the button -> relabel to "push the button"
        [0, 1, 0, 0],  # commanded push; nothing changed -> failure, no relabel
        [0, 1, 0, 0],  # commanded pick; opened drawer AND pushed button -> ambiguous
        [0, 1, 1, 0],  # commanded open; button predicate already true at start (not newly achieved) -> no relabel
    ], dtype=bool)
    end = np.array([
        [1, 0, 0, 0],
        [1, 0, 1, 0],
        [0, 1, 0, 0],
        [1, 0, 1, 0],
        [0, 1, 1, 0],
    ], dtype=bool)
    r = hindsight_language(commanded, start, end)
    np.testing.assert_array_equal(r.success, [True, False, False, False, False])
    np.testing.assert_array_equal(r.relabelled, [False, True, False, False, False])
    np.testing.assert_array_equal(r.label, [0, 2, 2, 3, 0])
    np.testing.assert_array_equal(r.achieved_other, [False, True, False, True, False])
    first = hindsight_language(commanded, start, end, ambiguous="first")
    assert first.relabelled[3] and first.label[3] == 0
    commanded_text = ["open the drawer", "Close it", "push the button", "pick up the red block", "x"]
    texts, mask = relabel_texts(NAMES, commanded_text, start, end, canonical={"Close it": "close the drawer"})
    assert texts == ["open the drawer", "push the button", "push the button", "pick up the red block", "x"]
    assert mask.tolist() == [False, True, False, False, False]


@pytest.mark.parametrize("seed", range(3))
def test_hindsight_language_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    S, P = 300, 6
    cmd = rng.integers(-1, P, size=S)
    start, end = rng.random((S, P)) < 0.3, rng.random((S, P)) < 0.3
    r = hindsight_language(cmd, start, end)
    for s in range(S):
        ok = cmd[s] >= 0 and end[s, cmd[s]]
        new = [p for p in range(P) if end[s, p] and not start[s, p]]
        assert r.success[s] == ok
        assert r.relabelled[s] == (not ok and len(new) == 1)
        assert r.label[s] == (new[0] if r.relabelled[s] else cmd[s])
