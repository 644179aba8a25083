"""`hirl demo`: the scripted expert run through the hierarchical runtime (high level = the expert's subtask
choice, low level = its controller, replanning by the configured rule); writes report.json, a rollout MP4
with the active subgoal drawn on the frames, and the resolved config."""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from hirl.config import load_config, save_config
from hirl.configs import embedded
from hirl.eval.metrics import chain_metrics
from hirl.eval.rollout import run_episode
from hirl.eval.video import write_mp4
from hirl.fileio import atomic_write_json
from hirl.hierarchy import HierarchicalAgent, ReplanConfig, build_replan_rule
from hirl.integrations import adapter


@dataclass(frozen=True)
class VideoConfig:
    episodes: int = 1  # how many of the episodes are filmed (0: no video)
    frame_every: int = 4  # control steps between frames (4 -> 12.5 fps of a 50 Hz run)
    width: int = 160  # camera width in pixels
    height: int = 160  # camera height in pixels


@dataclass(frozen=True)
class DemoConfig:
    env: str = "hirl/Tabletop-v0"  # environment id
    episodes: int = 3  # evaluation episodes
    chain_length: int = 5  # subtasks per chain (chained envs)
    seed: int = 0  # base seed; episode i uses seed + i
    expert_noise: float = 0.05  # std of the expert's Gaussian action noise
    replan: ReplanConfig = field(default_factory=ReplanConfig)  # when the high level is asked again
    video: VideoConfig = field(default_factory=VideoConfig)  # rollout video

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if not 1 <= self.chain_length <= 5:
            raise ValueError(f"chain_length must be in 1..5, got {self.chain_length}")


def run(args: argparse.Namespace) -> int:
    cfg = load_config(DemoConfig, args.config or embedded("demo.yaml"), args.overrides)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    env_adapter = adapter(cfg.env)
    filming = cfg.video.episodes > 0
    env = env_adapter.make(render=filming, width=cfg.video.width, height=cfg.video.height)
    high, low = env_adapter.expert(env, cfg.expert_noise, cfg.seed)
    rule = build_replan_rule(cfg.replan, env_adapter.detector_extra(env), seed=cfg.seed)
    agent = HierarchicalAgent(high, low, rule)
    results, videos = [], []
    start = time.perf_counter()
    for i in tqdm(range(cfg.episodes), desc=f"demo {cfg.env}", unit="episode"):
        film = i < cfg.video.episodes
        result = run_episode(
            env, agent, env_adapter.command, seed=cfg.seed + i,
            options=env_adapter.reset_options(cfg.chain_length), frame_every=cfg.video.frame_every if film else 0,
        )
        if film:
            videos.append(str(write_mp4(out / f"rollout_{i:03d}.mp4", result.frames, fps=50 / cfg.video.frame_every)))
        results.append(result)
    env.close()
    metrics = chain_metrics(results)
    metrics["wall_seconds"] = round(time.perf_counter() - start, 2)
    report = {
        "policies": {"scripted_expert": metrics},
        "run_dir": str(out.resolve()),
        "env": cfg.env,
        "replan": f"{type(rule).__name__}",
        "videos": videos,
        "episodes": [r.summary() for r in results],
    }
    atomic_write_json(out / "report.json", report)
    print(json.dumps({"success_rate": metrics["success_rate"], "avg_chain_length": metrics["avg_chain_length"],
                      "high_level_queries_per_episode": metrics["high_level_queries_per_episode"],
                      "report": str(out / "report.json"), "videos": videos}, indent=2))
    return 0
