"""The measurements of docs/scaling.md in one run (needs the ray extra): expert-collection throughput with the
local process backend and with Ray tasks (1 and 2 workers, same episodes, ratios to 1 local worker), Ray's start-up
overhead (ray.init + a first task's round trip), and a tiny N-seed imitation sweep through experiments/benchmark.py
as Ray Tune trials vs the same seeds one after another.

    python experiments/scaling.py --out runs/scaling --episodes 24 --trials 6
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.fileio import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = (  # a small imitation run per seed: 3 episodes, a few optimizer steps, one 1-subtask evaluation chain
    "env_kwargs: {max_episode_steps: 30}\ncollect: {episodes: 3, workers: 1, chain_length: 1}\n"
    "agents: [hier_language, flat]\ntext_encoder: hash\nval_fraction: 0.34\ntrain:\n"
    + "".join(f"  {n}: {{max_steps: 6, batch_size: 16, eval_every: 3, checkpoint_every: 3, progress: false, "
              f"tensorboard: false}}\n" for n in ("low", "high", "baseline"))
    + "eval: {episodes: 1, chain_length: 1, videos: 0}\n")


def collection(out: Path, episodes: int) -> dict[str, float]:
    """Steps/s of the same Maze collection with each backend and worker count (ray: a local Ray of 2 CPUs)."""
    import ray

    rates: dict[str, float] = {}
    for backend, workers in (("local", 1), ("local", 2), ("ray", 1), ("ray", 2)):
        if backend == "ray" and not ray.is_initialized():
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        path = out / f"collect-{backend}-{workers}"
        shutil.rmtree(path, ignore_errors=True)
        cfg = CollectConfig(env="hirl/Maze-v0", episodes=episodes, seed=0, workers=workers)
        t0 = time.perf_counter()
        summary = collect(cfg, path, progress=False, backend=backend)
        rates[f"{backend}_{workers}"] = round(summary["steps"] / (time.perf_counter() - t0), 1)
    ray.shutdown()
    base = rates["local_1"]
    ratios = {f"{k}_ratio": round(v / base, 3) for k, v in rates.items()}
    return {**{f"{k}_steps_per_s": v for k, v in rates.items()}, **ratios}


def startup() -> dict[str, float]:
    """Seconds of ray.init(num_cpus=2) and of a first trivial task's round trip after it."""
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    t1 = time.perf_counter()
    ray.get(ray.remote(lambda: 1).remote())
    t2 = time.perf_counter()
    ray.shutdown()
    return {"ray_init_s": round(t1 - t0, 2), "first_task_s": round(t2 - t1, 2)}


def sweep(out: Path, trials: int) -> dict[str, float]:
    """Wall seconds of experiments/benchmark.py over `trials` seeds of TINY_CONFIG: Ray Tune trials vs sequential."""
    config = out / "tiny.yaml"
    config.write_text(TINY_CONFIG)
    seeds = [str(s) for s in range(trials)]
    times = {}
    for backend in ("local", "ray"):
        bench = out / f"sweep-{backend}"
        shutil.rmtree(bench, ignore_errors=True)
        cmd = [sys.executable, str(ROOT / "experiments" / "benchmark.py"), str(config), "--seeds", *seeds, "--out", str(bench),
               "--results", str(bench / "RESULTS.md"), "--replan-agent", "none", "--no-references", "--backend", backend]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, MUJOCO_GL="egl", HF_HUB_OFFLINE="1"))
        times[f"{backend}_s"] = round(time.perf_counter() - t0, 1)
    return {**times, "ray_over_sequential": round(times["ray_s"] / times["local_s"], 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="scratch folder (datasets, sweep runs) and scaling.json")
    p.add_argument("--episodes", type=int, default=24, help="Maze episodes per collection measurement")
    p.add_argument("--trials", type=int, default=6, help="seeds of the sweep")
    p.add_argument("--parts", default="collection,startup,sweep", help="comma-separated parts to measure, in order")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    res: dict[str, object] = {"cpus": os.cpu_count()}
    parts = {"startup": startup, "collection": lambda: collection(args.out, args.episodes),
             "sweep": lambda: sweep(args.out, args.trials)}
    for name in args.parts.split(","):  # scaling.json after each part, with the load average around it
        measure = parts[name.strip()]
        before = os.getloadavg()
        res[name] = {**measure(), "load_average_before": before, "load_average_after": os.getloadavg()}
        atomic_write_json(args.out / "scaling.json", res)
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
