"""The imitation run's agents and the reference agents, as recipes over registered components.

    hier_<kind>             high_<kind> + low_<kind> under the run's replan rule (kind: language | state | image)
    flat, cot               whole-task baselines (one component each, no separate high level)
    expert                  the scripted expert (noise-free) through the same runtime; nothing trained
    oracle_high             the expert's high level (canonical instructions) driving the run's language low level
    oracle_high_paraphrase  the same, emitting held-out paraphrases the low level never saw
    oracle_high_paraphrase_grounded  the same, each paraphrase grounded to a known skill first (hirl.hierarchy.grounding)
    hier_language_paraphrase  hier_language given the command as a person would type it: text only, each subtask in
                            its held-out paraphrase ([_grounded]: each subtask grounded to a known skill first)
    oracle_state, oracle_image   the expert's own achieved goal / camera frame at the end of its current subtask
                            (ExpertLookahead) driving the run's low_state / low_image: the low level's goal reaching alone
    hier_state_ahead        high_state_ahead + low_state_ahead: state subgoals subgoals.horizon steps ahead, asked
                            every subgoals.interval steps (and when the run's rule fires)
    oracle_state_ahead      the expert's achieved goal subgoals.horizon steps ahead driving low_state_ahead
    hier_image_state        high_image's goal frame read into a state goal by frame_state (ImageAsStateGoal),
                            driving low_state; oracle_image_state: the expert's frame at its subtask's end, read the same
    hier_state[_ahead]_snap  hier_state[_ahead] with each proposal snapped to the nearest goal that a demonstration
                            reached from a nearby state (goal_index[_ahead]: SnappedStateHighLevel)
    (OracleHighPhrasing)    the same, emitting a user's phrasings (hirl eval --instruction-map; not registered)

Both rewordings are one mechanism: a Rephrasing high level over the expert's, with a wording map (canonical
instruction -> text): the env's held-out paraphrases, or one variant of an instruction map. The wrappers live in
hirl.policies.high.rewording, the rule that judges what was proposed in hirl.hierarchy.replan (ProposedSubgoalRule).
"""
from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any
from collections.abc import Mapping

from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent, ProposedSubgoalRule, ReplanRule
from hirl.hierarchy.grounding import SkillGrounder, question
from hirl.hierarchy.replan import DEFAULT_TIMEOUT
from hirl.integrations import EnvAdapter
from hirl.policies.base import HighLevelPolicy
from hirl.policies.high.goal_index import SnappedStateHighLevel
from hirl.policies.high.image_state import ImageAsStateGoal
from hirl.policies.high.lookahead import ExpertLookahead, LookaheadKind
from hirl.policies.high.rewording import CommandRewording, Rephrasing, Wording
from hirl.runs.agents import AgentContext, AgentRecipe


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


class SingleComponent(AgentRecipe):
    """An agent that is one component's policy by itself (flat and chain-of-thought baselines, the goal-conditioned
    offline methods)."""

    def __init__(self, component: str) -> None:
        self.components = (component,)

    def build(self, ctx: AgentContext) -> Any:
        return ctx.policy(self.components[0])


# the factories the catalog names (hirl.runs.catalog.AGENTS) where one class serves several agents
hier_language = partial(Hierarchical, "high_language", "low_language")
hier_state = partial(Hierarchical, "high_state", "low_state")
hier_image = partial(Hierarchical, "high_image", "low_image")


def ahead_rule(ctx: AgentContext) -> ReplanRule:
    """The run's replan rule plus a query every cfg.subgoals.interval steps (the *_ahead agents)."""
    replan = ctx.cfg.replan.with_interval(ctx.cfg.subgoals.interval)
    return ctx.kind.replan_rule(dataclasses.replace(ctx, cfg=dataclasses.replace(ctx.cfg, replan=replan)))


class HierarchicalAhead(Hierarchical):
    """high_state_ahead + low_state_ahead under ahead_rule."""

    def __init__(self) -> None:
        super().__init__("high_state_ahead", "low_state_ahead")

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        low, high = self.components
        return HierarchicalAgent(ctx.policy(high), ctx.policy(low), ahead_rule(ctx))


