"""The maze RL benchmark: hierarchical (low -> high -> adapt) vs flat SAC+HER at the same env-step budget, and
hindsight action relabeling on/off. Each (variant, seed) is one run directory; its result JSON is written
atomically when it finishes, so a killed benchmark resumes by skipping finished runs (and unfinished stages
resume from their checkpoints).

    ROOT/<variant>-s<seed>/        run directory (train/<stage>, models, eval)
    ROOT/results/<variant>-s<seed>.json   {variant, seed, stages: {stage: summary}, final: {agent: metrics}}
    ROOT/tune/                     Ray Tune's records of `sweep(..., backend="ray")` (one trial per (variant, seed))
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hirl.config import load_config
from hirl.devices import resolve_device
from hirl.eval.evaluate import evaluate_run
from hirl.eval.report import legend_outside, save_figure
from hirl.fileio import atomic_write_json
from hirl.rl.config import RLRunConfig
from hirl.rl.stages import train_rl
from hirl.rl.sb3 import MODEL_FILE
from hirl.runs import RunDir

# variant -> [(stage config file name, overrides)]
VARIANTS: dict[str, list[tuple[str, list[str]]]] = {
    "flat": [("rl_flat.yaml", [])],
    "hier": [("rl_low.yaml", []), ("rl_plan.yaml", []), ("rl_high.yaml", []), ("rl_adapt.yaml", [])],
    "hier_norelabel": [("rl_low.yaml", []), ("rl_high.yaml", ["high.relabel=none"])],
    "hier_hl8": [("rl_low.yaml", []), ("rl_high.yaml", ["algo.gradient_steps=8"])],  # 4x the high level's updates per decision
}


def run_variant(variant: str, seed: int, root: Path, configs: Path, overrides: Sequence[str] = (), final_episodes: int = 50,
                progress: bool = False) -> dict[str, Any]:
    """Train every stage of `variant` for `seed` into ROOT/<variant>-s<seed> and write its result JSON."""
    result_file = root / "results" / f"{variant}-s{seed}.json"
    if result_file.is_file():
        return json.loads(result_file.read_text())
    run_dir, shared = RunDir(root / f"{variant}-s{seed}"), RunDir(root / f"hier-s{seed}")
    shared_low = shared.model_dir("rl_low") / MODEL_FILE
    stages: dict[str, Any] = {}
    for name, extra in VARIANTS[variant]:
        cfg = load_config(RLRunConfig, configs / name, [f"seed={seed}", f"progress={progress}", *extra, *overrides])
        if variant != "hier" and cfg.stage == "low" and shared_low.is_file():  # the same low level as "hier" (same seed)
            run_dir.model_dir("rl_low").mkdir(parents=True, exist_ok=True)
            shutil.copy(shared_low, run_dir.model_dir("rl_low") / MODEL_FILE)
            stages["low"] = json.loads((shared.train_dir("low") / "summary.json").read_text())
            continue
        stages[cfg.stage] = train_rl(cfg, run_dir)
    final = evaluate_run(run_dir, episodes=final_episodes)["policies"]
    result = {"variant": variant, "seed": seed, "stages": stages,
              "final": {a: {"success_rate": m["success_rate"], "episodes": m["episodes"]} for a, m in final.items()},
              "total_env_steps": sum(s["env_steps"] for s in stages.values()),
              "total_train_seconds": round(sum(s["train_seconds"] for s in stages.values()), 1)}
    atomic_write_json(result_file, result)
    return result


def sweep_phases(variants: Sequence[str]) -> list[list[str]]:
    """The variants in the order a sweep runs them: first those that train their own low level (hier, flat), then
    those that reuse hier's low level of the same seed (run_variant copies it when it exists), so a concurrent sweep
    gives the results of the sequential order. Empty phases are dropped."""
    if "hier" not in variants:  # nothing to wait for: each trains its own low level (or copies an existing hier's)
        return [list(variants)] if variants else []
    reuse = [v for v in variants if v != "hier" and any(name == "rl_low.yaml" for name, _ in VARIANTS[v])]
    return [p for p in ([v for v in variants if v not in reuse], reuse) if p]


def sweep(variants: Sequence[str], seeds: Sequence[int], root: Path, configs: Path, overrides: Sequence[str] = (),
          final_episodes: int = 50, backend: str = "local", address: str | None = None, cpus: float = 1.0,
          gpus: float = 0.0) -> list[dict[str, Any]]:
    """run_variant for every (variant, seed), phase by phase (sweep_phases); backend "ray": each one is a Ray Tune
    trial declaring {"cpu": cpus, "gpu": gpus} (hirl.benchmarks.tune), Tune's records in ROOT/tune. Finished runs
    are skipped (their result JSON exists), so an interrupted sweep resumes. Returns load_results(root)."""
    from hirl.benchmarks.tune import run_trials

    root, configs, extra = root.resolve(), configs.resolve(), list(overrides)

    def trial(p: Mapping[str, Any]) -> None:
        run_variant(str(p["variant"]), int(p["seed"]), root, configs, extra, final_episodes)

    for phase in sweep_phases(variants):
        run_trials(trial, [{"variant": v, "seed": s} for v in phase for s in seeds], storage=root / "tune",
                   name=f"rl-{'-'.join(phase)}", backend=backend, address=address, cpus=cpus, gpus=gpus)
    return load_results(root)


def load_results(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((root / "results").glob("*.json"))]


def _curve(result: dict[str, Any], key: str = "success_rate", grid: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(env steps, curve[key]) over the whole variant: later stages are offset by the earlier stages' env steps; the
    low stage's points are its low level driven straight at the task goal. Steps are rounded to the nearest `grid`
    (a high-level decision can overshoot an evaluation point by up to H control steps). Points without `key` and
    the plan stage (0 env steps, a different agent: see "plan_success_rate") are left out."""
    xs, ys, offset = [], [], 0
    for name, stage in result["stages"].items():
        if name == "plan":
            continue
        for p in stage["curve"]:
            if key in p:
                xs.append(int(round((offset + p["env_steps"]) / grid) * grid))
                ys.append(p[key])
        offset += stage["env_steps"]
    return np.array(xs), np.array(ys)


