"""Collection on hirl/Maze-v0 (layout "u"/"medium"): Minari compatibility, determinism across worker counts,
kill -9 then --resume, Ctrl-C leaving a complete partial dataset, and `hirl data info`."""
import os
import signal
import subprocess
import sys
import time

import minari
import numpy as np
import pytest

from hirl.cli import main
from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.errors import InputError


def actions(path):
    return [e.actions for e in load_dataset(path).episodes]


@pytest.fixture(scope="module")
def maze_u(tmp_path_factory):
    path = tmp_path_factory.mktemp("maze") / "maze_u"
    summary = collect(CollectConfig(env="hirl/Maze-v0", episodes=6, workers=1, seed=10, image_every=10, image_size=32,
                                    env_kwargs={"layout": "u"}), path, progress=False)
    assert summary["episodes"] == 6
    return path


def test_collected_dataset_reads_with_minari_and_hirl(maze_u, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(maze_u.parent))
    mds = minari.load_dataset(maze_u.name)
    ds = load_dataset(maze_u)
    assert mds.total_episodes == len(ds) == 6 and mds.total_steps == ds.num_steps
    meta = mds.storage.metadata["hirl"]
    assert meta["env_id"] == "hirl/Maze-v0" and meta["env_kwargs"] == {"layout": "u"} and meta["control_rate_hz"] == 50.0
    assert meta["image_every"] == 10 and meta["image_rate_hz"] == 5.0 and meta["collection"]["seed"] == 10
    assert [e.seed for e in ds.episodes] == list(range(10, 16)) and [e.index for e in ds.episodes] == list(range(6))
    e = ds.episodes[0]
    assert set(e.subgoal_source) == {"expert"} and e.subgoal_state.shape == (e.T, 2)
    assert list(e.frame_steps[:-1]) == list(range(0, e.T, 10)) and e.frame_steps[-1] == e.T
    assert e.frames.shape[1:] == (32, 32, 3) and e.frames.dtype == np.uint8
    seg = next(ds.segments())
    assert seg.goal_image.shape == (32, 32, 3)
    env = mds.recover_environment()
    assert env.spec.id == "hirl/Maze-v0"
    env.close()


def test_same_seed_same_actions_whatever_the_worker_count(maze_u, tmp_path):
    path = tmp_path / "two_workers"
    collect(CollectConfig(env="hirl/Maze-v0", episodes=6, workers=2, seed=10, image_every=10, image_size=32,
                          env_kwargs={"layout": "u"}), path, progress=False)
    for a, b in zip(actions(maze_u), actions(path), strict=True):
        np.testing.assert_array_equal(a, b)


def test_existing_output_is_refused_without_resume(maze_u):
    with pytest.raises(InputError, match="--resume"):
        collect(CollectConfig(env="hirl/Maze-v0", episodes=6, seed=10), maze_u, progress=False)
    with pytest.raises(InputError, match="differs in seed"):
        collect(CollectConfig(env="hirl/Maze-v0", episodes=6, seed=11, image_every=10, image_size=32,
                              env_kwargs={"layout": "u"}), maze_u, resume=True, progress=False)


def test_data_info_cli(maze_u, tmp_path, capsys):
    assert main(["data", "info", str(maze_u)]) == 0
    out = capsys.readouterr().out
    assert "episodes     6" in out and "vocabulary" in out and "images" in out and "MB on disk" in out
    bad = tmp_path / "bad"
    (bad / "data").mkdir(parents=True)
    (bad / "data" / "metadata.json").write_text("{")
    assert main(["data", "info", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad / "data" / "metadata.json") in err


# rendering costs ~40 ms a frame on this CPU: frames every 8 steps make episodes slow enough to interrupt mid-way
N = 12
SLOW_ARGS = ["--env", "hirl/Maze-v0", "--episodes", str(N), "--seed", "3", "--workers", "2", "--image-every", "8",
             "--image-size", "32", "--env-kwargs", '{"layout": "medium"}']


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default, as in a terminal (a suite started as a background job
    inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_collect(out):
    return subprocess.Popen([sys.executable, "-m", "hirl.cli", "collect", *SLOW_ARGS, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)


def wait_for_episodes(out, n, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(list((out / "journal").glob("episode_*.npz"))) >= n:
            return
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    raise AssertionError("collection made no progress")


def test_kill_9_then_resume_gives_every_episode_once_in_order(tmp_path):
    out = tmp_path / "killed"
    proc = start_collect(out)
    wait_for_episodes(out, 3, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (out / "journal").is_dir(), "collection finished before it could be killed"
    with pytest.raises(InputError):
        load_dataset(out)  # nothing assembled yet: no half-written file that loads
    time.sleep(0.2)
    rc = main(["collect", *SLOW_ARGS, "--out", str(out), "--resume"])
    assert rc == 0
    ds = load_dataset(out)
    assert [e.index for e in ds.episodes] == list(range(N)) and [e.seed for e in ds.episodes] == list(range(3, 3 + N))
    assert not (out / "journal").exists() and sorted(p.name for p in out.iterdir()) == ["data"]
    ref = tmp_path / "reference"
    collect(CollectConfig(env="hirl/Maze-v0", episodes=N, seed=3, workers=1, env_kwargs={"layout": "medium"}), ref,
            progress=False)
    for a, b in zip(actions(ref), [e.actions for e in ds.episodes], strict=True):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_leaves_complete_partial_dataset_and_resume_finishes(tmp_path):
    out = tmp_path / "interrupted"
    proc = start_collect(out)
    wait_for_episodes(out, 3, proc)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 130, proc.stderr.read().decode()
    partial = load_dataset(out)
    idx = [e.index for e in partial.episodes]
    assert 3 <= len(idx) < N and idx == sorted(set(idx))
    assert main(["collect", *SLOW_ARGS, "--out", str(out), "--resume"]) == 0
    assert [e.index for e in load_dataset(out).episodes] == list(range(N))


def test_relative_out_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    collect(CollectConfig(env="hirl/Maze-v0", episodes=2, workers=1), "rel", progress=False)
    monkeypatch.setenv("MINARI_DATASETS_PATH", ".")
    assert minari.load_dataset("rel").total_episodes == 2 == len(load_dataset("rel"))


def test_tabletop_collection_stores_predicates_for_language_relabeling(tmp_path, monkeypatch):
    out = tmp_path / "tabletop"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=3, workers=1, chain_length=2), out, progress=False)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    assert minari.load_dataset("tabletop").total_episodes == 3
    ds = load_dataset(out)
    names = ds.meta["predicate_names"]
    assert ds.meta["subgoal_kind"] == "language" and len(names) > 0
    assert all(e.predicates.shape == (e.T + 1, len(names)) for e in ds.episodes)
    texts, relabelled = ds.language_relabel()
    assert len(texts) == sum(1 for _ in ds.segments()) and relabelled.dtype == bool
    assert set(ds.vocabulary) <= set(names)
