"""The imitation run's agents and the reference agents, as recipes over registered components.

    hier_<kind>             high_<kind> + low_<kind> under the run's replan rule (kind: language | state | image)
    flat, cot               whole-task baselines (one component each, no separate high level)
    expert                  the scripted expert (noise-free) through the same runtime; nothing trained
    oracle_high             the expert's high level (canonical instructions) driving the run's language low level
    oracle_high_paraphrase  the same, emitting held-out paraphrases the low level never saw
"""
from __future__ import annotations

from typing import Any

import numpy as np

from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent, ReplanRule
from hirl.integrations import EnvAdapter
from hirl.policies.base import HighLevelPolicy
from hirl.policies.scripted import ScriptedHighLevel
from hirl.runs.agents import AGENTS, AgentContext, AgentRecipe
from hirl.types import Command, Subgoal


def replan_rule(ctx: AgentContext) -> ReplanRule:
    """The run's replan rule for two-level agents (the run kind's: cfg.replan for imitation runs)."""
    return ctx.kind.replan_rule(ctx)


class Hierarchical(AgentRecipe):
    """A learned high level and a learned low level under the run's replan rule."""

    def __init__(self, high: str, low: str) -> None:
        self.components = (low, high)

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        low, high = self.components
        return HierarchicalAgent(ctx.policy(high), ctx.policy(low), replan_rule(ctx))


class Whole(AgentRecipe):
    """A component that is a whole agent by itself (flat and chain-of-thought baselines)."""

    def __init__(self, component: str) -> None:
        self.components = (component,)

    def build(self, ctx: AgentContext) -> Any:
        return ctx.policy(self.components[0])


for _kind in ("language", "state", "image"):
    AGENTS.register(f"hier_{_kind}")(lambda k=_kind: Hierarchical(f"high_{k}", f"low_{k}"))
AGENTS.register("flat")(lambda: Whole("flat"))
AGENTS.register("cot")(lambda: Whole("cot"))


@AGENTS.register("expert")
class Expert(AgentRecipe):
    """The env's scripted expert split into its two levels, noise-free, under the run's replan rule."""

    adaptable = False
    trainable = False

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        return HierarchicalAgent(*ctx.adapter.expert(ctx.env, 0.0, ctx.seed), replan_rule(ctx))


@AGENTS.register("oracle_high")
class OracleHigh(AgentRecipe):
    """The expert's high level (canonical instructions) driving the run's language low level."""

    components = ("low_language",)
    trainable = False
    paraphrase = False  # emit a held-out paraphrase of every instruction instead

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        expert_high, _ = ctx.adapter.expert(ctx.env, 0.0, ctx.seed)
        if self.paraphrase:
            expert_high = paraphrasing(expert_high, ctx.adapter, ctx.seed)
        return HierarchicalAgent(expert_high, ctx.policy("low_language"), replan_rule(ctx))


@AGENTS.register("oracle_high_paraphrase")
class OracleHighParaphrase(OracleHigh):
    """oracle_high emitting held-out paraphrases the low level never saw in training."""

    paraphrase = True


def paraphrasing(high: HighLevelPolicy, adapter: EnvAdapter, seed: int) -> HighLevelPolicy:
    """A language high level whose every proposal is replaced by a held-out paraphrase of it (random, seeded)."""
    if adapter.paraphrases is None:
        raise InputError(f"{adapter.env_id} ships no paraphrases: agent 'oracle_high_paraphrase' needs them")
    rng = np.random.default_rng(seed)

    def propose(obs: Any, command: Command) -> Subgoal:
        g = high.propose(obs, command)
        options = adapter.paraphrase_split(str(g.value))[1]
        return Subgoal("language", str(rng.choice(options)) if options else g.value, g.source)

    return ScriptedHighLevel(propose, high.reset)
