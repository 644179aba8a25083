"""The RL run's components (SB3 models and the planner's graph), its agents, and the RL run kind.

    component    stored as                            trained by stage   inference wrapper
    rl_low       RUN/models/rl_low/model.zip          low                SB3LowLevel (goal-conditioned)
    rl_high      RUN/models/rl_high/model.zip         high               SB3HighLevel over SubgoalEnv's decode
    rl_flat      RUN/models/rl_flat/model.zip         flat               SB3FlatAgent (a whole agent)
    rl_language  RUN/models/rl_language/model.zip     language           SB3FlatAgent over the instruction env
    rl_plan      RUN/models/rl_plan/graph.npz         plan               GraphPlanner over the low level's critic
    (stage adapt fine-tunes rl_low into RUN/models/adapted/rl_low, beside a copy of rl_high: agent rl_hier+adapt)

    agent      components          what it is
    rl_low     rl_low              the low level alone, aimed at the task's own goal
    rl_hier    rl_high, rl_low     SAC/TD3 high level + low level, replanning when a subgoal is reached or after H steps
    rl_plan    rl_plan, rl_low     the planner over the replay buffer as the high level
    rl_flat    rl_flat             flat SAC+HER baseline on the task's goal
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym

from hirl.config import load_config
from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.completion import StateDistance
from hirl.hierarchy.replan import OnCompletion, ReplanRule
from hirl.integrations import adapter as env_adapter
from hirl.rl.config import RLRunConfig
from hirl.rl.envs import subgoal_env
from hirl.rl.planner import GraphPlanner, LowLevelDistance, WaypointGraph
from hirl.rl.sb3 import MODEL_FILE, load_model
from hirl.rl.sb3_policies import SB3FlatAgent, SB3HighLevel, SB3LowLevel
from hirl.rl.task import evaluation_env
from hirl.runs.agents import AgentContext, AgentRecipe, available_agents
from hirl.runs.components import Component
from hirl.runs.kinds import EvalSetup, RunKind
from hirl.runs.rundir import RunDir

GRAPH_FILE = "graph.npz"  # the planner's waypoint graph inside RUN/models/rl_plan


class SB3Component(Component):
    """An SB3 model (SAC / TD3 read from the zip's metadata) saved as RUN/models/<name>/model.zip."""

    def exists(self, directory: Path) -> bool:
        return (directory / MODEL_FILE).is_file()

    def load(self, directory: Path) -> Any:
        return load_model(directory / MODEL_FILE)


class Low(SB3Component):
    role = "low"
    subgoal = "state"

    def policy(self, model: Any, ctx: AgentContext) -> SB3LowLevel:
        return SB3LowLevel(model)


class High(SB3Component):
    role = "high"
    subgoal = "state"

    def policy(self, model: Any, ctx: AgentContext) -> SB3HighLevel:
        return high_policy(model, SB3LowLevel(ctx.model("rl_low")), ctx.env, high_stage_config(ctx))


class Flat(SB3Component):
    role = "agent"

    def policy(self, model: Any, ctx: AgentContext) -> SB3FlatAgent:
        return SB3FlatAgent(model)


class Language(SB3Component):
    """The language-conditioned low level of stage language: acts on LanguageSubtaskEnv's observations
    (task entries + the instruction embedding), as that stage evaluates it."""

    role = "agent"

    def policy(self, model: Any, ctx: AgentContext) -> Any:
        from hirl.rl.language import PredictAgent  # text encoders: only here

        return PredictAgent(model)


class Plan(Component):
    role = "high"
    subgoal = "state"

    def exists(self, directory: Path) -> bool:
        return (directory / GRAPH_FILE).is_file()

    def load(self, directory: Path) -> WaypointGraph:
        return WaypointGraph.load(directory / GRAPH_FILE)

    def policy(self, model: Any, ctx: AgentContext) -> GraphPlanner:
        return planner_policy(model, ctx.model("rl_low"), high_stage_config(ctx))


def high_stage_config(ctx: AgentContext) -> RLRunConfig:
    """The config stage high was trained with (its HighSpec and subgoal radius), else the run's config."""
    path = ctx.run.stage_config_path("high")
    return load_config(RLRunConfig, path) if path.is_file() else ctx.cfg


def subgoal_rule(spec: RLRunConfig) -> OnCompletion:
    """Ask the high level again when its subgoal is reached (within low.epsilon) or after high.horizon steps: the
    segments the high level was trained on (SubgoalEnv)."""
    return OnCompletion(StateDistance(spec.low.epsilon), spec.high.horizon)


def high_policy(high_model: Any, low: SB3LowLevel, task: gym.Env, spec: RLRunConfig) -> SB3HighLevel:
    """The SB3 high level, its actions decoded into subgoals as SubgoalEnv (over `low` in task) trained it."""
    return SB3HighLevel(high_model, subgoal_env(task, low, spec.high, spec.low.epsilon).decode)


def planner_policy(graph: WaypointGraph, low_model: Any, spec: RLRunConfig) -> GraphPlanner:
    """The graph planner over the low level's critic as the distance, waypoints reached within low.epsilon."""
    return GraphPlanner(graph, LowLevelDistance(low_model), spec.low.epsilon)


def hierarchical_agent(high_model: Any, low_model: Any, task: gym.Env, spec: RLRunConfig) -> HierarchicalAgent:
    """SB3 high level + SB3 low level acting in task, under subgoal_rule(spec)."""
    low = SB3LowLevel(low_model)
    return HierarchicalAgent(high_policy(high_model, low, task, spec), low, subgoal_rule(spec))


def planning_agent(graph: WaypointGraph, low_model: Any, spec: RLRunConfig) -> HierarchicalAgent:
    """The graph planner as the high level over low_model, under subgoal_rule(spec)."""
    return HierarchicalAgent(planner_policy(graph, low_model, spec), SB3LowLevel(low_model), subgoal_rule(spec))


class FlatModel(AgentRecipe):
    """One SB3 model as a whole agent, aimed at the task's own goal."""

    adaptable = False

    def __init__(self, component: str) -> None:
        self.components = (component,)

    def build(self, ctx: AgentContext) -> SB3FlatAgent:
        return SB3FlatAgent(ctx.model(self.components[0]))


rl_low_agent = partial(FlatModel, "rl_low")  # AGENTS "rl_low" (hirl.runs.catalog)
rl_flat_agent = partial(FlatModel, "rl_flat")  # AGENTS "rl_flat"


class RLHierarchical(AgentRecipe):
    components = ("rl_high", "rl_low")

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        return hierarchical_agent(ctx.model("rl_high"), ctx.model("rl_low"), ctx.env, high_stage_config(ctx))


class RLPlanning(AgentRecipe):
    components = ("rl_plan", "rl_low")
    adaptable = False

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        return planning_agent(ctx.model("rl_plan"), ctx.model("rl_low"), high_stage_config(ctx))


RL_AGENTS = ("rl_low", "rl_hier", "rl_flat", "rl_plan")  # the agents of an RL run, in report order


class RLKind(RunKind):
    """RL runs: one run directory trained stage by stage (hirl.rl.stage, `stage:` in the config)."""

    config_cls = RLRunConfig

    def validate(self, cfg: RLRunConfig) -> None:
        from hirl.rl.config import validate

        validate(cfg)

    def train(self, cfg: RLRunConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
        from hirl.rl.stages import train_rl

        return train_rl(cfg, run)

    def describe(self, cfg: RLRunConfig, summary: Any, run: RunDir) -> str:
        return (f"stage {cfg.stage}: {summary['env_steps']} env steps, final success {summary['final_success_rate']:.3f}, "
                f"{summary['env_steps_per_s']} env steps/s; run directory: {run.path}; evaluate with: hirl eval {run.path}")

    def default_agents(self, cfg: RLRunConfig, run: RunDir) -> list[str]:
        return available_agents(run, RL_AGENTS) + available_agents(run, RL_AGENTS, adapted=True)

    def eval_setup(self, cfg: RLRunConfig) -> EvalSetup:
        return EvalSetup(episodes=cfg.eval.final_episodes, seed=cfg.eval.seed, chain_length=1,
                         command=env_adapter(cfg.env).command, options=lambda chain_length: None)

    def make_env(self, cfg: RLRunConfig, render: bool = False, size: int | None = None) -> gym.Env:
        """The task env (eval.mode = goals: stage low's goal-reaching MDP at the curriculum's full radius)."""
        return evaluation_env(cfg, render, size)

    def trained(self, cfg: RLRunConfig, run: RunDir) -> bool:
        """The stage of cfg (the stage trained last) finished: its summary.json (removed when the stage starts)."""
        return run.stage_summary_path(cfg.stage).is_file()

    def longer(self, cfg: RLRunConfig) -> list[str]:
        """Twice the env steps of an env-stepping stage (the plan stage takes none)."""
        return [] if cfg.stage == "plan" else [f"steps={2 * cfg.steps}"]

    def replan_rule(self, ctx: AgentContext) -> ReplanRule:
        """Agents of an RL run that bring their own high level (the expert) replan as the RL high level does."""
        return subgoal_rule(high_stage_config(ctx))
