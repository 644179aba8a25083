"""Training one RL stage into a run directory: build its MDP and learner, resume from the last checkpoint, learn
for `steps` env steps with a progress bar, TensorBoard logging, a learning curve and atomic checkpoints.

    RUN/config.yaml                  the last stage's config (what `hirl eval RUN` reads; `kind: rl`)
    RUN/stages/<stage>.yaml          each stage's resolved config
    RUN/stages/<stage>/tb/           TensorBoard (SB3's losses + eval/success_rate, hirl/env_steps_per_s, ...)
    RUN/stages/<stage>/checkpoint/   model.zip (SB3), buffer.npz/.json (no pickle), state.json (written last)
    RUN/stages/<stage>/curve.json    [{env_steps, success_rate, ...}] learning curve, rewritten at every point
    RUN/models/<model>/model.zip     the trained model (see hirl.rl.agents.STAGE_MODEL)
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from hirl.config import save_config
from hirl.errors import InputError
from hirl.eval.metrics import chain_metrics
from hirl.eval.rollout import run_episode
from hirl.fileio import atomic_write_json
from hirl.integrations import adapter as env_adapter
from hirl.rl.agents import STAGE_MODEL, model_path, planning_agent
from hirl.rl.config import RLRunConfig
from hirl.rl.envs import low_env
from hirl.rl.planner import LowLevelDistance, WaypointGraph, buffer_states, replay_states
from hirl.rl.stage_setup import StageSetup, goal_curriculum, make_task, setup_stage
from hirl.rl.sb3 import load_buffer, load_model, save_buffer


def evaluate_success(make_agent: Callable[[Any], Any], cfg: RLRunConfig, episodes: int) -> dict[str, Any]:
    """chain_metrics of `episodes` episodes (seeds eval.seed + i) of make_agent(env): task episodes, or with
    eval.mode = goals episodes of stage low's goal-reaching MDP with goals from the curriculum at its full radius."""
    ad = env_adapter(cfg.env)
    env = make_task(cfg)
    if cfg.eval.mode == "goals":
        curriculum = goal_curriculum(cfg, env)
        curriculum.progress = 1.0
        env = low_env(env, cfg.low.epsilon, cfg.low.episode_steps, curriculum)
    agent = make_agent(env)
    results = [run_episode(env, agent, ad.command, seed=cfg.eval.seed + i) for i in range(episodes)]
    env.close()
    return chain_metrics(results)


class StageCallback(BaseCallback):
    """Counts env steps, drives the curriculum, draws the progress bar, evaluates every eval.every env steps,
    checkpoints every checkpoint_every env steps, and stops the learner at the budget."""

    def __init__(self, trainer: "StageTrainer") -> None:
        super().__init__()
        self.t = trainer

    def _on_step(self) -> bool:
        t = self.t
        steps = t.env_steps()
        t.bar.update(steps - t.bar.n)
        if t.setup.curriculum is not None:
            t.setup.curriculum.progress = steps / t.cfg.steps
        if t.cfg.eval.every and steps >= t.state["next_eval"]:
            t.evaluate(steps)
            t.state["next_eval"] += t.cfg.eval.every
        if steps >= t.state["next_checkpoint"] and steps < t.cfg.steps:
            t.checkpoint(steps)
            t.state["next_checkpoint"] += t.cfg.checkpoint_every
        return steps < t.cfg.steps


