"""The ray extra on a local Ray (ray.init(num_cpus=2)): a 2-worker collection as Ray tasks gives the dataset the
local backend gives, and experiments/benchmark.py runs a 2-seed sweep as 2 Ray Tune trials into the same
RESULTS.json. Skipped when ray is not installed (a clone without the extra)."""
from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.tune")

from hirl.data import load_dataset  # noqa: E402
from hirl.data.collect import collect  # noqa: E402
from hirl.data.collect_config import CollectConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray with 2 CPUs for the module (no dashboard); shut down after it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_two_ray_workers_collect_the_local_dataset(tmp_path: Path, local_ray: None) -> None:
    cfg = CollectConfig(env="hirl/Maze-v0", episodes=4, seed=5, workers=2, env_kwargs={"max_episode_steps": 80})
    summary = collect(cfg, tmp_path / "ray", progress=False, backend="ray")
    assert summary["episodes"] == summary["new_episodes"] == 4
    collect(CollectConfig(env="hirl/Maze-v0", episodes=4, seed=5, workers=1, env_kwargs={"max_episode_steps": 80}),
            tmp_path / "local", progress=False)
    a, b = load_dataset(tmp_path / "ray"), load_dataset(tmp_path / "local")
    assert [e.index for e in a.episodes] == [e.index for e in b.episodes] == [0, 1, 2, 3]
    for x, y in zip(a.episodes, b.episodes, strict=True):
        np.testing.assert_array_equal(x.actions, y.actions)
        np.testing.assert_array_equal(x.flat_obs(("observation",)), y.flat_obs(("observation",)))
    assert not (tmp_path / "ray" / "journal").exists()  # the journal was assembled and removed, as locally


def test_benchmark_sweep_as_two_tune_trials(tmp_path: Path, local_ray: None) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "env_kwargs: {max_episode_steps: 30}\n"
        "collect: {episodes: 3, workers: 1, chain_length: 1}\n"
        "agents: [hier_language, flat]\ntext_encoder: hash\nval_fraction: 0.34\n"
        "train:\n" + "".join(f"  {n}: {{max_steps: 6, batch_size: 16, eval_every: 3, checkpoint_every: 3, "
                                 f"progress: false, tensorboard: false}}\n" for n in ("low", "high", "baseline"))
        + "eval: {episodes: 1, chain_length: 1, videos: 0}\n")
    spec = importlib.util.spec_from_file_location("hirl_benchmark_script", ROOT / "experiments" / "benchmark.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # the script registers itself with Ray's pickler by value
    spec.loader.exec_module(bench)
    out, results = tmp_path / "bench", tmp_path / "RESULTS.md"
    argv = [str(config), "--seeds", "0", "1", "--out", str(out), "--results", str(results), "--backend", "ray",
            "--replan-agent", "none", "--no-references"]
    assert bench.main(argv) == 0
    res = json.loads(results.with_suffix(".json").read_text())
    assert res["seeds"] == [0, 1] and set(res["agents"]) == {"hier_language", "flat", "expert"}
    assert len(res["agents"]["flat"]["success_rate"]["per_seed"]) == 2
    assert list((out / "tune").iterdir())  # Tune's experiment records
    mtime = (out / "seed0" / "report.json").stat().st_mtime
    assert bench.main(argv) == 0  # resumed: finished seeds are not run again
    assert (out / "seed0" / "report.json").stat().st_mtime == mtime


TINY_RL = ["env_kwargs={layout: u, max_episode_steps: 40}", "steps=200", "checkpoint_every=200", "eval.every=100",
           "eval.episodes=1", "algo.learning_starts=50", "algo.batch_size=16", "algo.buffer_size=1000",
           "algo.net_arch=[16, 16]"]


@pytest.mark.slow  # ~30 s (two Tune trial processes importing SB3); the shared Tune path runs in CI through the sweep above
def test_rl_benchmark_sweep_as_two_tune_trials(tmp_path: Path, local_ray: None) -> None:
    script_path = ROOT / "experiments" / "maze" / "rl_benchmark.py"
    spec = importlib.util.spec_from_file_location("hirl_rl_benchmark_script", script_path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    root, plot = tmp_path / "rl", tmp_path / "curves.png"
    argv = ["sweep", "--variants", "flat", "--seeds", "0", "1", "--root", str(root), "--plot", str(plot), "--episodes", "1",
            "--backend", "ray", "--cpus-per-trial", "1", *TINY_RL]
    assert script.main(argv) == 0
    results = sorted((root / "results").glob("*.json"))
    assert [p.name for p in results] == ["flat-s0.json", "flat-s1.json"]
    for p, seed in zip(results, (0, 1), strict=True):
        r = json.loads(p.read_text())
        assert r["seed"] == seed and r["stages"]["flat"]["env_steps"] >= 200 and r["final"]["rl_flat"]["episodes"] == 1
    assert plot.is_file() and list((root / "tune").iterdir())
    mtime = results[0].stat().st_mtime
    assert script.main(argv) == 0  # resumed: finished (variant, seed) runs are skipped
    assert results[0].stat().st_mtime == mtime


def test_declared_gpus_the_cluster_lacks_are_one_line(tmp_path: Path, local_ray: None) -> None:
    from hirl.benchmarks.tune import run_trials
    from hirl.errors import InputError

    with pytest.raises(InputError, match=r"--gpus-per-trial 1: the Ray cluster has 0 GPU\(s\)"):
        run_trials(lambda p: None, [{"seed": 0}], storage=tmp_path, name="t", backend="ray", gpus=1.0)
