"""`hirl eval`: every agent of a run on the same CALVIN-style chains; report.json, a plot, MP4s with overlays."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from tqdm import tqdm

from hirl.eval.latency import LatencyProbe
from hirl.hierarchy.metrics import chain_metrics
from hirl.eval.video import annotated_frame, write_mp4
from hirl.fileio import atomic_write_json
from hirl.hierarchy.rollout import Agent, EpisodeResult, run_episode
from hirl.eval.report import plot_report
from hirl.runs import RunDir, load_agent, parse_agent_name, run_kind
from hirl.runs.agents import recipe
from hirl.runs.rundir import as_run_dir


def evaluate_agent(
    agent: Agent, env: Any, command_fn: Any, episodes: int, chain_length: int, seed: int, videos: int, frame_every: int,
    out: Path, name: str, options_fn: Any,
) -> tuple[dict[str, Any], list[EpisodeResult]]:
    """Run `episodes` chains (seed + i) and return (metrics, results); the first `videos` episodes are filmed.
    metrics["latency"]: control-step and high-level-query latency (filmed episodes excluded: rendering)."""
    results, files = [], []
    probe = LatencyProbe(agent)
    for i in tqdm(range(episodes), desc=f"eval {name}", unit="chain", leave=False):
        film = i < videos
        r = run_episode(env, agent if film else probe, command_fn, seed=seed + i, options=options_fn(chain_length),
                        frame_every=frame_every if film else 0, frame_fn=annotated_frame)
        if film and r.frames:
            files.append(str(write_mp4(out / "videos" / f"{name}_{i:03d}.mp4", r.frames, fps=50 / frame_every)))
            r.frames = []
        results.append(r)
    metrics = chain_metrics(results)
    metrics["videos"] = files
    metrics["latency"] = probe.summary()
    return metrics, results


def evaluate_run(run: str | Path | RunDir, agents: Sequence[str] | None = None, episodes: int | None = None,
                 out: Path | None = None, overrides: Sequence[str] = (), cfg: Any = None) -> dict[str, Any]:
    """Evaluate agents (default: the run kind's default agents) of a run, imitation or RL, on the same episodes
    (seeds eval seed + i); writes out/report.json (+ plot) and returns the report.

    cfg: a config of the run's kind to use instead of RUN/config.yaml (e.g. a replan-rule variant); overrides:
    dotted key=value changes of it."""
    run = as_run_dir(run).require()
    kind = run_kind(run.kind())
    cfg = cfg if cfg is not None else kind.load_config(run, overrides)
    out = out or run.eval_dir
    setup = kind.eval_setup(cfg)
    n = episodes or setup.episodes
    names = list(agents or kind.default_agents(cfg, run))
    recipes = {name: recipe(parse_agent_name(name)[0]) for name in names}  # unknown names fail before any rollout
    encoder = kind.text_encoder(cfg)  # one encoder (MiniLM: ~1 s to load) shared by every agent
    report: dict[str, Any] = {"run_dir": str(run.path.resolve()), "env": cfg.env, "episodes": n,
                              "chain_length": setup.chain_length, "seed": setup.seed, "policies": {}}
    for name in names:
        image_agent = recipes[name].renders()
        size = setup.image_size if image_agent else setup.video_size
        env = kind.make_env(cfg, render=image_agent or setup.videos > 0, size=size)
        agent = load_agent(run, name, env, cfg=cfg, text_encoder=encoder)
        t0 = time.perf_counter()
        metrics, results = evaluate_agent(agent, env, setup.command, n, setup.chain_length, setup.seed, setup.videos,
                                          setup.frame_every, out, name, setup.options)
        metrics["wall_seconds"] = round(time.perf_counter() - t0, 1)
        metrics["episodes_detail"] = [r.summary() for r in results]
        report["policies"][name] = metrics
        env.close()
        print(f"{name}: success_rate {metrics['success_rate']:.3f}  avg_chain_length {metrics['avg_chain_length']:.2f}")
    atomic_write_json(out / "report.json", report)
    plot_report(report, out / "chain_success.png")
    return report


__all__ = ["evaluate_agent", "evaluate_run"]
