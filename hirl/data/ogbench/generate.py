"""Generate an OGBench-style dataset with OGBench's own oracles through hirl's collector (Minari HDF5, crash-safe
journal, resumable, parallel workers): `play` / `noisy` (manipulation) or `navigate` (point mazes), 1001-step
episodes, one segment per oracle target with its language label.

    python -m hirl.data.ogbench.generate --env scene-v0 --episodes 1000 --out runs/data/scene-play [--workers 2]
    python -m hirl.data.ogbench.generate --env pointmaze-large-v0 --episodes 1000 --out runs/data/pml-navigate --resume

OGBench's published datasets are 1000 episodes of 1001 steps (1M transitions); the noise defaults are those of its
generation scripts (play: PlanOracle noise 0.1, smoothing 0.5; noisy: MarkovOracle noise up to 0.1; navigate:
Gaussian std 0.2). Differences from OGBench's scripts: episode i is seeded with seed + i (hirl's collector), and
scene episodes are not re-drawn when the cube leaves the table area (OGBench's health check re-rolls them)."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hirl.errors import InputError

ADAPTERS = "hirl.data.ogbench.adapter"  # the module registering the ogbench/... env adapters
DEFAULT_NOISE = {"play": 0.1, "noisy": 0.1, "navigate": 0.2}  # OGBench's generation defaults per dataset style


def default_style(name: str) -> str:
    """The dataset style OGBench publishes for an env: navigate for mazes, play for manipulation."""
    return "navigate" if name.startswith("pointmaze") else "play"


def generate(name: str, episodes: int, out: str | Path, style: str | None = None, noise: float | None = None,
             seed: int = 0, workers: int = 1, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Collect `episodes` oracle episodes of OGBench env `name` (e.g. 'scene-v0') into the hirl dataset at out;
    returns the collector's summary (episodes, steps, seconds, steps_per_s, ...)."""
    from hirl.data.collect import collect
    from hirl.data.collect_config import CollectConfig
    from hirl.hierarchy.replan import ReplanConfig
    from hirl.plugins import import_plugins

    import_plugins([ADAPTERS], "generate")  # registers ogbench/... here and in every worker process

    style = style or default_style(name)
    cfg = CollectConfig(
        env="ogbench/" + name, env_kwargs={"collection": style}, episodes=episodes, seed=seed, workers=workers,
        noise=DEFAULT_NOISE[style] if noise is None else noise,
        # a new segment exactly when the oracle gets a new target (the env lists finished targets)
        replan=ReplanConfig(detector="chain_progress", timeout=100_000),
    )
    return collect(cfg, out, resume=resume, progress=progress)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hirl.data.ogbench.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True, help="OGBench env name, e.g. scene-v0, puzzle-3x3-v0, pointmaze-large-v0")
    p.add_argument("--episodes", type=int, required=True, help="episodes of 1001 steps (OGBench publishes 1000)")
    p.add_argument("--out", required=True, help="dataset directory")
    p.add_argument("--style", choices=sorted(DEFAULT_NOISE), default=None, help="dataset style (default: the published one)")
    p.add_argument("--noise", type=float, default=None, help="oracle noise (default: OGBench's for the style)")
    p.add_argument("--seed", type=int, default=0, help="base seed (episode i uses seed + i)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--resume", action="store_true", help="continue an interrupted generation")
    a = p.parse_args(argv)
    try:
        summary = generate(a.env, a.episodes, a.out, a.style, a.noise, a.seed, a.workers, a.resume)
    except InputError as exc:
        print(f"generate: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