def _series(results: list[dict[str, Any]]) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Learning curves by line name: one per variant, plus "<variant>: planner" where stage low also evaluated the
    planning agent on its replay buffer so far (plan.eval_during_low)."""
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for r in results:
        out.setdefault(r["variant"], []).append(_curve(r))
        plan = _curve(r, "plan_success_rate")
        if len(plan[0]):
            out.setdefault(f"{r['variant']}: planner", []).append(plan)
    return out


def _ms(values: Sequence[float]) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.2f} ± {v.std():.2f} (n={len(v)})" if len(v) else "-"


def summary_tables(results: list[dict[str, Any]]) -> str:
    """Markdown: final success per agent, success vs env steps, env-steps/s per stage and the ratio to flat."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by.setdefault(r["variant"], []).append(r)
    lines = ["| variant | seeds | agent | final success (mean ± std) | env steps |", "|---|---|---|---|---|"]
    for v, rs in by.items():
        for agent in sorted({a for r in rs for a in r["final"]}):
            vals = [r["final"][agent]["success_rate"] for r in rs if agent in r["final"]]
            seeds = ",".join(str(r["seed"]) for r in rs)
            lines.append(f"| {v} | {seeds} | {agent} | {_ms(vals)} | {rs[0]['total_env_steps']} |")
    series = _series(results)
    lines += ["", "Success rate on the task (20 episodes per point) vs env steps, mean ± std over seeds:", "",
              "| env steps | " + " | ".join(series) + " |", "|---|" + "---|" * len(series)]
    grid = sorted({int(x) for curves in series.values() for xs, _ in curves for x in xs})
    for x in grid:
        cells = []
        for curves in series.values():
            ys = [dict(zip(xs.tolist(), ys_.tolist(), strict=True))[x] for xs, ys_ in curves if x in set(xs.tolist())]
            cells.append(_ms(ys) if ys else "")
        lines.append(f"| {x} | " + " | ".join(cells) + " |")
    flat_rate = [r["stages"]["flat"]["env_steps_per_s"] for r in by.get("flat", [])]
    lines += ["", "Training throughput (env steps per second of training wall-clock, evaluation excluded):", "",
              "| variant / stage | env steps/s (mean ± std) | ratio to flat SAC+HER |", "|---|---|---|"]
    base = float(np.mean(flat_rate)) if flat_rate else float("nan")
    for v, rs in by.items():
        for stage in rs[0]["stages"]:
            if stage == "plan":  # no env steps
                continue
            rates = [r["stages"][stage]["env_steps_per_s"] for r in rs if stage in r["stages"]]
            lines.append(f"| {v} / {stage} | {_ms(rates)} | {np.mean(rates) / base:.2f} |")
        total = [r["total_env_steps"] / max(r["total_train_seconds"], 1e-9) for r in rs]
        lines.append(f"| {v} / all stages | {_ms(total)} | {np.mean(total) / base:.2f} |")
    return "\n".join(lines) + "\n"


