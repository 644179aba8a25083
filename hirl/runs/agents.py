"""The agent registry and the one `load_agent`: an agent is a recipe over a run's components.

    agent = load_agent("runs/demo/run", "hier_language")            # the run's own env is made for it
    agent = load_agent(run, "hier_language+adapt", env)              # components of RUN/models/adapted/

A recipe (registered in AGENTS) names the components it needs and builds the agent from an AgentContext; any
name may carry the suffix "+adapt", which loads every component from RUN/models/adapted/ instead.
"""
from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Mapping, Sequence

import gymnasium as gym

from hirl.errors import InputError
from hirl.registry import Registry
from hirl.runs import catalog
from hirl.runs.components import component
from hirl.runs.kinds import AgentContext, run_kind
from hirl.runs.rundir import RunDir, as_run_dir

if TYPE_CHECKING:
    from hirl.encoders.text import TextEncoder

__all__ = ["ADAPTED_SUFFIX", "AGENTS", "AGENT_FAMILIES", "AgentContext", "AgentRecipe", "available_agents",
           "check_agent_names", "component", "load_agent", "parse_agent_name", "recipe", "run_agents"]

ADAPTED_SUFFIX = "+adapt"  # agent-name suffix: the components after the adapt stage (RUN/models/adapted)


class AgentRecipe(abc.ABC):
    """How one named agent is built from a run's components (registered in AGENTS).

    components   the components it loads (all must exist in the run for the agent to be available)
    adaptable    whether "<name>+adapt" exists (components fine-tuned by an adapt stage)
    trainable    whether a run trains it (False: a reference built over other agents' components or a script)"""

    components: tuple[str, ...] = ()
    adaptable: bool = True
    trainable: bool = True

    def renders(self) -> bool:
        """True when the agent needs camera frames of its env (an image-subgoal component)."""
        return any(component(c).renders for c in self.components)

    @abc.abstractmethod
    def build(self, ctx: AgentContext) -> Any:
        """The agent (hirl.hierarchy.rollout.Agent: reset(command), act(obs, info), ...) acting in ctx.env."""


AGENTS: Registry[AgentRecipe] = Registry("agent", lazy=catalog.AGENTS)
# parameterised agents named "<family>:<argument>" (e.g. "code:examples/skills/tower.py"): family -> recipe(arg)
AGENT_FAMILIES: Registry[AgentRecipe] = Registry("agent family", lazy=catalog.AGENT_FAMILIES)


def recipe(name: str) -> AgentRecipe:
    family, sep, arg = name.partition(":")
    if sep and family in AGENT_FAMILIES:
        return AGENT_FAMILIES.build(family, arg=arg)
    return AGENTS.build(name)


def parse_agent_name(name: str) -> tuple[str, bool]:
    """"hier_language+adapt" -> ("hier_language", True); InputError naming the known agents otherwise."""
    base, adapted = (name[: -len(ADAPTED_SUFFIX)], True) if name.endswith(ADAPTED_SUFFIX) else (name, False)
    family, sep, arg = name.partition(":")
    if sep and family in AGENT_FAMILIES:  # "<family>:<argument>" (never adapted: the argument may end in anything)
        if not arg:
            raise InputError(f"agent {name!r}: {family}: needs an argument ({family}:ARG)")
        return name, False
    if base not in AGENTS or (adapted and not AGENTS.build(base).adaptable):
        adaptable = [n for n in AGENTS.names() if AGENTS.build(n).adaptable]
        raise InputError(f"unknown agent {name!r} (known: {', '.join(AGENTS.names())}; with {ADAPTED_SUFFIX}: "
                         f"{', '.join(adaptable)}; parameterised: {', '.join(f + ':ARG' for f in AGENT_FAMILIES.names())})")
    return base, adapted


def available_agents(run: str | Path | RunDir, names: Sequence[str] | None = None, adapted: bool = False) -> list[str]:
    """The agents (of `names`, default all registered) whose components all exist in the run, in that order."""
    run = as_run_dir(run)
    out = []
    for name in names if names is not None else AGENTS.names():
        r = AGENTS.build(name)
        if r.components and (r.adaptable or not adapted) and all(
                component(c).exists(run.model_dir(c, adapted)) for c in r.components):
            out.append(name + (ADAPTED_SUFFIX if adapted else ""))
    return out


def run_agents(run: str | Path | RunDir) -> list[str]:
    """Every agent the run can evaluate: those whose components it trained, their "+adapt" versions where it holds the
    adapted components, and the agents that need no trained component (the scripted expert)."""
    own = [n for n in AGENTS.names() if not AGENTS.build(n).components]
    return available_agents(run) + available_agents(run, adapted=True) + own


def check_agent_names(run: str | Path | RunDir, names: Sequence[str], flag: str = "--agents") -> None:
    """InputError naming the first of `names` the run cannot evaluate, with the closest name it can ("did you mean")
    and the agents it has (run_agents); `<family>:<argument>` names (code:FILE, ...) are left to their family."""
    import difflib

    have = run_agents(run)
    for name in names:
        family = name.partition(":")[0]
        if name in have or (":" in name and family in AGENT_FAMILIES):
            continue
        close = difflib.get_close_matches(name, have, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise InputError(f"{flag} {name}: not an agent of {as_run_dir(run).path}{hint} (it has: {', '.join(have)})")


def load_agent(run: str | Path | RunDir, name: str, env: gym.Env | None = None, *, seed: int | None = None,
               overrides: Sequence[str] = (), cfg: Any = None, text_encoder: TextEncoder | None = None,
               models: Mapping[str, Any] | None = None) -> Any:
    """Agent `name` (a registered agent, optionally + "+adapt") of the run, acting in env.

    env None: the run's own evaluation env is made for it (rendering where the agent needs frames).
    seed None: the run config's seed. overrides: dotted key=value changes of the run's config (e.g. replan.timeout=100);
    cfg: a config of the run's kind to use instead of RUN/config.yaml. text_encoder: share one encoder between
    several agents (default: the run's, built when a component needs it). models: {component: model} used instead of
    loading those components from the run (e.g. a network while it trains: rollouts during training)."""
    run = as_run_dir(run).require()
    kind = run_kind(run.kind())
    cfg = cfg if cfg is not None else kind.load_config(run, overrides)
    base, adapted = parse_agent_name(name)
    r = recipe(base)
    if env is None:
        env = kind.make_env(cfg, render=r.renders())
    ctx = AgentContext(run, cfg, kind, env, adapted, cfg.seed if seed is None else seed, text_encoder, dict(models or {}))
    return r.build(ctx)
