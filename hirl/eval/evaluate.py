"""`hirl eval`: every agent of a run on the same CALVIN-style chains; report.json, a plot, MP4s with overlays."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from hirl.agents import load_agent
from hirl.eval.latency import LatencyProbe
from hirl.eval.metrics import chain_metrics
from hirl.eval.rollout import EpisodeResult, RolloutAgent, run_episode
from hirl.eval.video import write_mp4
from hirl.fileio import atomic_write_json
from hirl.integrations import adapter as env_adapter
from hirl.learn.run_config import RunConfig
from hirl.policies.features import make_text_encoder

TEXT_DIM = 384


def evaluate_agent(agent: RolloutAgent, env: Any, command_fn: Any, episodes: int, chain_length: int, seed: int,
                   videos: int, frame_every: int, out: Path, name: str, options_fn: Any) -> tuple[dict[str, Any], list[EpisodeResult]]:
    """Run `episodes` chains (seed + i) and return (metrics, results); the first `videos` episodes are filmed.
    metrics["latency"]: control-step and high-level-query latency (filmed episodes excluded: rendering)."""
    results, files = [], []
    probe = LatencyProbe(agent)
    for i in tqdm(range(episodes), desc=f"eval {name}", unit="chain", leave=False):
        film = i < videos
        r = run_episode(env, agent if film else probe, command_fn, seed=seed + i, options=options_fn(chain_length), frame_every=frame_every if film else 0)
        if film and r.frames:
            files.append(str(write_mp4(out / "videos" / f"{name}_{i:03d}.mp4", r.frames, fps=50 / frame_every)))
            r.frames = []
        results.append(r)
    metrics = chain_metrics(results)
    metrics["videos"] = files
    metrics["latency"] = probe.summary()
    return metrics, results


def default_agents(cfg: RunConfig) -> list[str]:
    """The run's agents, plus "<agent>+adapt" for each one the adapt stage fine-tuned."""
    from hirl.agents import ADAPTED_SUFFIX
    from hirl.learn.adapt import adaptable_agents

    adapted = [a + ADAPTED_SUFFIX for a in adaptable_agents(cfg)] if cfg.adapt.enabled else []
    return list(cfg.agents) + adapted


def evaluate_run(run_dir: Path, cfg: RunConfig, episodes: int | None = None, agents: Sequence[str] | None = None,
                 out: Path | None = None) -> dict[str, Any]:
    """Evaluate cfg.agents (or `agents`) of run_dir; writes out/report.json (+ plot) and returns the report."""
    out = out or run_dir / "eval"
    spec = cfg.eval
    n = episodes or spec.episodes
    adapter = env_adapter(cfg.env)
    encoder = make_text_encoder(cfg.text_encoder, TEXT_DIM)
    report: dict[str, Any] = {"run_dir": str(run_dir.resolve()), "env": cfg.env, "episodes": n,
                              "chain_length": spec.chain_length, "seed": spec.seed, "policies": {}}
    for name in agents or default_agents(cfg):
        image_agent = name.startswith("hier_image")
        size = cfg.collect.image_size if image_agent else spec.video_size
        env = adapter.make(render=image_agent or spec.videos > 0, width=size, height=size, **cfg.env_kwargs)
        agent = load_agent(run_dir, name, env, adapter, cfg.replan, encoder, seed=cfg.seed)
        t0 = time.perf_counter()
        metrics, results = evaluate_agent(agent, env, adapter.command, n, spec.chain_length, spec.seed, spec.videos,
                                          spec.frame_every, out, name, adapter.reset_options)
        metrics["wall_seconds"] = round(time.perf_counter() - t0, 1)
        metrics["episodes_detail"] = [r.summary() for r in results]
        report["policies"][name] = metrics
        env.close()
        print(f"{name}: success_rate {metrics['success_rate']:.3f}  avg_chain_length {metrics['avg_chain_length']:.2f}")
    atomic_write_json(out / "report.json", report)
    plot_report(report, out / "chain_success.png")
    return report


def plot_report(report: dict[str, Any], path: Path) -> Path:
    """Success rate at each chain length, one line per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, m in report["policies"].items():
        ks = sorted(m["success_at_length"], key=int)
        ax.plot([int(k) for k in ks], [m["success_at_length"][k] for k in ks], marker="o",
                label=f"{name} (avg len {m['avg_chain_length']:.2f})")
    ax.set_xlabel("subtasks completed in a row (chain length)")
    ax.set_ylabel("success rate")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{report['env']}: {report['episodes']} chains")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def save_figure(fig: Any, path: Path) -> Path:
    """Write a matplotlib figure as PNG atomically (temp file + rename) and close it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def summary_markdown(report: dict[str, Any]) -> str:
    """A Markdown table comparing the agents of a report."""
    lines = [f"# {report['env']}: {report['episodes']} chains of {report['chain_length']} subtasks", "",
             "| agent | success rate | avg chain length | " + " | ".join(f"len>={k}" for k in range(1, 6)) +
             " | high-level queries/ep | replans/ep | step ms p50/p99 | HL query ms p50/p99 |",
             "|---|---|---|" + "---|" * 5 + "---|---|---|---|"]
    for name, m in report["policies"].items():
        at = [f"{m['success_at_length'].get(str(k), float('nan')):.2f}" for k in range(1, 6)]
        lat = m.get("latency") or {}
        ms = lambda d: f"{d['p50']:.2f} / {d['p99']:.2f}" if d else "-"  # noqa: E731
        lines.append(f"| {name} | {m['success_rate']:.3f} | {m['avg_chain_length']:.2f} | " + " | ".join(at) +
                     f" | {m['high_level_queries_per_episode']:.1f} | {m['replans_per_episode']:.1f} | "
                     f"{ms(lat.get('control_step_ms'))} | {ms(lat.get('high_level_query_ms'))} |")
    return "\n".join(lines) + "\n"


__all__ = ["evaluate_agent", "evaluate_run", "plot_report", "summary_markdown"]