class SnappedHierarchical(AgentRecipe):
    """A state high level snapped to the goal index's candidates (SnappedStateHighLevel) + its low level; `ahead`:
    the *_ahead components under ahead_rule, else the segment-end ones under the run's rule."""

    def __init__(self, ahead: bool) -> None:
        suffix = "_ahead" if ahead else ""
        self.components = (f"low_state{suffix}", f"high_state{suffix}", f"goal_index{suffix}")
        self.ahead = ahead

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        low, high, index = self.components
        snapped = SnappedStateHighLevel(ctx.policy(high), ctx.policy(index))
        return HierarchicalAgent(snapped, ctx.policy(low), ahead_rule(ctx) if self.ahead else replan_rule(ctx))


hier_state_snap = partial(SnappedHierarchical, ahead=False)
hier_state_ahead_snap = partial(SnappedHierarchical, ahead=True)


def expert_lookahead(ctx: AgentContext, kind: LookaheadKind, horizon: int | None) -> ExpertLookahead:
    """The noise-free scripted expert run ahead in ctx.env: its `kind` subgoal `horizon` steps ahead (None: at the end
    of its current subtask, at most the run's subgoal timeout)."""
    expert_high, expert_low = ctx.adapter.expert(ctx.env, 0.0, ctx.seed)
    return ExpertLookahead(ctx.env, expert_high, expert_low, kind, horizon,
                           max_steps=ctx.cfg.replan.subgoal_steps() or DEFAULT_TIMEOUT)


class OracleLookahead(AgentRecipe):
    """The scripted expert run ahead in the env (ExpertLookahead) as the high level of the run's `low` component:
    subgoals of `kind` at `horizon` steps ahead (cfg.subgoals.horizon, under ahead_rule) or at the end of the expert's
    current subtask (horizon None, under the run's rule)."""

    trainable = False
    adaptable = False

    def __init__(self, low: str, kind: LookaheadKind, ahead: bool) -> None:
        self.components, self.kind, self.ahead = (low,), kind, ahead

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        low = ctx.policy(self.components[0])  # first: a run without the component is one InputError line
        rule = ahead_rule(ctx) if self.ahead else replan_rule(ctx)
        high = expert_lookahead(ctx, self.kind, ctx.cfg.subgoals.horizon if self.ahead else None)
        return HierarchicalAgent(high, low, rule)


class ImageReadAsState(AgentRecipe):
    """An image high level (high_image, or the expert look-ahead's frame with `oracle`) whose goal frame frame_state
    reads into a state goal for low_state, under the run's rule."""

    def __init__(self, oracle: bool) -> None:
        self.components = ("low_state", "frame_state") if oracle else ("low_state", "frame_state", "high_image")
        self.trainable, self.adaptable = not oracle, False

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        low, reader = ctx.policy(self.components[0]), ctx.policy(self.components[1])
        inner = ctx.policy(self.components[2]) if len(self.components) == 3 else expert_lookahead(ctx, "image", None)
        return HierarchicalAgent(ImageAsStateGoal(inner, reader), low, replan_rule(ctx))


hier_image_state = partial(ImageReadAsState, oracle=False)
oracle_image_state = partial(ImageReadAsState, oracle=True)
oracle_state = partial(OracleLookahead, "low_state", "state", ahead=False)
oracle_image = partial(OracleLookahead, "low_image", "image", ahead=False)
oracle_state_ahead = partial(OracleLookahead, "low_state_ahead", "state", ahead=True)
flat = partial(SingleComponent, "flat")
cot = partial(SingleComponent, "cot")


class Expert(AgentRecipe):
    """The env's scripted expert split into its two levels, noise-free, under the run's replan rule."""

    adaptable = False
    trainable = False

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        return HierarchicalAgent(*ctx.adapter.expert(ctx.env, 0.0, ctx.seed), replan_rule(ctx))


class OracleHigh(AgentRecipe):
    """The expert's high level (canonical instructions) driving the run's language low level."""

    components = ("low_language",)
    trainable = False

    def wording(self, ctx: AgentContext) -> Wording | None:
        """canonical instruction -> the text the high level emits instead (None: unchanged); None: canonical text."""
        return None

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        expert_high, _ = ctx.adapter.expert(ctx.env, 0.0, ctx.seed)
        low, rule = ctx.policy("low_language"), replan_rule(ctx)
        wording = self.wording(ctx)
        if wording is None:
            return HierarchicalAgent(expert_high, low, rule)
        high = Rephrasing(expert_high, wording)
        return HierarchicalAgent(high, low, ProposedSubgoalRule(rule, high))


