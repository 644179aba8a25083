"""Rollout evaluation of an imitation network while it trains (TrainerConfig.rollout_every): episodes of the agent
that uses it, built by its recipe around the network in memory (the other components from the run), on the run's
own evaluation protocol (env, commands, chain length, eval seeds) through hirl.tracking.rollouts (run_episode).

Which agent tracks a network: the first of the run's agents, then of every registered agent, that uses the network
and whose other components were trained before it in this run (low levels train first, so the language low level is
tracked with the expert's high level, oracle_high, and the language high level with hier_language). A network no
such agent uses (e.g. a state low level, trained before its high level) is trained without rollouts.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hirl.encoders.text import TextEncoder
from hirl.learn.components import ImitationComponent
from hirl.learn.run_config import RunConfig
from hirl.learn.trainer import TrainerConfig
from hirl.runs import RunDir, load_agent, run_kind
from hirl.runs.agents import AGENTS, recipe
from hirl.tracking import RolloutResult, rollouts


def tracking_agent(cfg: RunConfig, name: str, trained: Sequence[str]) -> str | None:
    """The agent whose rollouts track component `name` (module docstring); trained: components trained before it."""
    done = set(trained) | {name}
    for agent in [*cfg.agents, *(a for a in AGENTS.names() if a not in cfg.agents)]:
        r = recipe(agent)
        if name in r.components and set(r.components) <= done:
            return agent
    return None


class ComponentRollouts:
    """A rollout source for the Trainer: step -> RolloutResult of `agent` acting with `net` as it is at that step.
    The env (rendering only when videos are filmed or the agent sees images) and the text encoder are made once."""

    def __init__(self, cfg: RunConfig, run: RunDir, component: ImitationComponent, net: Any, budget: TrainerConfig,
                 agent: str, text_encoder: TextEncoder | None = None) -> None:
        self.cfg, self.run, self.name, self.net, self.budget, self.agent = cfg, run, component.name, net, budget, agent
        self.kind = run_kind("imitation")
        self.setup = self.kind.eval_setup(cfg)
        self._env: Any = None
        self._encoder = text_encoder  # the run's own (MiniLM takes seconds to load); None: made on open()

    def open(self) -> None:
        """Make the env and the text encoder (once); whatever stops them (an env whose package or data is missing)
        raises here."""
        if self._env is None:
            spec, renders = self.budget.tracking, recipe(self.agent).renders()
            self._env = self.kind.make_env(self.cfg, render=renders or spec.videos > 0,
                                           size=self.setup.image_size if renders else spec.video_size)
            if self._encoder is None:
                self._encoder = self.kind.text_encoder(self.cfg)

    def __call__(self, step: int) -> RolloutResult:
        spec, setup = self.budget.tracking, self.setup
        self.open()
        agent = load_agent(self.run, self.agent, self._env, cfg=self.cfg, text_encoder=self._encoder,
                           models={self.name: self._inference_model()})
        return rollouts(self._env, agent, setup.command, episodes=self.budget.rollout_episodes, seed=setup.seed,
                        options=setup.options(setup.chain_length), videos=spec.videos, frame_every=spec.frame_every)

    def _inference_model(self) -> Any:
        """The network as the agents use it: itself on the CPU, else a CPU copy of it (imitation inference runs on
        the CPU, as after loading; a network training on a GPU stays there)."""
        param = next(iter(self.net.parameters()), None)
        if param is None or param.device.type == "cpu":
            return self.net
        return copy.deepcopy(self.net).to("cpu").eval()

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


def component_rollouts(cfg: RunConfig, run: RunDir, component: ImitationComponent, net: Any, budget: TrainerConfig,
                       trained: Sequence[str], text_encoder: TextEncoder | None = None) -> ComponentRollouts | None:
    """The rollout source of component's training, or None when no rollout is due in its budget (rollout_every 0, or
    more than max_steps), no agent can track it yet, or the evaluation env cannot be made here (then one line says
    why: the network trains without rollouts)."""
    if not budget.rollout_every or budget.rollout_every > budget.max_steps:
        return None
    agent = tracking_agent(cfg, component.name, trained)
    if agent is None:
        print(f"rollouts: no agent uses {component.name} with components trained before it; it trains without rollouts")
        return None
    source = ComponentRollouts(cfg, run, component, net, budget, agent, text_encoder)
    try:
        source.open()
    except Exception as exc:  # any reason the env cannot be made: said in one line, the network trains on
        print(f"rollouts: cannot make {cfg.env} to track {component.name} ({type(exc).__name__}: {exc}); "
              "it trains without rollouts")
        source.close()
        return None
    return source
