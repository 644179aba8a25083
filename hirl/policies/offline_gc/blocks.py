"""OGBench's network blocks and loss pieces (impls/utils/networks.py and impls/agents/*.py of seohongpark/ogbench),
written in PyTorch for hirl's GCIVL, GCIQL, QRL and CRL (HIQL shares the expectile and AWR pieces).

    ogbench_mlp(in, dims)       Linear -> GELU [-> LayerNorm] per layer but the last (all layers with activate_final);
                                weights Xavier-uniform (flax variance_scaling(1, fan_avg, uniform)), biases 0, LayerNorm
                                eps 1e-6 (flax's). GELU is the exact (erf) one, where flax's default is the tanh
                                approximation: the two differ by < 5e-4 everywhere, and PyTorch's CPU kernel for the
                                approximation is ~3x slower (a quarter of a GCIVL step on one core)
    Ensemble(n, in, dims)       n independently initialised MLPs on one input: (B, in) -> (n, B, out) (ensemblize)
    GCValue(in, hidden)         OGBench's GCValue: an MLP on the concatenated inputs [s; g (; a)] -> (2, B) with the
                                ensemble of 2, (B,) without
    GCActor(in, hidden, A)      OGBench's GCActor with const_std: mean (B, A) from an MLP whose last hidden layer is
                                activated (no LayerNorm), then a Linear initialised at scale 1e-2; std 1, no tanh squash
    expectile_loss, awr_weights, awr_loss, ddpgbc_loss, ema_, frozen; check_expectile_tau, check_actor_loss

Shapes: B batch, A action size, n ensemble size."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hirl.config import FieldError

MAX_AWR_WEIGHT = 100.0  # cap of exp(alpha * advantage) (OGBench's)
LAYER_NORM_EPS = 1e-6  # flax.linen.LayerNorm's epsilon
ACTOR_HEAD_SCALE = 1e-2  # OGBench's final_fc_init_scale: variance scale of the actor's mean layer
LOG_2PI = math.log(2 * math.pi)


def _linear(in_dim: int, out_dim: int, scale: float = 1.0) -> nn.Linear:
    """Linear with flax's variance_scaling(scale, fan_avg, uniform) weights (Xavier-uniform, gain sqrt(scale)), bias 0."""
    layer = nn.Linear(int(in_dim), int(out_dim))
    nn.init.xavier_uniform_(layer.weight, gain=math.sqrt(scale))
    nn.init.zeros_(layer.bias)
    return layer


def ogbench_mlp(in_dim: int, dims: Sequence[int], activate_final: bool = False, layer_norm: bool = False) -> nn.Sequential:
    """OGBench's MLP: a Linear per entry of dims (the last one is the output size); GELU, then LayerNorm when
    layer_norm, after every Linear but the last (after the last too when activate_final)."""
    layers: list[nn.Module] = []
    width = int(in_dim)
    for i, size in enumerate(dims):
        layers.append(_linear(width, size))
        if i + 1 < len(dims) or activate_final:
            layers.append(nn.GELU())  # exact (erf) GELU: module docstring
            if layer_norm:
                layers.append(nn.LayerNorm(int(size), eps=LAYER_NORM_EPS))
        width = int(size)
    return nn.Sequential(*layers)


class Ensemble(nn.Module):
    """n independently initialised ogbench_mlp(in_dim, dims, layer_norm=...) on the same input: (B, in) -> (n, B, out)."""

    def __init__(self, n: int, in_dim: int, dims: Sequence[int], layer_norm: bool = True) -> None:
        super().__init__()
        self.members = nn.ModuleList([ogbench_mlp(in_dim, dims, layer_norm=layer_norm) for _ in range(int(n))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members])


class GCValue(nn.Module):
    """OGBench's GCValue: an MLP (hidden..., 1) with LayerNorm on [inputs concatenated]; forward(*inputs (B, .)) ->
    (2, B) for the ensemble of two (ensemble=True), (B,) otherwise."""

    def __init__(self, in_dim: int, hidden: Sequence[int], ensemble: bool = True, layer_norm: bool = True) -> None:
        super().__init__()
        self.ensemble = ensemble
        self.net = Ensemble(2 if ensemble else 1, in_dim, (*hidden, 1), layer_norm)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        v = self.net(torch.cat(inputs, -1)).squeeze(-1)  # (n, B)
        return v if self.ensemble else v[0]


