"""What the contract tests of tests/runs/ share besides the fixtures (tests/runs/conftest.py): the fixture budgets,
FixtureRun (a run directory and what was written into it), which components each fixture run holds, and checks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from hirl.learn.components import ImitationComponent
from hirl.learn.run_config import CollectSpec
from hirl.runs import COMPONENTS, RunDir, run_kind
from hirl.runs.agents import AgentContext, component

TABLETOP = "hirl/Tabletop-v0"
TEXT_ENCODER = "hash"  # the test text encoder (no MiniLM download), TEXT_DIM-d like the real one
OBS_KEYS = ("observation",)  # Dict obs entries the imitation networks read
IMAGE_SIZE = 32  # stored / rendered frame size in px (ImageEncoder needs >= 16)
IMAGE_EVERY = 10  # a camera frame every 10 control steps in the fixture dataset
EPISODE_STEPS = 25  # control steps of an evaluation episode of the imitation fixture run (gym.make max_episode_steps)
COLLECT = CollectSpec(episodes=4, seed=3, workers=1, image_every=IMAGE_EVERY, image_size=IMAGE_SIZE, chain_length=2)

# RL stages in 200 env steps each (as tests/rl/test_stages.py), evaluated on 1 episode
RL_FAST = ["env_kwargs={layout: u, max_episode_steps: 60}", "steps=200", "checkpoint_every=1000", "eval.every=0",
           "eval.episodes=1", "eval.final_episodes=1", "progress=false", "algo.learning_starts=50", "algo.batch_size=16",
           "algo.buffer_size=1000", "algo.net_arch=[16]", "low.episode_steps=20", "high.horizon=10", "plan.nodes=10"]
RL_STAGES = [("low", []), ("plan", []), ("high", ["algo.learning_starts=5"]), ("adapt", []),
             ("flat", ["algo.learning_starts=100"])]  # flat: HER needs a finished 60-step episode before sampling
LANGUAGE_FAST = ["stage=language", f"env={TABLETOP}", "steps=100", "eval.every=0", "eval.episodes=1",
                 "eval.final_episodes=1", "checkpoint_every=1000", "progress=false", "algo.learning_starts=50",
                 "algo.batch_size=16", "algo.net_arch=[16]", "algo.buffer_size=1000", f"language.text_encoder={TEXT_ENCODER}",
                 "language.episode_steps=20"]


def imitation_components() -> list[str]:
    """Every registered component trained by imitation (what the imitation fixture run holds)."""
    return [n for n in COMPONENTS.names() if isinstance(component(n), ImitationComponent)]


# Which components each fixture run of conftest.py holds, known without training it: the agent contracts choose a
# run per agent from this table, so only the runs a test needs are trained.
RL_COMPONENTS = frozenset({"rl_low", "rl_plan", "rl_high", "rl_flat"})  # stages low, plan, high, flat
RL_ADAPTED = frozenset({"rl_low", "rl_high"})  # stage adapt: the fine-tuned low level beside a copy of the high level
RUN_FIXTURES: dict[str, Callable[[], frozenset[str]]] = {
    "imitation_run": lambda: frozenset(imitation_components()),
    "rl_run": lambda: RL_COMPONENTS,
    "rl_language_run": lambda: frozenset({"rl_language"}),
}


@dataclass
class FixtureRun:
    """A run directory and what was written into it.

    components  the components in RUN/models/<name>/; adapted: those in RUN/models/adapted/<name>/"""

    run: RunDir
    components: frozenset[str]
    adapted: frozenset[str] = frozenset()
    _envs: dict[str, gym.Env] = field(default_factory=dict)

    @property
    def kind(self) -> Any:
        return run_kind(self.run.kind())

    @property
    def cfg(self) -> Any:
        return self.kind.load_config(self.run)

    def env(self, render: bool = False) -> gym.Env:
        """The run's evaluation env (made once per render flag; tests reset it with their own seed)."""
        return self.cached_env(f"eval render={render}", lambda: self.kind.make_env(self.cfg, render=render))

    def cached_env(self, key: str, make: Callable[[], gym.Env]) -> gym.Env:
        """make() the first time key is asked for, the same env afterwards (closed with the fixture)."""
        if key not in self._envs:
            self._envs[key] = make()
        return self._envs[key]

    def context(self, env: gym.Env, adapted: bool = False) -> AgentContext:
        """An AgentContext over this run acting in env (what a recipe builds an agent from)."""
        return AgentContext(self.run, self.cfg, self.kind, env, adapted, seed=0)

    def close(self) -> None:
        for env in self._envs.values():
            env.close()


def with_known_bugs(values: list[Any], bugs: dict[Any, str]) -> list[Any]:
    """values as pytest parameters (a tuple: several arguments), those in bugs (bugs found in hirl/ and reported,
    value -> what is wrong) marked as strict expected failures: the test fails as soon as the bug is fixed, so the
    entry is removed with the fix. `pytest --runxfail` shows them failing."""
    out = []
    for v in values:
        args = v if isinstance(v, tuple) else (v,)
        marks = [pytest.mark.xfail(strict=True, reason=bugs[v])] if v in bugs else []
        out.append(pytest.param(*args, marks=marks))
    return out


def check_action(action: Any, env: gym.Env) -> np.ndarray:
    """action as an array, asserted to be one finite action of env's Box action space, inside its bounds."""
    a = np.asarray(action)
    space = env.action_space
    assert isinstance(space, gym.spaces.Box)
    assert a.shape == space.shape, f"action shape {a.shape} != action space shape {space.shape}"
    assert np.isfinite(a).all(), f"non-finite action {a}"
    assert (a >= space.low - 1e-6).all() and (a <= space.high + 1e-6).all(), f"action {a} outside [{space.low}, {space.high}]"
    return a