class OracleHighParaphrase(OracleHigh):
    """oracle_high emitting held-out paraphrases the low level never saw in training."""

    def wording(self, ctx: AgentContext) -> Wording:
        return held_out_paraphrases(ctx.adapter)


class OracleHighParaphraseGrounded(OracleHigh):
    """oracle_high_paraphrase with each held-out paraphrase grounded to one of the env's known instructions before the
    low level sees it (a text the grounder is unsure of is passed on as worded, and logged once)."""

    def wording(self, ctx: AgentContext) -> Wording:
        return grounded(held_out_paraphrases(ctx.adapter), skill_grounder(ctx))


class HierLanguageParaphrase(AgentRecipe):
    """hier_language whose command arrives as text only, each subtask in its held-out paraphrase (as a person types
    it: no decomposition given); grounded: each subtask grounded to a known skill before the high level reads it."""

    components = ("low_language", "high_language")
    trainable = False

    def __init__(self, grounded: bool) -> None:
        self.grounded = grounded

    def build(self, ctx: AgentContext) -> HierarchicalAgent:
        wording = held_out_paraphrases(ctx.adapter)
        if self.grounded:
            wording = grounded(wording, skill_grounder(ctx))
        high = CommandRewording(ctx.policy("high_language"), wording)
        return HierarchicalAgent(high, ctx.policy("low_language"), replan_rule(ctx))


hier_language_paraphrase = partial(HierLanguageParaphrase, grounded=False)
hier_language_paraphrase_grounded = partial(HierLanguageParaphrase, grounded=True)


def skill_grounder(ctx: AgentContext) -> SkillGrounder:
    """A grounder over the env's known instructions, with the run's text encoder and what the env's adapter knows."""
    if ctx.adapter.skills is None:
        raise InputError(f"{ctx.adapter.env_id} lists no skills: grounding instructions needs them")
    return SkillGrounder.for_env(ctx.adapter, list(ctx.adapter.skills().values()), ctx.encoder())


def grounded(wording: Wording, grounder: SkillGrounder) -> Wording:
    """wording followed by grounding: the known skill the reworded text stands for; when the grounder is unsure,
    the reworded text itself (the low level gets what it was given) and one logged line per distinct text."""
    import logging

    unsure: set[str] = set()

    def ground(text: str) -> str | None:
        worded = wording(text)
        g = grounder.ground(text if worded is None else worded)
        if g.skill is not None:
            return g.skill
        if g.text not in unsure:
            unsure.add(g.text)
            logging.getLogger(__name__).warning("%s; passed on as worded", question(g))
        return worded

    return ground


class OracleHighPhrasing(OracleHigh):
    """oracle_high emitting a given phrasing of each canonical instruction (`hirl eval --instruction-map`: one
    instance per variant of the map); instructions without a phrasing keep their canonical text; grounded: each
    phrasing grounded to a known skill first (`--ground`). Not registered: built by hirl.eval.evaluate from the map."""

    def __init__(self, phrasings: Mapping[str, str], grounded: bool = False) -> None:
        self.phrasings = dict(phrasings)  # canonical instruction -> the phrasing emitted instead
        self.grounded = grounded

    def wording(self, ctx: AgentContext) -> Wording:
        return grounded(self.phrasings.get, skill_grounder(ctx)) if self.grounded else self.phrasings.get


def held_out_paraphrases(adapter: EnvAdapter) -> Wording:
    """The env's shipped paraphrases as a wording: each instruction -> its held-out paraphrase (the last shipped one,
    never trained on); InputError when the env ships none."""
    if adapter.paraphrases is None:
        raise InputError(f"{adapter.env_id} ships no paraphrases: agent 'oracle_high_paraphrase' needs them")

    def held_out(text: str) -> str | None:
        options = adapter.paraphrase_split(text)[1]
        return options[0] if options else None

    return held_out