class GCActor(nn.Module):
    """OGBench's GCActor with const_std (std 1) and no tanh squash: mean(x (B, in)) -> (B, A); log_prob(mean, a) ->
    (B,), the log-density of a (B, A) under N(mean, I) (distrax MultivariateNormalDiag's, constant included)."""

    def __init__(self, in_dim: int, hidden: Sequence[int], action_dim: int) -> None:
        super().__init__()
        self.trunk = ogbench_mlp(in_dim, hidden, activate_final=True)
        self.mean_net = _linear(hidden[-1] if hidden else in_dim, action_dim, ACTOR_HEAD_SCALE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mean_net(self.trunk(x))

    @staticmethod
    def log_prob(mean: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return -0.5 * ((action - mean) ** 2).sum(-1) - 0.5 * mean.shape[-1] * LOG_2PI


def expectile_loss(adv: torch.Tensor, diff: torch.Tensor, expectile: float) -> torch.Tensor:
    """(B,) asymmetric squared error: expectile * diff^2 where adv >= 0, (1 - expectile) * diff^2 elsewhere."""
    weight = torch.where(adv >= 0, torch.full_like(adv, expectile), torch.full_like(adv, 1.0 - expectile))
    return weight * diff**2


def awr_weights(adv: torch.Tensor, alpha: float) -> torch.Tensor:
    """(B,) advantage weights exp(alpha * adv), capped at MAX_AWR_WEIGHT."""
    return torch.exp(alpha * adv).clamp(max=MAX_AWR_WEIGHT)


def awr_loss(adv: torch.Tensor, log_prob: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, weights (B,)): -mean(min(exp(alpha adv), 100) log pi(a | s, g)); adv (B,) carries no gradient."""
    w = awr_weights(adv.detach(), alpha)
    return -(w * log_prob).mean(), w


def ddpgbc_loss(q: torch.Tensor, log_prob: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, q_loss, bc_loss): q_loss = -mean(q) / stop_grad(mean|q| + 1e-6) (scale-free), bc_loss = -alpha mean(log pi)
    (OGBench's DDPG+BC); q (B,) is the critic at the actor's clipped mean action."""
    q_loss = -q.mean() / (q.abs().mean() + 1e-6).detach()
    bc_loss = -(alpha * log_prob).mean()
    return q_loss + bc_loss, q_loss, bc_loss


@torch.no_grad()
def ema_(target: nn.Module, online: nn.Module, tau: float) -> None:
    """target <- tau * online + (1 - tau) * target for every parameter (one fused foreach op); buffers copied."""
    torch._foreach_lerp_(list(target.parameters()), list(online.parameters()), tau)
    for tb, b in zip(target.buffers(), online.buffers(), strict=True):
        tb.copy_(b)


def frozen(module: nn.Module, *args: Any) -> Any:
    """module(*args) with its parameters detached: gradient reaches the inputs, never the module (OGBench's calls
    without params=grad_params, e.g. the critic inside the DDPG+BC actor loss)."""
    params = {name: p.detach() for name, p in module.named_parameters()}
    return torch.func.functional_call(module, params, args)


ACTOR_LOSSES = ("awr", "ddpgbc")  # OGBench's actor_loss choices (GCIQL, QRL, CRL)


def check_expectile_tau(expectile: float, tau: float) -> None:
    """FieldError (a ValueError) naming the field unless 0 < expectile < 1 and 0 < tau <= 1."""
    if not 0 < expectile < 1:
        raise FieldError("expectile", f"must be in (0, 1), got {expectile}")
    if not 0 < tau <= 1:
        raise FieldError("tau", f"must be in (0, 1], got {tau}")


def check_actor_loss(actor_loss: str, alpha: float) -> None:
    """FieldError naming the field unless actor_loss is 'awr' / 'ddpgbc' and alpha >= 0."""
    if actor_loss not in ACTOR_LOSSES:
        raise FieldError("actor_loss", f"must be one of {', '.join(ACTOR_LOSSES)}, got {actor_loss!r}")
    if not alpha >= 0:
        raise FieldError("alpha", f"must be >= 0, got {alpha}")
