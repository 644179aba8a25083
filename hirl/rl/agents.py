"""Trained RL models of a run directory as agents: what stage evaluation and `hirl eval` drive through run_episode.

    RUN/models/low/model.zip          low level (stage low)          agent "rl_low": the low level on the task goal
    RUN/models/high/model.zip         high level (stage high)        agent "rl_hier": high + low
    RUN/models/low_adapted/model.zip  adapted low level (adapt)      agent "rl_hier+adapt": high + adapted low
    RUN/models/flat/model.zip         flat SAC/TD3+HER (stage flat)  agent "rl_flat"
    RUN/models/plan/graph.npz         waypoint graph (stage plan)    agent "rl_plan": planner over the graph + low
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.completion import StateDistance
from hirl.hierarchy.replan import OnCompletion
from hirl.rl.envs import subgoal_env
from hirl.rl.planner import GraphPlanner, LowLevelDistance, WaypointGraph
from hirl.rl.sb3 import SB3FlatAgent, SB3HighLevel, SB3LowLevel, load_model

STAGE_MODEL = {"low": "low", "high": "high", "adapt": "low_adapted", "flat": "flat", "language": "language", "plan": "plan"}  # stage -> model dir
RL_AGENTS = {"rl_low": ("low",), "rl_hier": ("high", "low"), "rl_hier+adapt": ("high", "low_adapted"), "rl_flat": ("flat",),
             "rl_plan": ("plan", "low")}  # agent -> models


def model_path(run_dir: Path, name: str) -> Path:
    """The saved model `name` of run_dir: an SB3 model.zip, or the planner's graph.npz for "plan"."""
    return run_dir / "models" / name / ("graph.npz" if name == "plan" else "model.zip")


def available_agents(run_dir: Path) -> list[str]:
    """The agents whose models all exist in run_dir, in RL_AGENTS order."""
    return [a for a, models in RL_AGENTS.items() if all(model_path(run_dir, m).is_file() for m in models)]


def hierarchical_agent(high_model: Any, low_model: Any, task: gym.Env, high_spec: Any, epsilon: float) -> HierarchicalAgent:
    """High level queried at the start and whenever the low level reaches its subgoal (within epsilon) or has spent
    high_spec.horizon steps on it: the same segments the high level was trained on (SubgoalEnv)."""
    low = SB3LowLevel(low_model)
    decode = subgoal_env(task, low, high_spec, epsilon).decode
    return HierarchicalAgent(SB3HighLevel(high_model, decode), low, OnCompletion(StateDistance(epsilon), high_spec.horizon))


def planning_agent(graph: WaypointGraph, low_model: Any, high_spec: Any, epsilon: float) -> HierarchicalAgent:
    """The graph planner as the high level, asked again when its waypoint is reached or after high_spec.horizon steps."""
    planner = GraphPlanner(graph, LowLevelDistance(low_model), epsilon)
    return HierarchicalAgent(planner, SB3LowLevel(low_model), OnCompletion(StateDistance(epsilon), high_spec.horizon))


def load_rl_agent(run_dir: Path, name: str, task: gym.Env, high_spec: Any, epsilon: float) -> Any:
    """Agent `name` (a key of RL_AGENTS) of run_dir acting in task."""
    if name not in RL_AGENTS:
        raise InputError(f"unknown RL agent {name!r} (known: {', '.join(RL_AGENTS)})")
    if name == "rl_plan":
        return planning_agent(WaypointGraph.load(model_path(run_dir, "plan")), load_model(model_path(run_dir, "low")),
                              high_spec, epsilon)
    models = [load_model(model_path(run_dir, m)) for m in RL_AGENTS[name]]
    if len(models) == 1:
        return SB3FlatAgent(models[0])
    return hierarchical_agent(models[0], models[1], task, high_spec, epsilon)
