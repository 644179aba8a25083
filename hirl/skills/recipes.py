"""Skill agents, named "<family>:<argument>" in `agents:` and `hirl eval --agents` (hirl.runs.agents.AGENT_FAMILIES):

    code:FILE             the code policy in FILE (hirl.skills.code_policy) over the run's language low level
    code_expert:FILE      the same policy over the env's scripted expert low level (the reference for the low level)
    affordance:DIR        the SayCan-style high level (hirl.skills.saycan) with the affordance model in DIR over the
                          run's language low level

Each is a SkillAgent: a HierarchicalAgent over the env's skill library (SkillLibrary.for_env): skills end by their
own detector and timeout, and a proposal outside its skill's initiation set is refused (reported in the trace).
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np

from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent
from hirl.policies.base import LowLevelPolicy
from hirl.runs.agents import AgentContext, AgentRecipe
from hirl.skills.code_policy import CodeHighLevel, facts_fn, load_code_policy
from hirl.skills.library import SkillLibrary
from hirl.types import Observation


class SkillAgent(HierarchicalAgent):
    """A HierarchicalAgent whose high level may read the env info of the current step (its `info` attribute, when it
    has one: code policies see info through SkillState)."""

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        high: Any = self.high
        while not hasattr(high, "info") and hasattr(high, "inner"):  # under wrappers (e.g. the latency probe)
            high = high.inner
        if hasattr(high, "info"):
            high.info = info if info is not None else {}
        return super().act(obs, info)


def skill_low_level(ctx: AgentContext, low: str) -> LowLevelPolicy:
    """The low level skills run on: "run" (the run's language low level) or "expert" (the env's scripted one)."""
    if low == "expert":
        return ctx.adapter.expert(ctx.env, 0.0, ctx.seed)[1]
    policy: LowLevelPolicy = ctx.policy("low_language")
    return policy


def skill_agent(ctx: AgentContext, high: Any, low: str, timeout: int) -> SkillAgent:
    library = SkillLibrary.for_env(ctx.cfg.env, timeout=timeout)
    _check_task(ctx, getattr(high, "task", None))
    return SkillAgent(high, skill_low_level(ctx, low), library.termination(ctx.env, timeout),
                      initiation=library.initiation)


def _check_task(ctx: AgentContext, task: str | None) -> None:
    """A high level declaring a goal task (TASK in a code policy) runs only in an env made for that task."""
    made = getattr(ctx.env.unwrapped, "goal_task", None)
    if task is not None and made != task:
        raise InputError(f"the agent solves goal task {task!r} but the env was made with goal_task={made!r}: pass "
                         f"env_kwargs.goal_task={task} (e.g. hirl eval RUN --agents ... env_kwargs.goal_task={task})")


class CodePolicyAgent(AgentRecipe):
    """The code policy in a user's file over the run's (low="run") or the expert's (low="expert") low level."""

    adaptable = False
    trainable = False
    skill_timeout = 300  # control steps before a skill is abandoned (the run's replan timeout default)

    def __init__(self, arg: str, low: str = "run") -> None:
        self.path, self.low = arg, low
        self.components = ("low_language",) if low == "run" else ()

    def build(self, ctx: AgentContext) -> SkillAgent:
        policy = load_code_policy(self.path)
        high = CodeHighLevel(policy, SkillLibrary.for_env(ctx.cfg.env, self.skill_timeout), facts_fn(ctx.cfg.env))
        high.task = policy.task  # type: ignore[attr-defined]
        return skill_agent(ctx, high, self.low, self.skill_timeout)


code_agent = partial(CodePolicyAgent, low="run")  # AGENT_FAMILIES "code" (hirl.runs.catalog)
code_expert_agent = partial(CodePolicyAgent, low="expert")  # AGENT_FAMILIES "code_expert"


class AffordanceAgent(AgentRecipe):
    """The SayCan-style high level (relevance x the affordance model in DIR) over the run's language low level. No
    initiation check: the learned affordance stands in for the env's preconditions (which only label its vetoes)."""

    adaptable = False
    trainable = False
    components = ("low_language",)
    skill_timeout = 300  # control steps before a skill is abandoned (the run's replan timeout default)

    def __init__(self, arg: str) -> None:
        self.directory = arg

    def build(self, ctx: AgentContext) -> SkillAgent:
        from hirl.skills.affordance import AffordanceModel
        from hirl.skills.saycan import AffordanceHighLevel

        library = SkillLibrary.for_env(ctx.cfg.env, self.skill_timeout)
        high = AffordanceHighLevel(library, AffordanceModel.load(self.directory), ctx.encoder(),
                                   admissible=ctx.adapter.can_start)
        return SkillAgent(high, skill_low_level(ctx, "run"), library.termination(ctx.env, self.skill_timeout))

