"""The one declaration of the expert-collection settings (kept light: `hirl --help` builds its flags from it).

CollectSettings  how to collect: each field and its one-line comment; `hirl collect` generates one flag per field
                 (hirl.cli) and the run config's `collect:` section is CollectSpec (hirl.learn.run_config), the same
                 fields with the run config's defaults.
CollectConfig    CollectSettings plus what to collect on: env, env_kwargs, replan; what hirl.data.collect.collect takes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hirl.config import MAX_EPISODES, SEED_MAX, at_least, in_range
from hirl.data import schema
from hirl.hierarchy.replan import ReplanConfig

MAX_CHAIN_LENGTH = 5  # longest chain a model accepts (hirl.encoders.commands.MAX_SUBTASKS; not imported: torch-free)
MAX_IMAGE_SIZE = 2048  # largest rendered frame side in pixels (a 2048 px RGB frame is 12 MB)


@dataclass(frozen=True)
class CollectSettings:
    """How the scripted expert's demonstrations are collected (the fields `hirl collect` and a run config share)."""

    episodes: int  # number of episodes; episode i uses seed + i
    seed: int = 0  # base seed (collection is deterministic for a seed)
    workers: int = 2  # worker processes (1: collect in this process)
    image_every: int = 0  # keep a camera frame every K control steps (+ the final one); 0: no images
    image_size: int = 128  # rendered frame width = height in pixels
    noise: float = 0.05  # std of the expert's Gaussian action noise
    chain_length: int = 5  # subtasks per chain (chained envs such as Tabletop); passed to adapter.reset_options

    def __post_init__(self) -> None:
        """Every field in range (FieldError naming it: the config loader reports the key, `hirl collect` the flag)."""
        in_range("episodes", self.episodes, 1, MAX_EPISODES)
        in_range("seed", self.seed, 0, SEED_MAX - self.episodes + 1)  # episode i uses seed + i
        at_least("workers", self.workers, 1)
        at_least("image_every", self.image_every, 0)
        in_range("image_size", self.image_size, 8, MAX_IMAGE_SIZE)
        in_range("noise", self.noise, 0.0, 1.0)
        in_range("chain_length", self.chain_length, 1, MAX_CHAIN_LENGTH)


@dataclass(frozen=True, kw_only=True)
class CollectConfig(CollectSettings):
    """A whole collection: the settings and the environment (hirl.data.collect.collect)."""

    env: str  # environment id, e.g. hirl/Tabletop-v0 (a registered hirl.integrations adapter)
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # extra gym.make keyword arguments (e.g. layout)
    replan: ReplanConfig | None = None  # None: chain_progress for language experts, state_distance(0.3) for state experts

    def resolved_replan(self, subgoal_kind: str) -> ReplanConfig:
        return self.replan if self.replan is not None else default_replan(subgoal_kind)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (journal config, dataset metadata); env first, as in the files written so far."""
        d = {"env": self.env} | asdict(self)
        d["replan"] = None if self.replan is None else asdict(self.replan)
        return schema.to_json_safe(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CollectConfig:
        """Inverse of to_dict."""
        d = dict(d)
        if d.get("replan") is not None:
            d["replan"] = ReplanConfig(**d["replan"])
        return cls(**d)


def default_replan(subgoal_kind: str) -> ReplanConfig:
    """The expert's replan rule when a collection config names none (replan: None)."""
    if subgoal_kind == "state":
        return ReplanConfig(detector="state_distance", detector_args={"epsilon": 0.3}, timeout=300)
    # chain_progress, not env_predicate: a toggle subtask's predicate ("push the button": light != light at
    # subtask start) is relative to the env's current subtask, which has already moved on when the expert's
    # subgoal is checked, so env_predicate fired only after a second toggle (segments with a double press).
    return ReplanConfig(detector="chain_progress", timeout=300)
