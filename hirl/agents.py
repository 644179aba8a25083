"""Rebuild a trained agent of a run directory (RUN/models/<component>) as something run_episode can drive."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.errors import InputError
from hirl.eval.rollout import RolloutAgent
from hirl.hierarchy import HierarchicalAgent, ReplanConfig, build_replan_rule
from hirl.integrations import EnvAdapter
from hirl.learn.imitation import AGENTS, model_dir
from hirl.policies.flat import ChainOfThoughtAgent, FlatAgent
from hirl.policies.high.image import ImageHighLevel
from hirl.policies.high.language import LanguageHighLevel
from hirl.policies.high.state import StateHighLevel
from hirl.policies.base import HighLevelPolicy
from hirl.policies.low.bc import BCLowLevel
from hirl.policies.scripted import ScriptedHighLevel
from hirl.types import Command, Subgoal


ADAPTED_SUFFIX = "+adapt"  # agent-name suffix: the networks after the adapt stage (RUN/models/adapted)
EXPERT = "expert"  # reference agent: the scripted expert (noise-free) through the same runtime; nothing trained
ORACLE_HIGH = "oracle_high"  # the expert's high level (canonical instructions) driving the run's language low level
ORACLE_HIGH_PARAPHRASE = "oracle_high_paraphrase"  # the same, emitting held-out paraphrases the low level never saw
REFERENCE_AGENTS = (EXPERT, ORACLE_HIGH, ORACLE_HIGH_PARAPHRASE)


def parse_agent_name(name: str) -> tuple[str, bool]:
    """"hier_language+adapt" -> ("hier_language", True); InputError for unknown agents."""
    base, adapted = (name[: -len(ADAPTED_SUFFIX)], True) if name.endswith(ADAPTED_SUFFIX) else (name, False)
    if base not in AGENTS and base not in REFERENCE_AGENTS or name == EXPERT + ADAPTED_SUFFIX:
        raise InputError(f"unknown agent {name!r} (known: {', '.join(AGENTS)}, each hierarchical one also with "
                         f"{ADAPTED_SUFFIX}, and the references {', '.join(REFERENCE_AGENTS)})")
    return base, adapted


def models_dir(run_dir: Path, component: str, adapted: bool = False) -> Path:
    path = model_dir(run_dir, component, adapted)
    if not path.is_dir():
        how = "enable adapt: hirl train CONFIG adapt.enabled=true" if adapted else "train it first: hirl train"
        raise InputError(f"{path}: no trained {component} in this run ({how})")
    return path


def _paraphrasing(high: HighLevelPolicy, adapter: EnvAdapter, seed: int) -> HighLevelPolicy:
    """A language high level whose every proposal is replaced by a held-out paraphrase of it (random, seeded)."""
    if adapter.paraphrases is None:
        raise InputError(f"{adapter.env_id} ships no paraphrases: agent {ORACLE_HIGH_PARAPHRASE!r} needs them")
    rng = np.random.default_rng(seed)

    def propose(obs: Any, command: Command) -> Subgoal:
        g = high.propose(obs, command)
        options = adapter.paraphrase_split(str(g.value))[1]
        return Subgoal("language", str(rng.choice(options)) if options else g.value, g.source)

    return ScriptedHighLevel(propose, high.reset)


def load_agent(run_dir: Path, name: str, env: gym.Env, adapter: EnvAdapter, replan: ReplanConfig,
               text_encoder: Any, seed: int = 0) -> RolloutAgent:
    """Agent `name` (a key of AGENTS, optionally + "+adapt") of run_dir, acting in env (image agents render
    it at high-level ticks)."""
    name, adapted = parse_agent_name(name)
    rule = build_replan_rule(replan, adapter.detector_extra(env), seed=seed)
    if name == EXPERT:
        return HierarchicalAgent(*adapter.expert(env, 0.0, seed), rule)
    if name in (ORACLE_HIGH, ORACLE_HIGH_PARAPHRASE):
        expert_high, _ = adapter.expert(env, 0.0, seed)
        low = BCLowLevel.load(models_dir(run_dir, "low_language", adapted), text_encoder)
        if name == ORACLE_HIGH_PARAPHRASE:
            expert_high = _paraphrasing(expert_high, adapter, seed)
        return HierarchicalAgent(expert_high, low, rule)
    if name == "flat":
        return FlatAgent(models_dir(run_dir, "flat", adapted), text_encoder)
    if name == "cot":
        return ChainOfThoughtAgent(models_dir(run_dir, "cot", adapted), text_encoder)
    kind = name.removeprefix("hier_")
    low = BCLowLevel.load(models_dir(run_dir, f"low_{kind}", adapted), text_encoder)
    high_dir = models_dir(run_dir, f"high_{kind}", adapted)
    if kind == "language":
        high: Any = LanguageHighLevel(high_dir, text_encoder)
    elif kind == "state":
        high = StateHighLevel(high_dir, text_encoder)
    else:
        high = ImageHighLevel(high_dir, render=env.render, text_encoder=text_encoder)
    return HierarchicalAgent(high, low, rule)
