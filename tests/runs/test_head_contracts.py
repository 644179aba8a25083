"""Every registered action head (hirl.registry.ACTION_HEADS) builds from a HeadConfig, predicts (B, H, A) actions in
[-1, 1] and has a finite loss that backpropagates; a head without a row in HEAD_CONFIGS fails here."""
from __future__ import annotations

import pytest
import torch

import hirl.policies.heads  # noqa: F401  (registers the heads)
from hirl.policies.heads.base import build_head
from hirl.policies.heads.diffusion import DiffusionHeadConfig
from hirl.policies.heads.config import HeadConfig
from hirl.registry import ACTION_HEADS

HEAD_CONFIGS = {  # name -> a small valid config of it
    "mlp": HeadConfig(kind="mlp"),
    "chunk": HeadConfig(kind="chunk", horizon=4, execute=2),
    "diffusion": DiffusionHeadConfig(kind="diffusion", horizon=4, execute=2, diffusion_train_steps=20, diffusion_steps=4,
                            denoiser_width=32, denoiser_blocks=1),
}


def test_every_registered_head_has_a_contract():
    assert sorted(HEAD_CONFIGS) == ACTION_HEADS.names()


@pytest.mark.parametrize("name", ACTION_HEADS.names())
def test_head_predicts_chunks_in_bounds_and_learns(name):
    torch.manual_seed(0)
    cfg = HEAD_CONFIGS[name]
    head = build_head(cfg, cond_dim=8, action_dim=4, hidden=(16,))
    cond = torch.randn(5, 8)
    out = head.predict(cond)
    assert out.shape == (5, cfg.horizon, 4) and torch.isfinite(out).all() and out.abs().max() <= 1.0
    target = torch.rand(5, cfg.horizon, 4) * 2 - 1

    loss, _ = head.loss(cond, target)
    assert torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
