"""`hirl data import`: a few Tabletop expert episodes written by hand as npz / HDF5 / robomimic / Minari files in the
documented schema, imported back (same steps, segments and labels as the original), the segment heuristics, bad files
(one line naming the file and key), and import -> train a tiny hierarchy -> evaluate end to end."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from hirl.cli import main
from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.dataset import Dataset
from hirl.data.demo_import import DEFAULT_COMMAND, UNLABELLED, import_demos, segment_gripper
from hirl.errors import InputError

ENV = "hirl/Tabletop-v0"
KEYS = ("observation", "touch", "achieved_goal")  # the observation entries the files hold (a subset of the env's)


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """3 expert episodes of 2-subtask Tabletop chains (about 1 s)."""
    path = tmp_path_factory.mktemp("tt") / "data"
    collect(CollectConfig(env=ENV, episodes=3, workers=1, seed=3, chain_length=2), path, progress=False)
    return load_dataset(path)


def rows(ds: Dataset, transitions: bool) -> dict[str, np.ndarray]:
    """The episodes as the flat import schema: with next_observations (one row per transition) or without (the T + 1
    observations of an episode, its last row's action a repeat: dropped by the importer). Camera frames: 16 px
    frames filled with the observation's step number (mod 251)."""
    out: dict[str, list[np.ndarray]] = {}

    def add(key: str, value: np.ndarray) -> None:
        out.setdefault(key, []).append(np.asarray(value))

    for i, e in enumerate(ds.episodes):
        n = e.T if transitions else e.T + 1
        assert isinstance(e.observations, dict)
        for k in KEYS:
            add(f"observations/{k}", e.observations[k][:n])
            if transitions:
                add(f"next_observations/{k}", e.observations[k][1:])
        add("actions", e.actions if transitions else np.r_[e.actions, e.actions[-1:]])
        add("language", np.r_[e.subgoal_text, e.subgoal_text[-1:]][:n].astype(str))
        add("episode_ids", np.full(n, 10 + i))
        add("images", np.broadcast_to((np.arange(n) % 251).astype(np.uint8)[:, None, None, None], (n, 16, 16, 3)))
    return {k: np.concatenate(v) for k, v in out.items()}


def same_episodes(got: Dataset, want: Dataset, labels: bool = True) -> None:
    assert len(got) == len(want)
    for g, w in zip(got.episodes, want.episodes, strict=True):
        assert isinstance(g.observations, dict) and isinstance(w.observations, dict)
        assert sorted(g.observations) == sorted(KEYS)
        for k in KEYS:
            np.testing.assert_allclose(g.observations[k], w.observations[k])
        np.testing.assert_allclose(g.actions, w.actions, rtol=1e-6)
        if labels:
            np.testing.assert_array_equal(g.seg_start, w.seg_start)
            np.testing.assert_array_equal(g.seg_end, w.seg_end)
            assert list(g.subgoal_text) == list(w.subgoal_text) and g.command == w.command
            np.testing.assert_allclose(g.seg_goal_state, w.seg_goal_state)
        assert g.frames is not None and g.frame_steps is not None
        np.testing.assert_array_equal(g.frames[:, 0, 0, 0], g.frame_steps % 251)


def test_npz_round_trip_keeps_steps_segments_labels_and_frames(original: Dataset, tmp_path: Path) -> None:
    np.savez(tmp_path / "demos.npz", **rows(original, transitions=False))
    summary = import_demos(tmp_path / "demos.npz", ENV, tmp_path / "imp")
    assert summary["episodes"] == 3 and summary["steps"] == original.num_steps and summary["labelled"]
    ds = load_dataset(tmp_path / "imp")
    same_episodes(ds, original)
    assert ds.meta["env_id"] == ENV and ds.meta["subgoal_kind"] == "language" and ds.meta["image_size"] == 16


def test_hdf5_with_next_observations_and_the_cli(original: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:
    arrays = rows(original, transitions=True)
    with h5py.File(tmp_path / "demos.h5", "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v.astype(h5py.string_dtype()) if v.dtype.kind == "U" else v)
    assert main(["data", "import", str(tmp_path / "demos.h5"), "--env", ENV, "--out", str(tmp_path / "imp")]) == 0
    assert '"episodes": 3' in capsys.readouterr().out
    ds = load_dataset(tmp_path / "imp")
    same_episodes(ds, original)
    assert [len(e.frames) for e in ds.episodes if e.frames is not None] == [e.T for e in original.episodes]  # no next_images


def test_robomimic_layout_and_the_gripper_heuristic(original: Dataset, tmp_path: Path) -> None:
    """robomimic's data/demo_<i> groups, no labels: segments where the gripper command flips, one placeholder label."""
    with h5py.File(tmp_path / "robomimic.hdf5", "w") as f:
        for i, e in enumerate(original.episodes):
            assert isinstance(e.observations, dict)
            demo = f.create_group(f"data/demo_{i}")
            demo["actions"] = e.actions
            for k in KEYS:
                demo[f"obs/{k}"], demo[f"next_obs/{k}"] = e.observations[k][:-1], e.observations[k][1:]
    import_demos(tmp_path / "robomimic.hdf5", ENV, tmp_path / "imp", segment="gripper", command="tidy up")
    ds = load_dataset(tmp_path / "imp")
    for g, w in zip(ds.episodes, original.episodes, strict=True):
        np.testing.assert_allclose(g.actions, w.actions, rtol=1e-6)
        np.testing.assert_array_equal(g.seg_start, segment_gripper(w.actions))
        assert set(g.subgoal_text) == {UNLABELLED} and g.command == "tidy up" and len(g.seg_start) > 1
    assert ds.meta["subgoal_kind"] == "state"


def test_minari_dataset_and_fixed_windows(original: Dataset, tmp_path: Path) -> None:
    """A Minari dataset directory (hirl's own datasets are Minari datasets): its labels come from infos/subgoal_text."""
    assert original.path is not None
    import_demos(original.path, ENV, tmp_path / "imp")
    ds = load_dataset(tmp_path / "imp")
    for g, w in zip(ds.episodes, original.episodes, strict=True):
        np.testing.assert_allclose(g.actions, w.actions, rtol=1e-6)
        assert list(g.subgoal_text) == list(w.subgoal_text) and g.command == w.command
    np.savez(tmp_path / "plain.npz", **{k: v for k, v in rows(original, False).items() if k not in ("language", "images")})
    import_demos(tmp_path / "plain.npz", ENV, tmp_path / "fixed", segment="fixed:25")
    fixed = load_dataset(tmp_path / "fixed")
    e = fixed.episodes[0]
    assert list(e.seg_start) == list(range(0, e.T, 25)) and e.command == DEFAULT_COMMAND


def nan_at_row_7(n: int) -> np.ndarray:
    touch = np.zeros((n, 3))
    touch[7, 1] = np.nan
    return touch


Change = Callable[[int], dict[str, "np.ndarray | None"]]  # rows n of the good file -> keys replaced (None: removed)


@pytest.mark.parametrize(("change", "message"), [
    (lambda n: {"actions": None}, "key 'actions' missing"),
    (lambda n: {"episode_ids": None}, "no episode boundaries"),
    (lambda n: {"language": np.array(["x"] * 5)}, "key 'language': 5 rows, but 'actions' has"),
    (lambda n: {"observations/touch": nan_at_row_7(n)}, "key 'observations/touch': NaN or infinite value at row 7"),
    (lambda n: {"observations/velocity_typo": np.zeros((n, 4))}, "key 'observations/velocity_typo': hirl/Tabletop-v0 has"),
    (lambda n: {"observations/observation": np.zeros((n, 7))}, "key 'observations/observation': rows of shape (7,)"),
    (lambda n: {"actions": np.zeros((n, 3))}, "key 'actions': 3 values per row"),
    (lambda n: {"actions": np.full((n, 4), 5.0)}, "outside hirl/Tabletop-v0's action bounds"),
    (lambda n: {"images": np.zeros((n, 16, 8, 3), np.uint8)}, "key 'images': expected uint8 (N, H, H, 3)"),
    (lambda n: {"language": np.array([""] * n)}, "key 'language': empty text at row 0"),
])
def test_bad_files_fail_in_one_line_naming_the_key(original: Dataset, tmp_path: Path, change: Change,
                                                   message: str) -> None:
    arrays: dict[str, np.ndarray | None] = dict(rows(original, transitions=False))
    arrays.update(change(len(arrays["actions"])))
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(InputError) as err:
        import_demos(path, ENV, tmp_path / "out")
    assert str(path) in str(err.value) and message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out" / "data").exists()


def test_bad_arguments(original: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "demos.npz", **rows(original, transitions=False))
    with pytest.raises(InputError, match="the file has segment boundaries"):
        import_demos(tmp_path / "demos.npz", ENV, tmp_path / "out", segment="gripper")
    with pytest.raises(InputError, match="--segment fixed:0: expected one of"):
        import_demos(tmp_path / "demos.npz", ENV, tmp_path / "out", segment="fixed:0")
    assert main(["data", "import", str(tmp_path / "demos.txt"), "--env", ENV, "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "demos.txt").write_text("x")
    assert main(["data", "import", str(tmp_path / "demos.txt"), "--env", ENV, "--out", str(tmp_path / "o")]) == 2
    assert "unknown file type '.txt'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_import_train_evaluate_end_to_end(original: Dataset, tmp_path: Path) -> None:
    """Bring your own demonstrations -> train the language hierarchy and the flat baseline -> evaluate (tiny budgets)."""
    import json

    np.savez(tmp_path / "demos.npz", **{k: v for k, v in rows(original, transitions=False).items() if k != "images"})
    assert main(["data", "import", str(tmp_path / "demos.npz"), "--env", ENV, "--out", str(tmp_path / "data")]) == 0
    tiny = "{max_steps: 4, batch_size: 16, eval_every: 2, checkpoint_every: 2, progress: false, tensorboard: false}"
    overrides = [f"dataset={tmp_path / 'data'}", "agents=[hier_language, flat]", "text_encoder=hash",
                 "obs_keys=[observation, touch]", "val_fraction=0.34", f"train.low={tiny}", f"train.high={tiny}",
                 f"train.baseline={tiny}", "eval.episodes=1", "eval.chain_length=1", "eval.videos=0",
                 "env_kwargs={max_episode_steps: 30}"]
    config = tmp_path / "run.yaml"
    config.write_text(f"env: {ENV}\n")
    assert main(["train", str(config), *overrides, "--out", str(tmp_path / "run")]) == 0
    assert main(["eval", str(tmp_path / "run"), "--out", str(tmp_path / "eval")]) == 0
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert set(report["policies"]) == {"hier_language", "flat"}
    assert all(m["episodes"] == 1 for m in report["policies"].values())
