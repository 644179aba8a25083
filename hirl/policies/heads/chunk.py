"""Deterministic regression heads: the single-step MLP (`mlp`) and the action-chunk MLP (`chunk`, ACT-style).

    mlp    cond (B, C) -> MLP(hidden) -> (B, A): the default head; a network saved without a head config loads
           into it (same layers and parameter names: head.0.weight, ...)
    chunk  cond (B, C) -> MLP(hidden) -> (B, H * A) -> (B, H, A): H future actions at once

Outputs pass through tanh (the action box is [-1, 1]). With head.grip binary the last action dimension is instead a
logit trained with BCE against (target > 0) and thresholded at 0 (-> +-1) at inference: the gripper is open or
closed, and regressing +-1 with MSE averages the two near a switch (the stacking failures the heads study measured).
Loss: head.loss (mse | l1) over the continuous dims, masked where the chunk ran past the segment end.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hirl.policies.heads.base import ActionHead, grip_sign, masked_mean
from hirl.policies.heads.config import HeadConfig
from hirl.policies.nets import mlp
from hirl.registry import ACTION_HEADS


@ACTION_HEADS.register("chunk")
class ChunkHead(ActionHead):
    """MLP cond (B, C) -> raw (B, H * A); its layers are this module's children "0", "1", ... (as an nn.Sequential's)."""

    def __init__(self, config: HeadConfig, cond_dim: int, action_dim: int, hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__(config, cond_dim, action_dim)
        for i, layer in enumerate(mlp(cond_dim, hidden, self.horizon * self.action_dim)):
            self.add_module(str(i), layer)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        """cond (B, C) -> raw outputs (B, H, A) (before tanh / the grip threshold)."""
        x = cond
        for layer in self.children():
            x = layer(x)
        return x.view(x.shape[0], self.horizon, self.action_dim)

    def _regression(self, err: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return masked_mean(err ** 2 if self.config.loss == "mse" else err.abs(), mask)

    def loss(self, cond: torch.Tensor, action: torch.Tensor,
             mask: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        target = self.as_chunk(action)
        raw = self(cond)
        c = self.config
        mask = None if c.pad_loss else mask
        if c.grip == "regress":
            pred = torch.tanh(raw)
            err = pred - target
            loss = self._regression(err, mask)
            grip_pred = pred[:, 0, -1]
        else:
            err = torch.tanh(raw[..., :-1]) - target[..., :-1]
            logit, closed = raw[..., -1], (target[..., -1] > 0).float()
            bce = nn.functional.binary_cross_entropy_with_logits(logit, closed, reduction="none").unsqueeze(-1)
            loss = self._regression(err, mask) + c.grip_weight * masked_mean(bce, mask)
            grip_pred = logit[:, 0]
        with torch.no_grad():
            grip_ok = (torch.sign(grip_pred) == torch.sign(target[:, 0, -1])).float().mean()
        return loss, {"mae": float(err.detach().abs().mean()), "grip_acc": float(grip_ok)}

    def predict(self, cond: torch.Tensor, generator: torch.Generator | None = None,
                run: HeadConfig | None = None) -> torch.Tensor:
        raw = self(cond)
        if self.config.grip == "regress":
            return torch.tanh(raw)
        return torch.cat([torch.tanh(raw[..., :-1]), grip_sign(raw[..., -1:])], dim=-1)


@ACTION_HEADS.register("mlp")
class MLPHead(ChunkHead):
    """The single-step head (horizon 1): cond (B, C) -> (B, 1, A); with the default config exactly the network and the
    loss of the low levels and baselines before heads existed."""

    def __init__(self, config: HeadConfig, cond_dim: int, action_dim: int, hidden: Sequence[int] = (256, 256)) -> None:
        if config.horizon != 1:
            raise ValueError(f"the mlp head predicts one action (horizon 1), got horizon {config.horizon}")
        super().__init__(config, cond_dim, action_dim, hidden)
