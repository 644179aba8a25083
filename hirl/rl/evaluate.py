"""`hirl eval` on an RL run directory: every available RL agent on the same task episodes, the same report.json
shape as imitation runs ({"policies": {name: chain_metrics + ...}, "run_dir": ...})."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from hirl.config import load_config
from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.rl.agents import RL_AGENTS, available_agents, load_rl_agent
from hirl.rl.config import RLRunConfig


def _stage_config(run_dir: Path, stage: str, fallback: RLRunConfig) -> RLRunConfig:
    path = run_dir / "stages" / f"{stage}.yaml"
    return load_config(RLRunConfig, path) if path.is_file() else fallback


def evaluate_agents(run_dir: Path, agents: Sequence[str], episodes: int, cfg: RLRunConfig | None = None) -> dict[str, dict[str, Any]]:
    """{agent: chain_metrics} over `episodes` task episodes (seeds eval.seed + i, the same for every agent).
    Hierarchical agents use the high stage's HighSpec and subgoal radius."""
    from hirl.rl.stages import evaluate_success

    cfg = cfg or load_config(RLRunConfig, run_dir / "config.yaml")
    high_cfg = _stage_config(run_dir, "high", cfg)
    out = {}
    for name in agents:
        if name not in RL_AGENTS:
            raise InputError(f"unknown RL agent {name!r} (known: {', '.join(RL_AGENTS)})")
        t0 = time.perf_counter()
        m = evaluate_success(lambda env: load_rl_agent(run_dir, name, env, high_cfg.high, high_cfg.low.epsilon), cfg, episodes)
        m["wall_seconds"] = round(time.perf_counter() - t0, 1)
        out[name] = m
        print(f"{name}: success_rate {m['success_rate']:.3f}")
    return out


def evaluate_rl_run(run_dir: Path, episodes: int | None = None, agents: Sequence[str] | None = None,
                    out: Path | None = None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Evaluate the RL agents of run_dir (default: all whose models exist); writes out/report.json."""
    cfg = load_config(RLRunConfig, run_dir / "config.yaml", overrides)
    names = list(agents or available_agents(run_dir))
    if not names:
        raise InputError(f"{run_dir}: no trained RL models under models/ (train a stage first)")
    n = episodes or cfg.eval.final_episodes
    report = {"run_dir": str(run_dir.resolve()), "env": cfg.env, "episodes": n, "chain_length": 1, "seed": cfg.eval.seed,
              "policies": evaluate_agents(run_dir, names, n, cfg)}
    atomic_write_json((out or run_dir / "eval") / "report.json", report)
    return report
