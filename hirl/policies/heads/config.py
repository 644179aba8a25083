"""HeadConfig: the `head:` section of a run config and of every action-predicting network's config.json, a tagged
union on `kind:`: the fields every head shares live here; a head with its own fields declares a HeadConfig subclass
beside it (the head class's config_cls, e.g. hirl.policies.heads.diffusion.DiffusionHeadConfig), which the config
loader builds when `kind:` names that head (config_variant).

    head:
      kind: chunk            # mlp | chunk | diffusion (hirl.registry.ACTION_HEADS)
      horizon: 10            # H actions predicted per inference
      execution: receding    # receding (run `execute` of them, re-predict) | ensemble (ACT temporal ensembling)
      execute: 5
      history: 2             # the net sees the current and the previous observation

The defaults are the single-step MLP (one action, MSE, grip regressed like the other dimensions, no history): a
network saved without a head config loads as exactly that. A flat head section that carries every kind's fields
loads: another kind's fields at their defaults are dropped (config_upgrade); one set to something else is an error
naming the key (it has no effect on this kind; `hirl migrate CONFIG` drops it, hirl.learn.migrate).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hirl.config import tagged_class
from hirl.registry import ACTION_HEADS

# fields that only change how a trained head is run (an eval may override them; the weights do not depend on them)
INFERENCE_FIELDS = ("execution", "execute", "ensemble_decay", "diffusion_steps", "diffusion_sampler")


@dataclass(frozen=True)
class HeadConfig:
    """How a policy turns its conditioning features (observation history + goal or command) into actions."""

    kind: str = "mlp"  # action head (ACTION_HEADS): mlp (one action) | chunk (H actions at once) | diffusion (denoised chunk)
    horizon: int = 1  # H, future actions predicted per inference (mlp: 1)
    # receding: run `execute` actions of a chunk, then re-predict; ensemble: re-predict every step, average the overlap (ACT)
    execution: Literal["receding", "ensemble"] = "receding"
    execute: int = 1  # receding horizon: actions executed from each prediction before re-predicting (1..H)
    ensemble_decay: float = 0.01  # ensemble: m of ACT's weights exp(-m*i) over the overlapping predictions, i = 0 the oldest
    loss: Literal["mse", "l1"] = "mse"  # regression loss of the mlp / chunk heads (diffusion fits its noise with MSE)
    # the last action dim: regress (like the others) | binary open/close (a logit with BCE; +-1 by threshold at inference)
    grip: Literal["regress", "binary"] = "regress"
    grip_weight: float = 1.0  # weight of the grip BCE against the regression loss (grip: binary, mlp / chunk)
    history: int = 1  # k, observations the net sees: the current one and the k-1 before it in the episode
    history_pad: Literal["edge", "zero"] = "edge"  # before the episode's first observation: repeat it | zeros
    pad_loss: bool = False  # chunk steps past the segment end (its last action repeated): False not in the loss, True fitted

    @classmethod
    def config_variant(cls, raw: Mapping[str, Any]) -> type:
        """The config class of the head raw's `kind:` names (its head class's config_cls; HeadConfig by default)."""
        if cls is not HeadConfig:
            return cls
        return tagged_class(raw, "kind", head_config_class, "an action head name", "mlp")

    @classmethod
    def config_upgrade(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """raw without the fields of other heads' configs that hold their defaults (a config written when every head
        shared one flat config carries them all); the builder reports any other unknown key."""
        own = {f.name for f in dataclasses.fields(cls)}
        defaults = {f.name: f.default for c in _head_config_classes() for f in dataclasses.fields(c)}
        return {k: v for k, v in raw.items() if k in own or k not in defaults or v != defaults[k]}

    @classmethod
    def config_unknown_hint(cls, key: str) -> str | None:
        """Why a key unknown to this head's config may be in a file: another head kind's field (set to something
        other than its default) from a flat head section; `hirl migrate` drops it."""
        if key in {f.name for c in _head_config_classes() for f in dataclasses.fields(c)}:
            return " (a field of another head kind, no effect on this one; `hirl migrate CONFIG` drops it)"
        return None

    def __post_init__(self) -> None:
        if self.kind not in ACTION_HEADS:
            raise ValueError(f"head.kind must be one of {ACTION_HEADS.names()}, got {self.kind!r}")
        if head_config_class(self.kind) is not type(self):
            raise ValueError(f"head.kind {self.kind} is configured by {head_config_class(self.kind).__name__}, "
                             f"not {type(self).__name__}")
        for name in ("horizon", "execute", "history"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"head.{name} must be >= 1, got {getattr(self, name)}")
        if self.kind == "mlp" and self.horizon != 1:
            raise ValueError(f"head.kind mlp predicts one action (horizon 1), got horizon {self.horizon}; use kind chunk")
        if self.execute > self.horizon:
            raise ValueError(f"head.execute ({self.execute}) must be <= head.horizon ({self.horizon})")
        if self.ensemble_decay < 0 or self.grip_weight < 0:
            raise ValueError("head.ensemble_decay and head.grip_weight must be >= 0")

    @property
    def single_step(self) -> bool:
        """True when every control step is one forward pass on the current observation (today's MLP)."""
        return self.horizon == 1 and self.history == 1

    def run_as(self, other: HeadConfig | None) -> HeadConfig:
        """This (trained) head run with the inference fields of `other` (e.g. a run config's head changed at eval),
        when other describes the same head (kind and horizon); else unchanged."""
        if other is None or other.kind != self.kind or other.horizon != self.horizon:
            return self
        return dataclasses.replace(self, **{f: getattr(other, f) for f in INFERENCE_FIELDS if hasattr(self, f)})


def head_config_class(kind: str) -> type[HeadConfig]:
    """The config class of the registered action head `kind` (its config_cls; HeadConfig when it declares none)."""
    return getattr(ACTION_HEADS.get(kind), "config_cls", HeadConfig)


def foreign_fields(raw: Mapping[str, Any]) -> list[str]:
    """The keys of a raw `head:` section that are fields of another head kind's config but not of its own kind's
    (what a flat head config of an older hirl carries); the kind defaults to mlp."""
    own = {f.name for f in dataclasses.fields(head_config_class(str(raw.get("kind", "mlp"))))}
    every = {f.name for c in _head_config_classes() for f in dataclasses.fields(c)}
    return [k for k in raw if k in every and k not in own]


def _head_config_classes() -> list[type[HeadConfig]]:
    """The config classes of every registered head (HeadConfig first)."""
    return list(dict.fromkeys([HeadConfig, *(head_config_class(k) for k in ACTION_HEADS.names())]))
