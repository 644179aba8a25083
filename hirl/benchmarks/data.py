"""Dataset benchmark: collection throughput with 1 vs 2 workers (side by side, same run), dataset size per 1000 steps
with and without images, load time of a 200-episode dataset and the time to flatten it into training tables.

    python -m hirl.benchmarks.data --env hirl/Tabletop-v0 [--episodes 40] [--load-episodes 200] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.dataset import load_dataset
from hirl.data.info import size_on_disk
from hirl.data.tables import build_tables


def collection_benchmark(env: str = "hirl/Tabletop-v0", episodes: int = 40, load_episodes: int = 200,
                         image_episodes: int = 10, image_every: int = 25, image_size: int = 128, seed: int = 0,
                         env_kwargs: dict[str, Any] | None = None, workdir: str | Path | None = None) -> dict[str, Any]:
    """Measure on `env`; returns a JSON-ready dict. Throughput is wall-clock steps/s of a whole `collect` call
    (worker start-up and dataset assembly included), 1 and 2 workers on the same episodes in the same run."""
    env_kwargs = dict(env_kwargs or {})
    tmp = Path(tempfile.mkdtemp(prefix="hirl-data-bench-", dir=workdir))
    res: dict[str, Any] = {"env": env, "env_kwargs": env_kwargs, "cpu_count": os.cpu_count(), "throughput": {}}
    try:
        for workers in (1, 2):
            out = tmp / f"w{workers}"
            t0 = time.perf_counter()
            s = collect(CollectConfig(env=env, episodes=episodes, seed=seed, workers=workers, env_kwargs=env_kwargs), out,
                        progress=False)
            wall = time.perf_counter() - t0
            res["throughput"][workers] = {"episodes": episodes, "steps": s["steps"], "wall_s": round(wall, 2),
                                          "steps_per_s": round(s["steps"] / wall, 1), "success_rate": s["success_rate"]}
        plain = tmp / "w1"
        res["size_no_images"] = _size(plain)
        img = tmp / "images"
        collect(CollectConfig(env=env, episodes=image_episodes, seed=seed, workers=2, image_every=image_every,
                              image_size=image_size, env_kwargs=env_kwargs), img, progress=False)
        res["size_images"] = dict(_size(img), image_every=image_every, image_size=image_size)
        big = tmp / "load"
        t0 = time.perf_counter()
        s = collect(CollectConfig(env=env, episodes=load_episodes, seed=seed, workers=2, env_kwargs=env_kwargs), big,
                    progress=False)
        wall = time.perf_counter() - t0
        res["large_collection"] = {"episodes": load_episodes, "steps": s["steps"], "wall_s": round(wall, 2),
                                   "steps_per_s": round(s["steps"] / wall, 1), "workers": 2}
        loads = []
        for _ in range(3):
            t0 = time.perf_counter()
            ds = load_dataset(big)
            loads.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        build_tables(ds, tuple(ds.obs_keys or ()))
        tables_s = time.perf_counter() - t0
        res["load"] = {"episodes": len(ds), "steps": ds.num_steps, "load_s_min": round(min(loads), 3),
                       "load_s_first": round(loads[0], 3), "size_mb": round(size_on_disk(big) / 1e6, 2),
                       "build_tables_s": round(tables_s, 3)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def _size(path: Path) -> dict[str, Any]:
    ds = load_dataset(path)
    size = size_on_disk(path)
    return {"episodes": len(ds), "steps": ds.num_steps, "bytes": size,
            "mb_per_1000_steps": round(size / ds.num_steps * 1000 / 1e6, 3)}


def to_markdown(r: dict[str, Any], command: str) -> str:
    t1, t2 = r["throughput"][1], r["throughput"][2]
    big, img, load = r["large_collection"], r["size_images"], r["load"]
    lines = [f"Command: `{command}` ({r['env']} {r['env_kwargs'] or ''}, {r['cpu_count']} CPU cores)", "",
             "| measurement | value |", "|---|---|",
             f"| collection, 1 worker ({t1['episodes']} episodes, {t1['steps']} steps) "
             f"| {t1['steps_per_s']:.0f} steps/s ({t1['wall_s']} s) |",
             f"| collection, 2 workers (same episodes) "
             f"| {t2['steps_per_s']:.0f} steps/s ({t2['wall_s']} s), x{t2['steps_per_s'] / t1['steps_per_s']:.2f} |",
             f"| collection, 2 workers, {big['episodes']} episodes | {big['steps_per_s']:.0f} steps/s ({big['wall_s']} s) |",
             f"| size without images | {r['size_no_images']['mb_per_1000_steps']:.3f} MB / 1000 steps |",
             f"| size with images ({img['image_size']}x{img['image_size']} every {img['image_every']} steps) "
             f"| {img['mb_per_1000_steps']:.3f} MB / 1000 steps |",
             f"| load {load['episodes']} episodes ({load['steps']} steps, {load['size_mb']} MB) "
             f"| {load['load_s_min']:.2f} s (first {load['load_s_first']:.2f} s) |",
             f"| flatten them into training tables (build_tables) | {load['build_tables_s']:.2f} s |"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hirl.benchmarks.data", description=__doc__.splitlines()[0])
    p.add_argument("--env", default="hirl/Tabletop-v0")
    p.add_argument("--episodes", type=int, default=40, help="episodes per throughput measurement")
    p.add_argument("--load-episodes", type=int, default=200)
    p.add_argument("--env-kwargs", default=None, help="JSON")
    p.add_argument("--out", default=None, help="also write the Markdown table here")
    a = p.parse_args(argv)
    r = collection_benchmark(a.env, a.episodes, a.load_episodes,
                             env_kwargs=json.loads(a.env_kwargs) if a.env_kwargs else None)
    cmd = "python -m hirl.benchmarks.data --env " + a.env + (f" --env-kwargs '{a.env_kwargs}'" if a.env_kwargs else "") + \
        f" --episodes {a.episodes} --load-episodes {a.load_episodes}"
    md = to_markdown(r, cmd)
    print(json.dumps(r, indent=2))
    print(md)
    if a.out:
        Path(a.out).write_text(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
