"""Run kinds: what differs between an imitation run and an RL run, behind one interface, so `hirl train` and
`hirl eval` have one path each. A config's `kind:` key names its kind (no key: imitation).

    kind = run_kind(config_kind(path))
    cfg = kind.read_config(path, overrides)     # the kind's config dataclass
    kind.train(cfg, RunDir(out))                # -> summary dict (also RUN/train_summary.json or the stage's)
    kind.eval_setup(cfg)                        # the evaluation protocol (EvalSetup)
    kind.trained(cfg, run)                      # the training finished (`hirl train RUN` resumes it otherwise)

AgentContext, what an agent recipe builds from, lives here too: it holds its run's RunKind, and a kind builds the
replan rule of an agent from it.
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from hirl.config import FieldError, key_source, load_config, located_error, parse_overrides
from hirl.errors import InputError
from hirl.integrations import EnvAdapter
from hirl.integrations import adapter as env_adapter
from hirl.registry import Registry
from hirl.runs import catalog
from hirl.runs.components import component
from hirl.runs.rundir import RunDir
from hirl.types import Command

if TYPE_CHECKING:
    from hirl.encoders.text import TextEncoder
    from hirl.hierarchy.replan import ReplanRule


@dataclass(frozen=True)
class EvalSetup:
    """The evaluation protocol of a run: episode i uses seed + i and reset options options(chain_length).

    episodes       default number of evaluation episodes per agent
    chain_length   subtasks per evaluation chain (1 where the env has no chains)
    videos         first episodes filmed per agent (> 0: the first failed one too); frame_every control steps between
                   frames; video_size camera px
    image_size     camera size of agents that see images (the dataset's frame size)
    command        reset info -> the episode's Command; options: chain_length -> reset options"""

    episodes: int
    seed: int
    chain_length: int
    command: Callable[[Mapping[str, Any]], Command]
    options: Callable[[int], dict[str, Any] | None]
    videos: int = 0
    frame_every: int = 4
    video_size: int = 320
    image_size: int = 64


class RunKind(abc.ABC):
    """One kind of run (registered in RUN_KINDS under the value of its configs' `kind:` key)."""

    config_cls: type = object

    def read_config(self, path: str | Path, overrides: Sequence[str] = ()) -> Any:
        """The kind's config dataclass from the YAML file at path, with dotted overrides, validated (validate); any
        problem is one ConfigError line naming the file or the override and the key."""
        cfg: Any = load_config(self.config_cls, path, overrides)
        try:
            self.validate(cfg)
        except FieldError as exc:
            raise located_error(exc.field, exc.problem, key_source(path), parse_overrides(overrides).keys()) from None
        return cfg

    def load_config(self, run: RunDir, overrides: Sequence[str] = ()) -> Any:
        return self.read_config(run.config_path, overrides)

    @abc.abstractmethod
    def train(self, cfg: Any, run: RunDir, progress: bool = True) -> dict[str, Any]:
        """Train what cfg asks into the run directory (resumable); returns the training summary."""

    @abc.abstractmethod
    def describe(self, cfg: Any, summary: Mapping[str, Any], run: RunDir) -> str:
        """One line for the terminal after training."""

    @abc.abstractmethod
    def default_agents(self, cfg: Any, run: RunDir) -> list[str]:
        """The agents `hirl eval RUN` evaluates when none are named."""

    @abc.abstractmethod
    def eval_setup(self, cfg: Any) -> EvalSetup:
        """The evaluation protocol of cfg's runs."""

    @abc.abstractmethod
    def make_env(self, cfg: Any, render: bool = False, size: int | None = None) -> gym.Env:
        """The env agents of cfg's runs act in during evaluation (render: rgb_array frames of size x size px)."""

    @abc.abstractmethod
    def replan_rule(self, ctx: AgentContext) -> ReplanRule:
        """The replan rule of the run's agents that are built from a high level and a low level (ctx: the agent's)."""

    def trained(self, cfg: Any, run: RunDir) -> bool:
        """Whether the training cfg asks for has finished in the run (default: RUN/train_summary.json, written last
        and removed when a training starts)."""
        return run.summary_path.is_file()

    def longer(self, cfg: Any) -> list[str]:
        """key=value overrides that train the run further than cfg (`hirl train RUN` shows them for a finished run)."""
        return []

    def validate(self, cfg: Any) -> None:
        """FieldError naming the key for a name in cfg that its registry does not know (agents, stage, rules, ...);
        config constructors check only their own fields (default: nothing to look up)."""

    def check(self, cfg: Any) -> None:
        """FieldError naming the key for a name in cfg that training would only look up later (default: validate)."""
        self.validate(cfg)

    def text_encoder(self, cfg: Any) -> TextEncoder | None:
        """The text encoder the run's language components were trained with (None: the kind has none)."""
        return None


RUN_KINDS: Registry[RunKind] = Registry("run kind", lazy=catalog.RUN_KINDS)


def run_kind(name: str) -> RunKind:
    return RUN_KINDS.build(name)


@dataclass
class AgentContext:
    """What a recipe builds an agent from.

    run       the run directory; cfg its config (the run kind's config class); kind the RunKind
    env       the env the agent will act in (image agents render it at high-level ticks)
    adapted   load components from RUN/models/adapted/
    seed      seed of anything random in the agent (noisy detectors, paraphrase choice)"""

    run: RunDir
    cfg: Any
    kind: RunKind
    env: gym.Env
    adapted: bool = False
    seed: int = 0
    text_encoder: TextEncoder | None = None
    _models: dict[str, Any] = field(default_factory=dict)

    @property
    def adapter(self) -> EnvAdapter:
        return env_adapter(self.cfg.env)

    def encoder(self) -> TextEncoder:
        """The run's text encoder (built once, shared by every component of the agent)."""
        if self.text_encoder is None:
            self.text_encoder = self.kind.text_encoder(self.cfg)
            if self.text_encoder is None:
                raise InputError(f"{self.run.path}: runs of this kind have no text encoder")
        return self.text_encoder

    def model(self, name: str) -> Any:
        """The trained model of component `name` (loaded once)."""
        if name not in self._models:
            c, directory = component(name), self.run.require_model(name, self.adapted)
            model = c.load(directory)
            c.check_env(model, self.env, directory)
            self._models[name] = model
        return self._models[name]

    def policy(self, name: str) -> Any:
        """The inference wrapper of component `name` (a high level, a low level or a whole agent)."""
        return component(name).policy(self.model(name), self)

