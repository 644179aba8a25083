"""Run directories and the registries of what a run is made of: components, agents (recipes over components)
and run kinds (imitation / RL). `load_agent(RUN, name)` rebuilds any trained agent in one call."""
from hirl.runs.agents import ADAPTED_SUFFIX, AGENTS, AgentContext, AgentRecipe, available_agents, load_agent, parse_agent_name
from hirl.runs.components import COMPONENTS, Component
from hirl.runs.kinds import RUN_KINDS, EvalSetup, RunKind, run_kind
from hirl.runs.rundir import RunDir, config_kind

__all__ = [
    "ADAPTED_SUFFIX", "AGENTS", "COMPONENTS", "RUN_KINDS", "AgentContext", "AgentRecipe", "Component", "EvalSetup",
    "RunDir", "RunKind", "available_agents", "config_kind", "load_agent", "parse_agent_name", "run_kind",
]