def plot_curves(results: list[dict[str, Any]], path: Path, title: str = "Maze RL benchmark") -> Path:
    """Success vs env steps, mean ± std band per variant (title: what the figure's title starts with)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(9, 4))
    for name, curves in _series(results).items():
        xs = sorted(set.intersection(*[set(c[0].tolist()) for c in curves]))
        ys = np.array([[dict(zip(c[0].tolist(), c[1].tolist(), strict=True))[x] for x in xs] for c in curves])
        ax.plot(xs, ys.mean(0), marker="o", label=f"{name} (n={len(curves)})")
        ax.fill_between(xs, ys.mean(0) - ys.std(0), ys.mean(0) + ys.std(0), alpha=0.2)
    staged = max(results, key=lambda r: len(r["stages"]))
    stages = {k: v for k, v in staged["stages"].items() if k != "plan"}
    bounds = np.cumsum([st["env_steps"] for st in stages.values()])[:-1]
    for b, name in zip(bounds, list(stages)[1:], strict=True):
        ax.axvline(b, color="grey", ls="--", lw=0.8)
        ax.text(b, 0.97, f" {name} stage", fontsize=8, color="grey", va="top")
    ax.set_xlabel("environment steps (all stages; hierarchical: low level alone on the task before the high stage)")
    ax.set_ylabel("success rate")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # env steps are counts
    ax.set_ylim(-0.02, 1.02)
    seeds = sorted({r["seed"] for r in results})
    ax.set_title(f"{title}: task success vs environment steps (mean ± std over seeds {', '.join(map(str, seeds))})")
    ax.grid(alpha=0.3)
    legend_outside(ax)
    return save_figure(fig, path)


def plain_sb3_rate(cfg: RLRunConfig, steps: int) -> float:
    """Env steps/s of plain SB3 SAC+HER (no hirl code in the loop) on cfg's task env with cfg.algo's settings."""
    import time

    from stable_baselines3 import SAC
    from stable_baselines3.her import HerReplayBuffer

    from hirl.integrations import adapter as env_adapter

    a = cfg.algo
    model = SAC("MultiInputPolicy", env_adapter(cfg.env).make(**cfg.env_kwargs), learning_rate=a.learning_rate,
                buffer_size=a.buffer_size, batch_size=a.batch_size, learning_starts=a.learning_starts, train_freq=a.train_freq,
                gradient_steps=a.gradient_steps, gamma=a.gamma, tau=a.tau, policy_kwargs={"net_arch": list(a.net_arch)},
                replay_buffer_class=HerReplayBuffer,
                replay_buffer_kwargs={"n_sampled_goal": a.her_k, "goal_selection_strategy": a.her_strategy},
                seed=cfg.seed, device=resolve_device(a.device, "algo.device"))
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - t0)


def throughput(root: Path, configs: Path, steps: int, seed: int = 0, overrides: Sequence[str] = ()) -> dict[str, float]:
    """Env steps/s measured back to back in one process (same machine load): plain SB3 SAC+HER, hirl's flat, low
    and high stages on the same env with the same learner settings (`steps` env steps each; hirl's rates exclude
    its evaluation), then plain SB3 again (load drift check)."""
    common = [*overrides, f"seed={seed}", f"steps={steps}", "eval.every=0", "eval.episodes=1", "progress=false",
              f"checkpoint_every={steps}"]
    flat = load_config(RLRunConfig, configs / "rl_flat.yaml", common)
    rates = {"plain_sb3_sac_her": plain_sb3_rate(flat, steps)}
    run_dir = root / f"throughput-s{seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    for name in ("rl_flat.yaml", "rl_low.yaml", "rl_high.yaml"):
        cfg = load_config(RLRunConfig, configs / name, common)
        rates[f"hirl_{cfg.stage}"] = train_rl(cfg, run_dir)["env_steps_per_s"]
    rates["plain_sb3_sac_her_again"] = plain_sb3_rate(flat, steps)
    out = {k: round(v, 1) for k, v in rates.items()}
    atomic_write_json(root / "throughput" / f"s{seed}.json", out)
    return out