class StageTrainer:
    """One stage of one run directory (see the module docstring)."""

    def __init__(self, cfg: RLRunConfig, run_dir: Path) -> None:
        self.cfg, self.run_dir = cfg, run_dir
        self.dir = run_dir / "stages" / cfg.stage
        self.ckpt = self.dir / "checkpoint"
        self.setup: StageSetup = setup_stage(cfg, run_dir)
        self.state: dict[str, Any] = {"env_steps": 0, "train_seconds": 0.0, "curve": [], "next_eval": cfg.eval.every,
                                      "next_checkpoint": cfg.checkpoint_every, "env_steps_offset": 0}
        self.bar: Any = None
        self._t0 = 0.0
        self._eval_seconds = 0.0
        self._base_seconds = 0.0

    def env_steps(self) -> int:
        return self.state["env_steps_offset"] + self.setup.count_steps(self.model)

    # -- checkpoints -----------------------------------------------------------------------------------------
    def _resume(self) -> bool:
        state_file = self.ckpt / "state.json"
        if not state_file.is_file():
            return False
        try:
            state = json.loads(state_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{state_file}: unreadable checkpoint state ({exc})") from None
        self.model = load_model(self.ckpt / "model.zip", env=self.setup.env)
        self.model.relabeler = self.setup.relabeler
        load_buffer(self.model.replay_buffer, self.ckpt / "buffer.npz")
        if hasattr(self.model.replay_buffer, "truncate_last_trajectory"):
            self.model.replay_buffer.truncate_last_trajectory()
        self.state = state
        self.state["env_steps_offset"] = state["env_steps"] - self.setup.count_steps(self.model)
        if self.setup.relabeler is not None:
            self.setup.relabeler.counts.update(state.get("relabel_counts", {}))
        return True

    def checkpoint(self, steps: int) -> None:
        """model.zip and buffer first, state.json last (atomic): a kill at any time leaves a usable checkpoint."""
        self.ckpt.mkdir(parents=True, exist_ok=True)
        tmp = self.ckpt / "model.tmp.zip"
        self.model.save(tmp)
        tmp.replace(self.ckpt / "model.zip")
        save_buffer(self.model.replay_buffer, self.ckpt / "buffer.npz")
        self.state.update(env_steps=steps, train_seconds=self._train_seconds(),
                          relabel_counts=self._counts())
        atomic_write_json(self.ckpt / "state.json", self.state)

    def _counts(self) -> dict[str, int]:
        if self.setup.relabeler is not None:
            return dict(self.setup.relabeler.counts)
        return self.setup.stats() if self.setup.stats is not None else {}

    def _train_seconds(self) -> float:
        return self._base_seconds + (time.perf_counter() - self._t0 - self._eval_seconds)

    # -- learning curve ----------------------------------------------------------------------------------------
    def evaluate(self, steps: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        if self.setup.evaluate is not None:
            m = {"success_rate": self.setup.evaluate(self.model, self.cfg.eval.episodes, self.cfg.eval.seed)}
        else:
            m = evaluate_success(lambda env: self.setup.eval_agent(self.model, env), self.cfg, self.cfg.eval.episodes)
        train_s = self._train_seconds()
        point = {"env_steps": steps, "success_rate": m["success_rate"], "train_seconds": round(train_s, 1),
                 "env_steps_per_s": round(steps / max(train_s, 1e-9), 1)}
        if self.cfg.stage == "low" and self.cfg.plan.eval_during_low:  # the planning agent on what the low level has so far
            graph = plan_graph(self.cfg, self.model, replay_states(self.model.replay_buffer))
            point["plan_success_rate"] = plan_success(self.cfg, graph, self.model)
            self.model.logger.record("eval/plan_success_rate", point["plan_success_rate"])
        self.state["curve"].append(point)
        atomic_write_json(self.dir / "curve.json", self.state["curve"])
        self.model.logger.record("eval/success_rate", point["success_rate"])
        self.model.logger.record("hirl/env_steps", steps)
        self.model.logger.record("hirl/env_steps_per_s", point["env_steps_per_s"])
        self.model.logger.dump(self.model.num_timesteps)
        self.bar.set_postfix(success=f"{point['success_rate']:.2f}")
        self._eval_seconds += time.perf_counter() - t0
        return point

    # -- the stage ---------------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        torch.set_num_threads(1)
        self.dir.mkdir(parents=True, exist_ok=True)
        save_config(self.cfg, self.run_dir / "stages" / f"{self.cfg.stage}.yaml")
        save_config(self.cfg, self.run_dir / "config.yaml")
        resumed = self._resume()
        if not resumed:
            self.model = self.setup.new_model(str(self.dir / "tb"))
            self.model.relabeler = self.setup.relabeler
        done = self.state["env_steps"]
        self._t0, self._base_seconds = time.perf_counter(), float(self.state["train_seconds"])
        self.bar = tqdm(total=self.cfg.steps, initial=done, desc=f"stage {self.cfg.stage}", unit="step",
                        disable=not self.cfg.progress, mininterval=2.0)
        if done < self.cfg.steps:
            self.model.learn(total_timesteps=10**12, callback=[StageCallback(self), *self.setup.callbacks], reset_num_timesteps=not resumed,
                             tb_log_name="tb", log_interval=10)
        else:  # already finished (a re-run): reloading and re-saving is not training time
            self._t0, self._eval_seconds = time.perf_counter(), 0.0
        steps = self.env_steps()
        if not self.state["curve"] or self.state["curve"][-1]["env_steps"] != steps:
            self.evaluate(steps)
        self.bar.close()
        out = model_path(self.run_dir, STAGE_MODEL[self.cfg.stage])
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name("model.tmp.zip")
        self.model.save(tmp)
        tmp.replace(out)
        self.checkpoint(steps)
        summary = {"stage": self.cfg.stage, "env_steps": steps, "train_seconds": round(self._train_seconds(), 1),
                   "env_steps_per_s": round(steps / max(self._train_seconds(), 1e-9), 1),
                   "final_success_rate": self.state["curve"][-1]["success_rate"], "curve": self.state["curve"],
                   "relabel_counts": self._counts(), "model": str(out)}
        atomic_write_json(self.dir / "summary.json", summary)
        return summary


def plan_graph(cfg: RLRunConfig, low_model: Any, states: dict[str, np.ndarray]) -> WaypointGraph:
    """The planner's WaypointGraph over `states` (visited by the low level), costed by low_model's critic."""
    return WaypointGraph.build(states, LowLevelDistance(low_model), cfg.plan.nodes, cfg.plan.max_edge_steps, cfg.seed)


def plan_success(cfg: RLRunConfig, graph: WaypointGraph, low_model: Any) -> float:
    """Success rate of the planning agent (graph + low_model) on eval.episodes task episodes."""
    return float(evaluate_success(lambda env: planning_agent(graph, low_model, cfg.high, cfg.low.epsilon), cfg,
                                  cfg.eval.episodes)["success_rate"])


def build_plan(cfg: RLRunConfig, run_dir: Path) -> dict[str, Any]:
    """Stage plan: the waypoint graph over stage low's replay buffer, costed by its critic (no env steps), saved to
    RUN/models/plan/graph.npz, and the planning agent's success on the task."""
    low_file, buffer_file = model_path(run_dir, "low"), run_dir / "stages" / "low" / "checkpoint" / "buffer.npz"
    for f in (low_file, buffer_file):
        if not f.is_file():
            raise InputError(f"{f}: stage 'plan' needs stage low's model and replay buffer in this run directory; train stage low first")
    torch.set_num_threads(1)
    save_config(cfg, run_dir / "stages" / f"{cfg.stage}.yaml")
    save_config(cfg, run_dir / "config.yaml")
    t0 = time.perf_counter()
    low = load_model(low_file)
    graph = plan_graph(cfg, low, buffer_states(buffer_file))
    out = model_path(run_dir, "plan")
    out.parent.mkdir(parents=True, exist_ok=True)
    graph.save(out)
    build_s = time.perf_counter() - t0
    rate = plan_success(cfg, graph, low)
    summary = {"stage": "plan", "env_steps": 0, "train_seconds": round(build_s, 1), "env_steps_per_s": 0.0,
               "final_success_rate": rate, "curve": [{"env_steps": 0, "success_rate": rate}],
               "nodes": len(graph.paths), "connected_pairs": float(np.isfinite(graph.paths).mean()), "model": str(out)}
    (run_dir / "stages" / "plan").mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "stages" / "plan" / "summary.json", summary)
    return summary


def train_rl(cfg: RLRunConfig, run_dir: Path) -> dict[str, Any]:
    """Train the stage cfg.stage into run_dir (resumes an interrupted stage); returns the stage summary."""
    if cfg.stage == "plan":
        return build_plan(cfg, run_dir)
    return StageTrainer(cfg, run_dir).run()


__all__ = ["StageTrainer", "build_plan", "evaluate_success", "train_rl"]
