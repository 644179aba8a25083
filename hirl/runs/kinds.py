"""Run kinds: what differs between an imitation run and an RL run, behind one interface, so `hirl train` and
`hirl eval` have one path each. A config's `kind:` key names its kind (no key: imitation).

    kind = run_kind(config_kind(path))
    cfg = kind.read_config(path, overrides)     # the kind's config dataclass
    kind.train(cfg, RunDir(out))                # -> summary dict (also RUN/train_summary.json or the stage's)
    kind.eval_setup(cfg)                        # the evaluation protocol (EvalSetup)
    kind.trained(cfg, run)                      # the training finished (`hirl train RUN` resumes it otherwise)
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from hirl.config import load_config
from hirl.registry import Registry
from hirl.runs.catalog import load_builtins
from hirl.runs.rundir import RunDir
from hirl.types import Command

if TYPE_CHECKING:
    from hirl.encoders.text import TextEncoder
    from hirl.hierarchy.replan import ReplanRule
    from hirl.runs.agents import AgentContext


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
        """The kind's config dataclass from the YAML file at path, with dotted overrides (ConfigError in one line)."""
        return load_config(self.config_cls, path, overrides)

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

    def check(self, cfg: Any) -> None:
        """FieldError naming the key for a name in cfg that training would only look up later (default: none)."""

    def text_encoder(self, cfg: Any) -> TextEncoder | None:
        """The text encoder the run's language components were trained with (None: the kind has none)."""
        return None


RUN_KINDS: Registry[RunKind] = Registry("run kind")


def run_kind(name: str) -> RunKind:
    load_builtins()
    return RUN_KINDS.build(name)
