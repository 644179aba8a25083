"""The action-head interface every policy network shares, and its registry lookup.

    head = build_head(config.head, cond_dim=C, action_dim=A, hidden=(256, 256))   # an ActionHead (nn.Module)
    loss, metrics = head.loss(cond, action, mask)     # cond (B, C); action (B, H, A) or (B, A); mask (B, H) or None
    chunk = head.predict(cond)                        # (B, H, A) in [-1, 1] (grip +-1 when head.grip is binary)

`cond` is whatever the network conditions on, already encoded: for the goal-conditioned low levels the
observation-history features and the goal encoder's output (GOAL_ENCODERS: language / state / image), for the flat
and chain-of-thought baselines the command trunk's features. A head never sees raw observations or goals, so
every head works with every subgoal kind and every network.

Adding a head: one decorated ActionHead subclass (@ACTION_HEADS.register("mine")) imported by
hirl.policies.heads; its __init__(config, cond_dim, action_dim, hidden) builds the modules.
"""
from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from hirl.policies.heads.config import HeadConfig
from hirl.registry import ACTION_HEADS


class ActionHead(nn.Module, abc.ABC):
    """cond (B, C) -> an action chunk (B, H, A), H = config.horizon (1 for the single-step MLP).

    loss(cond, action, mask)  action (B, H, A) targets in [-1, 1] ((B, A) is read as H = 1); mask (B, H) float/bool,
                              1 where the target is a real action of the segment, None = all real
    predict(cond, generator, run)  (B, H, A) in [-1, 1]; deterministic heads ignore generator; run: a HeadConfig whose
                              inference fields (INFERENCE_FIELDS, e.g. diffusion_steps) replace the trained ones"""

    config_cls: ClassVar[type[HeadConfig]] = HeadConfig  # the `head:` config of this kind (a subclass adds its fields)

    def __init__(self, config: HeadConfig, cond_dim: int, action_dim: int) -> None:
        super().__init__()
        if cond_dim < 1 or action_dim < 1:
            raise ValueError(f"action head sizes must be >= 1, got cond_dim={cond_dim}, action_dim={action_dim}")
        if config.grip == "binary" and action_dim < 2:
            raise ValueError("head.grip binary needs an action with a gripper dimension (the last) and at least one other")
        self.config, self.cond_dim, self.action_dim = config, int(cond_dim), int(action_dim)

    @property
    def horizon(self) -> int:
        return int(self.config.horizon)

    @abc.abstractmethod
    def loss(self, cond: torch.Tensor, action: torch.Tensor,
             mask: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar training loss and float metrics."""

    @abc.abstractmethod
    def predict(self, cond: torch.Tensor, generator: torch.Generator | None = None,
                run: HeadConfig | None = None) -> torch.Tensor:
        """(B, H, A) actions in [-1, 1]."""

    def as_chunk(self, action: torch.Tensor) -> torch.Tensor:
        """Targets (B, A) or (B, H, A) -> (B, H, A) float (ValueError on another horizon)."""
        target = action.float()
        if target.ndim == 2:
            target = target.unsqueeze(1)
        if target.ndim != 3 or target.shape[1] != self.horizon or target.shape[2] != self.action_dim:
            raise ValueError(f"{type(self).__name__}: action targets must be (B, {self.horizon}, {self.action_dim}), "
                             f"got {tuple(action.shape)}")
        return target


def build_head(config: HeadConfig, cond_dim: int, action_dim: int, hidden: Sequence[int]) -> ActionHead:
    """The registered head config.kind over cond_dim conditioning features (hidden: the network's head widths)."""
    head: ActionHead = ACTION_HEADS.build(config.kind, config=config, cond_dim=cond_dim, action_dim=action_dim,
                                          hidden=tuple(hidden))
    return head


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of values (B, H, D) over the entries whose mask (B, H) is set (all when mask is None)."""
    if mask is None:
        return values.mean()
    w = mask.to(values.dtype).unsqueeze(-1)
    return (values * w).sum() / (w.sum() * values.shape[-1]).clamp_min(1.0)


def grip_sign(x: torch.Tensor) -> torch.Tensor:
    """Open / close: +1 where x > 0, else -1 (same dtype)."""
    return torch.where(x > 0, torch.ones_like(x), -torch.ones_like(x))
