"""Oracle dataset generation through hirl's collector (labels per segment, resume, the expert's success) and the
importer of OGBench's .npz files, on a few short episodes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ogbench")

from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.ogbench.generate import generate
from hirl.data.ogbench.npz import IMPORTED_LABEL, episode_bounds, import_npz, read_npz
from hirl.errors import InputError
from hirl.hierarchy.replan import ReplanConfig


def _short(env: str, style: str, steps: int, episodes: int, out: Path, resume: bool = False) -> dict:
    cfg = CollectConfig(env=env, env_kwargs={"collection": style, "max_episode_steps": steps}, episodes=episodes,
                        workers=1, noise=0.1, replan=ReplanConfig(detector="chain_progress", timeout=100_000))
    return collect(cfg, out, resume=resume, progress=False)


def test_puzzle_play_segments_are_oracle_targets_with_labels(tmp_path: Path) -> None:
    summary = _short("ogbench/puzzle-3x3-v0", "play", 120, 1, tmp_path / "p")
    assert summary["episodes"] == 1 and summary["steps"] == 120
    e = load_dataset(tmp_path / "p").episodes[0]
    labels = [str(t) for t in e.subgoal_text[e.seg_start]]
    assert len(labels) >= 2, "the plan oracle finishes a button press in ~35 steps: several targets in 120 steps"
    assert all(lab.startswith("press button ") and 1 <= int(lab.split()[-1]) <= 9 for lab in labels)
    assert np.diff(e.seg_start).min() > 5  # a new segment only when the oracle gets a new target


def test_navigate_resume_and_determinism(tmp_path: Path) -> None:
    _short("ogbench/pointmaze-medium-v0", "navigate", 300, 1, tmp_path / "a")
    with pytest.raises(InputError, match="resume"):
        _short("ogbench/pointmaze-medium-v0", "navigate", 300, 2, tmp_path / "a")
    # an unfinished collection continues from its journal; a finished one is a no-op
    s = _short("ogbench/pointmaze-medium-v0", "navigate", 300, 2, tmp_path / "b")
    again = _short("ogbench/pointmaze-medium-v0", "navigate", 300, 2, tmp_path / "b", resume=True)
    assert s["episodes"] == 2 and again["new_episodes"] == 0
    a, b = load_dataset(tmp_path / "a").episodes[0], load_dataset(tmp_path / "b").episodes[0]
    np.testing.assert_array_equal(a.actions, b.actions)  # episode i is seeded with seed + i
    labels = [str(t) for t in b.subgoal_text[b.seg_start]]
    assert all(lab.startswith("go to cell ") for lab in labels)
    # the point reaches its goals: the oracle subgoal direction works (>= 1 goal in 300 steps of a medium maze)
    assert len(labels) >= 2


def test_generate_module_defaults(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="navigate"):
        generate("scene-v0", 1, tmp_path / "x", style="navigate", progress=False)


def test_npz_import_round_trip(tmp_path: Path) -> None:
    _short("ogbench/pointmaze-medium-v0", "navigate", 50, 2, tmp_path / "g")
    eps = load_dataset(tmp_path / "g").episodes
    # an OGBench-style file: per episode T + 1 observations and actions (the last action is never used)
    obs = np.concatenate([e.observations["observation"] for e in eps]).astype(np.float32)
    act = np.concatenate([np.vstack([e.actions, e.actions[-1:]]) for e in eps]).astype(np.float32)
    term = np.concatenate([np.r_[np.zeros(e.T, bool), True] for e in eps])
    np.savez(tmp_path / "pm.npz", observations=obs, actions=act, terminals=term)
    assert episode_bounds(term) == [(0, 50), (51, 101)]
    summary = import_npz(tmp_path / "pm.npz", "pointmaze-medium-v0", tmp_path / "imp")
    assert summary == {"episodes": 2, "steps": 100, "path": str(tmp_path / "imp")}
    ds = load_dataset(tmp_path / "imp")
    assert ds.meta["env_id"] == "ogbench/pointmaze-medium-v0"
    for e, src in zip(ds.episodes, eps, strict=True):
        np.testing.assert_allclose(e.observations["observation"], src.observations["observation"], atol=1e-6)
        np.testing.assert_allclose(e.actions, src.actions, atol=1e-6)
        assert str(e.subgoal_text[0]) == IMPORTED_LABEL


def test_npz_bad_files(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", observations=np.zeros((3, 2)), actions=np.zeros((3, 2)))
    with pytest.raises(InputError, match="'terminals' missing"):
        read_npz(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", observations=np.zeros((3, 2)), actions=np.zeros((3, 2)), terminals=np.zeros(3))
    with pytest.raises(InputError, match="not an episode end"):
        read_npz(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable"):
        read_npz(tmp_path / "c.npz")
    np.savez(tmp_path / "d.npz", observations=np.zeros((3, 5)), actions=np.zeros((3, 2)), terminals=np.ones(3))
    with pytest.raises(InputError, match="2 and 2"):
        import_npz(tmp_path / "d.npz", "pointmaze-medium-v0", tmp_path / "d")
