"""Generate an OGBench-style dataset with OGBench's own oracles through hirl's collector (Minari HDF5, crash-safe
journal, resumable, parallel workers): `play` / `noisy` (manipulation) or `navigate` (point mazes), one segment per
oracle target with its language label.

    python -m hirl.data.ogbench.generate --env scene-v0 --out runs/data/scene-play [--episodes 200] [--workers 2]
    python -m hirl.data.ogbench.generate --env pointmaze-large-v0 --out runs/data/pml-navigate --resume

Every default is that of OGBench's published dataset of the env and style (PUBLISHED: the data_gen_scripts/commands.sh
rows of seohongpark/ogbench, with its generation scripts' flag defaults where a row sets none): navigate: Gaussian
action noise 0.5, 1000 episodes of 1001 steps (pointmaze-giant: 500 of 2001); play: PlanOracle noise 0.1 (smoothing
0.5), 1001-step episodes; noisy: MarkovOracle noise up to 0.1 plus a uniformly random action with probability 0.1
(puzzles: 0.2); manipulation episodes: 1000, except cube-triple and puzzle-4x5 3000, cube-quadruple and puzzle-4x6
5000 (cube-octuple has no published dataset: the scripts' defaults, 1000). Differences from OGBench's scripts:
episode i is seeded with seed + i (hirl's collector), OGBench's extra validation episodes (a tenth more, a separate
file) are not generated, and scene episodes are not re-drawn when the cube leaves the table area (OGBench's health
check re-rolls them)."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hirl.errors import InputError

ADAPTERS = "hirl.adapters.ogbench.adapter"  # the module registering the ogbench/... env adapters
STYLES = ("navigate", "noisy", "play")  # the dataset styles hirl generates (OGBench's dataset types)
DEFAULT_NOISE = {"play": 0.1, "noisy": 0.1, "navigate": 0.5}  # OGBench's published noise per dataset style
STEPS = 1001  # steps per episode of every published dataset but pointmaze-giant's
# manipulation episodes per published dataset (play and noisy alike); absent: 1000 (the scripts' default)
MANIPULATION_EPISODES = {"cube-triple": 3000, "cube-quadruple": 5000, "puzzle-4x5": 3000, "puzzle-4x6": 5000}


@dataclass(frozen=True)
class Published:
    """How OGBench generated its published dataset of one env and style (data_gen_scripts/commands.sh)."""

    episodes: int  # training episodes (OGBench writes a tenth more into a separate -val file)
    max_episode_steps: int  # steps per episode
    noise: float  # navigate: Gaussian std; play: PlanOracle noise; noisy: MarkovOracle maximum noise
    p_random_action: float = 0.0  # P(a uniformly random action instead of the oracle's) per step (noisy datasets)


def default_style(name: str) -> str:
    """The dataset style OGBench publishes for an env: navigate for mazes, play for manipulation."""
    return "navigate" if name.startswith("pointmaze") else "play"


def published(name: str, style: str) -> Published:
    """OGBench's published settings for env `name` (e.g. 'pointmaze-giant-v0', 'puzzle-3x3-v0') and style;
    InputError for a style the env has no dataset of."""
    maze = name.startswith("pointmaze")
    if style not in STYLES or maze != (style == "navigate"):
        kind = "a point maze: its style is navigate" if maze else "a manipulation env: its styles are play, noisy"
        raise InputError(f"style: {name} is {kind} (navigate is for point mazes), got {style!r}")
    if maze:
        giant = name.startswith("pointmaze-giant")
        return Published(500 if giant else 1000, 2001 if giant else STEPS, DEFAULT_NOISE[style])
    base = name.rsplit("-v", 1)[0]
    p_random = 0.0 if style == "play" else 0.2 if base.startswith("puzzle") else 0.1
    return Published(MANIPULATION_EPISODES.get(base, 1000), STEPS, DEFAULT_NOISE[style], p_random)


def generate(name: str, episodes: int | None, out: str | Path, style: str | None = None, noise: float | None = None,
             seed: int = 0, workers: int = 1, resume: bool = False, progress: bool = True,
             max_episode_steps: int | None = None, p_random_action: float | None = None) -> dict[str, Any]:
    """Collect oracle episodes of OGBench env `name` (e.g. 'scene-v0') into the hirl dataset at out; every None
    argument takes OGBench's published value (published()). Returns the collector's summary (episodes, steps,
    seconds, steps_per_s, ...)."""
    from hirl.data.collect import collect
    from hirl.data.collect_config import CollectConfig
    from hirl.hierarchy.replan import ReplanConfig
    from hirl.plugins import import_plugins

    import_plugins([ADAPTERS], "generate")  # registers ogbench/... here and in every worker process

    style = style or default_style(name)
    pub = published(name, style)
    steps = pub.max_episode_steps if max_episode_steps is None else max_episode_steps
    p_random = pub.p_random_action if p_random_action is None else p_random_action
    env_kwargs: dict[str, Any] = {"collection": style}
    if steps != STEPS:  # the env's collection default: left out, so datasets of earlier versions still resume
        env_kwargs["max_episode_steps"] = steps
    if p_random > 0:
        env_kwargs["p_random_action"] = p_random
    cfg = CollectConfig(
        env="ogbench/" + name, env_kwargs=env_kwargs, episodes=pub.episodes if episodes is None else episodes,
        seed=seed, workers=workers, noise=pub.noise if noise is None else noise,
        # a new segment exactly when the oracle gets a new target (the env lists finished targets)
        replan=ReplanConfig(detector="chain_progress", timeout=100_000),
    )
    return collect(cfg, out, resume=resume, progress=progress)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hirl.data.ogbench.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True, help="OGBench env name, e.g. scene-v0, puzzle-3x3-v0, pointmaze-large-v0")
    p.add_argument("--episodes", type=int, default=None, help="episodes (default: OGBench's published count)")
    p.add_argument("--out", required=True, help="dataset directory")
    p.add_argument("--style", choices=STYLES, default=None, help="dataset style (default: the published one)")
    p.add_argument("--noise", type=float, default=None, help="oracle noise (default: OGBench's for the env and style)")
    p.add_argument("--max-episode-steps", type=int, default=None, help="steps per episode (default: OGBench's)")
    p.add_argument("--p-random-action", type=float, default=None,
                   help="P(uniformly random action) per step (default: OGBench's: 0.1 / 0.2 on noisy datasets, else 0)")
    p.add_argument("--seed", type=int, default=0, help="base seed (episode i uses seed + i)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--resume", action="store_true", help="continue an interrupted generation")
    a = p.parse_args(argv)
    try:
        summary = generate(a.env, a.episodes, a.out, a.style, a.noise, a.seed, a.workers, a.resume,
                           max_episode_steps=a.max_episode_steps, p_random_action=a.p_random_action)
    except InputError as exc:
        print(f"generate: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
