"""The component registry: every trainable part of an agent, imitation networks and SB3 models alike.

A component is stored at RUN/models/<name>/ (RunDir.model_dir) and knows how to load itself and how to turn the
loaded model into what an agent is made of: a high level, a low level, or a whole agent (flat baselines).
Training hooks live with the learner that trains it (hirl.learn.components for imitation networks: network
class, config builder from the data, sampler, budget; hirl.rl.components for SB3 models: the stage that
trains them). The built-in ones are named in hirl.runs.catalog ("module:attr", imported on first lookup); a plugin
registers its own with the decorator:

    @COMPONENTS.register("low_mine")
    class LowMine(ImitationComponent): ...
"""
from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, Literal

from hirl.registry import Registry
from hirl.runs import catalog

# what policy() returns: HighLevelPolicy | LowLevelPolicy | a whole Agent | a model another level uses ("part")
Role = Literal["high", "low", "agent", "part"]


class Component(abc.ABC):
    """One trainable part of an agent (registered under its name in COMPONENTS).

    role        what policy() builds: "high" (HighLevelPolicy), "low" (LowLevelPolicy), "agent" (a whole Agent)
    subgoal     the subgoal kind a high level emits / a low level reaches ("" for whole agents)
    renders     True when its policy needs camera frames of the env at inference (image subgoals)"""

    name: str = ""  # the registered name (set by hirl.runs.agents.component)
    role: Role = "low"
    subgoal: str = ""
    renders: bool = False

    def exists(self, directory: Path) -> bool:
        """Whether a trained copy of the component is stored in directory."""
        return directory.is_dir()

    @abc.abstractmethod
    def load(self, directory: Path) -> Any:
        """The trained model stored in directory (InputError naming the file when missing or corrupt)."""

    def check_env(self, model: Any, env: Any, directory: Path) -> None:
        """InputError naming directory when the loaded model cannot act in env (e.g. an observation it reads is
        missing); the default checks nothing."""

    @abc.abstractmethod
    def policy(self, model: Any, ctx: Any) -> Any:
        """The inference wrapper of a loaded model, acting in ctx.env (numpy in, numpy out); ctx is the agent's
        hirl.runs.kinds.AgentContext (typed Any here: that module builds on this one)."""


COMPONENTS: Registry[Component] = Registry("component", lazy=catalog.COMPONENTS)


def component(name: str) -> Component:
    """The registered component `name` (its `name` attribute set)."""
    c = COMPONENTS.build(name)
    c.name = name
    return c
