"""Stage plan: the waypoint graph over stage low's replay buffer, costed by its critic (hirl.rl.planner; no env
steps), saved to RUN/models/rl_plan/graph.npz, and the planning agent's success on the task (also what stage low
reports at every learning-curve point with plan.eval_during_low)."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.rl.components import GRAPH_FILE, planning_agent
from hirl.rl.config import RLRunConfig
from hirl.rl.planner import LowLevelDistance, WaypointGraph, buffer_states, replay_states
from hirl.rl.sb3 import MODEL_FILE, load_model
from hirl.rl.stage import Stage
from hirl.rl.task import evaluate_success
from hirl.runs import RunDir


def plan_graph(cfg: RLRunConfig, low_model: Any, states: dict[str, np.ndarray]) -> WaypointGraph:
    """The planner's WaypointGraph over `states` {key: (N, ...)} (visited by the low level), costed by low_model's critic."""
    return WaypointGraph.build(states, LowLevelDistance(low_model), cfg.plan.nodes, cfg.plan.max_edge_steps, cfg.seed)


def plan_success(cfg: RLRunConfig, graph: WaypointGraph, low_model: Any) -> float:
    """Success rate of the planning agent (graph + low_model) on eval.episodes task episodes."""
    return float(evaluate_success(lambda env: planning_agent(graph, low_model, cfg), cfg,
                                  cfg.eval.episodes)["success_rate"])


def planner_metrics(cfg: RLRunConfig, low_model: Any) -> dict[str, float]:
    """{"plan_success_rate": ...} of the planning agent on what the (training) low level has so far: its current
    replay buffer and critic."""
    graph = plan_graph(cfg, low_model, replay_states(low_model.replay_buffer))
    return {"plan_success_rate": plan_success(cfg, graph, low_model)}


class PlanStage(Stage):
    """Builds the graph from RUN/models/rl_low and RUN/train/low/checkpoint/buffer.npz (0 env steps)."""

    output = "rl_plan"

    def train(self, cfg: RLRunConfig, run: RunDir) -> dict[str, Any]:
        low_file = run.model_dir("rl_low") / MODEL_FILE
        buffer_file = run.train_dir("low") / "checkpoint" / "buffer.npz"
        for f in (low_file, buffer_file):
            if not f.is_file():
                raise InputError(f"{f}: stage 'plan' needs stage low's model and replay buffer in this run directory; "
                                 "train stage low first")
        self.start(cfg, run)
        t0 = time.perf_counter()
        low = load_model(low_file)
        graph = plan_graph(cfg, low, buffer_states(buffer_file))
        out = self.output_dir(run) / GRAPH_FILE
        out.parent.mkdir(parents=True, exist_ok=True)
        graph.save(out)
        build_s = time.perf_counter() - t0
        rate = plan_success(cfg, graph, low)
        summary = {"stage": "plan", "env_steps": 0, "train_seconds": round(build_s, 1), "env_steps_per_s": 0.0,
                   "final_success_rate": rate, "curve": [{"env_steps": 0, "success_rate": rate}],
                   "nodes": len(graph.paths), "connected_pairs": float(np.isfinite(graph.paths).mean()), "model": str(out)}
        atomic_write_json(run.stage_summary_path("plan"), summary)
        return summary
