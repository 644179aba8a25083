"""GCIVL, GCIQL, QRL and CRL (hirl.policies.offline_gc.gcivl / gciql / qrl / crl) checked by hand on a tiny batch: every loss
recomputed here with plain torch ops on the models' fixed weights (OGBench's MLP: Linear -> GELU -> LayerNorm,
re-implemented below), plus the shared pieces on numbers worked out by hand. No ogbench needed."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from hirl.policies.offline_gc.crl import CRL, CRLConfig, contrastive_loss
from hirl.policies.offline_gc.blocks import GCActor, ddpgbc_loss, ogbench_mlp
from hirl.policies.offline_gc.gciql import GCIQL, GCIQLConfig
from hirl.policies.offline_gc.gcivl import GCIVL, GCIVLConfig
from hirl.policies.offline_gc.qrl import QRL, Quasimetric, QRLConfig, iqe

S, G, A, B, H = 3, 2, 2, 5, (4, 4)  # tiny sizes: state, goal, action, batch, hidden widths
SUCCESS = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0])  # rows whose value goal is their own state


# ---------------------------------------------------------------- plain-op re-implementations
def gelu(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))  # exact GELU (hirl's choice over flax's tanh approximation)


def layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-6) * w + b


def mlp(seq: nn.Sequential, x: torch.Tensor, activate_final: bool = False) -> torch.Tensor:
    """OGBench's MLP from the weights of seq: Dense, then GELU and LayerNorm (when seq has LayerNorms) but after the
    last Dense."""
    linears = [m for m in seq if isinstance(m, nn.Linear)]
    norms = [m for m in seq if isinstance(m, nn.LayerNorm)]
    for i, lin in enumerate(linears):
        x = x @ lin.weight.T + lin.bias
        if i + 1 < len(linears) or activate_final:
            x = gelu(x)
            if norms:
                x = layer_norm(x, norms[i].weight, norms[i].bias)
    return x


def actor_mean(actor: GCActor, x: torch.Tensor) -> torch.Tensor:
    h = mlp(actor.trunk, x, activate_final=True)
    return h @ actor.mean_net.weight.T + actor.mean_net.bias


def log_prob(mean: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return -0.5 * ((a - mean) ** 2).sum(-1) - 0.5 * a.shape[-1] * math.log(2 * math.pi)


def expectile_weight(adv: torch.Tensor, e: float) -> torch.Tensor:
    return torch.where(adv >= 0, e, 1 - e)


def awr(adv: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.minimum(torch.exp(alpha * adv), torch.tensor(100.0))


def ddpgbc(q: torch.Tensor, lp: torch.Tensor, alpha: float) -> torch.Tensor:
    return -q.mean() / (q.abs().mean() + 1e-6) - alpha * lp.mean()


# ---------------------------------------------------------------- fixtures
def fix_weights(model: nn.Module) -> None:
    """Deterministic, non-trivial values for every parameter (LayerNorm gains, target copies and scalars included)."""
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            p.copy_(0.6 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.37 + 1.3 * k).reshape(p.shape))


def tiny(model_cls: Callable, config: object) -> nn.Module:
    """The model with fixed weights and normalisers fitted on a few fixed states / goals (non-trivial mean and std)."""
    model = model_cls(config)
    rng = np.random.default_rng(0)
    model.fit(rng.normal(0.5, 2.0, (20, S)), rng.normal(-0.3, 1.5, (20, G)))
    fix_weights(model)
    return model


def tiny_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    return {"obs": r(B, S), "next_obs": r(B, S), "action": torch.rand(B, A, generator=g) * 2 - 1, "value_goal": r(B, G),
            "actor_goal": r(B, G), "reward": SUCCESS - 1, "mask": 1 - SUCCESS, "obs_goal": r(B, G),
            "next_obs_goal": r(B, G)}


def normalised(model: nn.Module, b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """States through the state normaliser, goals through the goal normaliser, by hand."""
    def ns(x: torch.Tensor) -> torch.Tensor:
        return (x - model.norm.mean) / model.norm.std

    def ng(x: torch.Tensor) -> torch.Tensor:
        return (x - model.goal_norm.mean) / model.goal_norm.std

    return {"s": ns(b["obs"]), "s2": ns(b["next_obs"]), "g": ng(b["value_goal"]), "ga": ng(b["actor_goal"]),
            "x": ng(b["obs_goal"]), "x2": ng(b["next_obs_goal"]), "a": b["action"], "r": b["reward"], "m": b["mask"]}


def cat(*xs: torch.Tensor) -> torch.Tensor:
    return torch.cat(xs, -1)


# ---------------------------------------------------------------- the shared pieces, by hand
def test_pieces_on_numbers_worked_out_by_hand() -> None:
    # log N([1, 2]; 0, I) = -0.5 * 5 - log(2 pi)
    lp = GCActor.log_prob(torch.zeros(1, 2), torch.tensor([[1.0, 2.0]]))
    assert lp.item() == pytest.approx(-2.5 - math.log(2 * math.pi), rel=1e-6)
    # DDPG+BC: q = [-2, -4] -> -mean(q) / mean|q| = 3 / 3; bc = -0.5 * mean([-1, -3]) = 1
    total, q_loss, bc_loss = ddpgbc_loss(torch.tensor([-2.0, -4.0]), torch.tensor([-1.0, -3.0]), alpha=0.5)
    assert (q_loss.item(), bc_loss.item(), total.item()) == pytest.approx((1.0, 1.0, 2.0), rel=1e-5)
    # binary NCE with phi = psi = I (2 x 2): logits I / sqrt(2); mean of 2 x softplus(-1/sqrt 2) and 2 x log 2
    loss, _ = contrastive_loss(torch.eye(2)[None], torch.eye(2)[None])
    assert loss.item() == pytest.approx((math.log1p(math.exp(-1 / math.sqrt(2))) + math.log(2)) / 2, rel=1e-6)
    # IQE, one component of 2 intervals: [0, 1] + [2, 3] = 2; [0, 1] u [0.5, 3] = 3; only [0, 2] valid = 2
    x = torch.tensor([[0.0, 2.0], [0.0, 0.5], [1.0, 0.0]])
    y = torch.tensor([[1.0, 3.0], [1.0, 3.0], [0.0, 2.0]])
    np.testing.assert_allclose(iqe(x, y, 2).squeeze(-1).numpy(), [2.0, 3.0, 2.0], rtol=1e-6)
    # MRN, L = 4: sqrt(3^2 + 4^2) + relu(max(1 - 0, 0 - 0.5)) = 6
    mrn = Quasimetric("mrn", 4, 8)
    assert mrn(torch.tensor([[0.0, 0.0, 1.0, 0.0]]), torch.tensor([[3.0, 4.0, 0.0, 0.5]])).item() == pytest.approx(6.0)


def _union_length(lo: list[float], hi: list[float]) -> float:
    """Length of the union of the intervals [lo_i, hi_i] with lo_i < hi_i (a sweep over the sorted intervals)."""
    total, start, end = 0.0, None, None
    for a, b in sorted((a, b) for a, b in zip(lo, hi, strict=True) if a < b):
        if end is None or a > end:
            total += 0.0 if end is None else end - start
            start, end = a, b
        else:
            end = max(end, b)
    return total + (0.0 if end is None else end - start)


def test_iqe_is_the_union_of_intervals_and_mixes_mean_and_max() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(6, 24), torch.randn(6, 24)
    comps = torch.tensor([[_union_length(x[b, 8 * i:8 * i + 8].tolist(), y[b, 8 * i:8 * i + 8].tolist())
                           for i in range(3)] for b in range(6)])
    torch.testing.assert_close(iqe(x, y, 8), comps, rtol=1e-5, atol=1e-5)
    metric = Quasimetric("iqe", 24, 8)
    with torch.no_grad():
        metric.alpha.fill_(0.4)
    mix = torch.sigmoid(torch.tensor(0.4))
    torch.testing.assert_close(metric(x, y), mix * comps.mean(-1) + (1 - mix) * comps.max(-1).values, rtol=1e-5, atol=1e-5)


def test_ogbench_mlp_layout_and_init() -> None:
    net = ogbench_mlp(3, (4, 4, 1), layer_norm=True)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "GELU", "LayerNorm", "Linear", "GELU", "LayerNorm", "Linear"]
    assert all(float(m.bias.detach().abs().max()) == 0 for m in net if isinstance(m, nn.Linear))
    assert net[2].eps == 1e-6
    # the actor's mean layer starts small (OGBench's final_fc_init_scale 1e-2: Xavier bound * 0.1)
    actor = GCActor(5, (64, 64), 2)
    assert float(actor.mean_net.weight.detach().abs().max()) <= 0.1 * math.sqrt(6 / 66) + 1e-6


# ---------------------------------------------------------------- the four losses, by hand
def test_gcivl_loss_by_hand() -> None:
    model = tiny(GCIVL, GCIVLConfig(S, A, G, hidden=H))
    b, c = tiny_batch(), model.config
    n = normalised(model, b)
    with torch.no_grad():
        total, metrics = model.loss(b)

        def V(members: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([mlp(members[j], x).squeeze(-1) for j in range(2)])

        target = model.target_value.net.members
        nt, vt = V(target, cat(n["s2"], n["g"])), V(target, cat(n["s"], n["g"]))
        adv = n["r"] + 0.99 * n["m"] * torch.minimum(nt[0], nt[1]) - (vt[0] + vt[1]) / 2
        v = V(model.value.net.members, cat(n["s"], n["g"]))
        value_loss = sum((expectile_weight(adv, 0.9) * (n["r"] + 0.99 * n["m"] * nt[j] - v[j]) ** 2).mean() for j in range(2))
        adv_a = (V(model.value.net.members, cat(n["s2"], n["ga"])).mean(0)
                 - V(model.value.net.members, cat(n["s"], n["ga"])).mean(0))
        mean = actor_mean(model.actor, cat(n["s"], n["ga"]))
        actor_loss = -(awr(adv_a, c.alpha) * log_prob(mean, n["a"])).mean()
    assert metrics["value_loss"] == pytest.approx(float(value_loss), rel=1e-5)
    assert metrics["actor_loss"] == pytest.approx(float(actor_loss), rel=1e-5)
    assert total.item() == pytest.approx(float(value_loss + actor_loss), rel=1e-5)
    torch.testing.assert_close(model(b["obs"], b["actor_goal"]), mean)  # inference: the actor's mean


@pytest.mark.parametrize("actor_loss", ["ddpgbc", "awr"])
def test_gciql_loss_by_hand(actor_loss: str) -> None:
    model = tiny(GCIQL, GCIQLConfig(S, A, G, hidden=H, actor_loss=actor_loss, alpha=0.7))
    b = tiny_batch(1)
    n = normalised(model, b)
    with torch.no_grad():
        total, metrics = model.loss(b)

        def Q(members: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([mlp(members[j], x).squeeze(-1) for j in range(2)])

        def V(x: torch.Tensor) -> torch.Tensor:
            return mlp(model.value.net.members[0], x).squeeze(-1)

        q_t = Q(model.target_critic.net.members, cat(n["s"], n["g"], n["a"])).min(0).values
        v = V(cat(n["s"], n["g"]))
        value_loss = (expectile_weight(q_t - v, 0.9) * (q_t - v) ** 2).mean()
        y = n["r"] + 0.99 * n["m"] * V(cat(n["s2"], n["g"]))
        q = Q(model.critic.net.members, cat(n["s"], n["g"], n["a"]))
        critic_loss = ((q[0] - y) ** 2 + (q[1] - y) ** 2).mean()
        mean = actor_mean(model.actor, cat(n["s"], n["ga"]))
        lp = log_prob(mean, n["a"])
        if actor_loss == "ddpgbc":
            q_pi = Q(model.critic.net.members, cat(n["s"], n["ga"], mean.clamp(-1, 1))).min(0).values
            actor = ddpgbc(q_pi, lp, 0.7)
        else:
            adv = Q(model.critic.net.members, cat(n["s"], n["ga"], n["a"])).min(0).values - V(cat(n["s"], n["ga"]))
            actor = -(awr(adv, 0.7) * lp).mean()
    assert metrics["value_loss"] == pytest.approx(float(value_loss), rel=1e-5)
    assert metrics["critic_loss"] == pytest.approx(float(critic_loss), rel=1e-5)
    assert metrics["actor_loss"] == pytest.approx(float(actor), rel=1e-5)
    assert total.item() == pytest.approx(float(value_loss + critic_loss + actor), rel=1e-5)


def test_gciql_ddpgbc_actor_gradient_never_reaches_the_critic() -> None:
    model = tiny(GCIQL, GCIQLConfig(S, A, G, hidden=H))
    b = tiny_batch(2)
    n = normalised(model, b)
    total, _ = model.loss(b)
    params = list(model.critic.parameters())
    got = torch.autograd.grad(total, params)
    with torch.no_grad():
        y = n["r"] + 0.99 * n["m"] * mlp(model.value.net.members[0], cat(n["s2"], n["g"])).squeeze(-1)
    q = model.critic(n["s"], n["g"], n["a"])
    want = torch.autograd.grad(((q - y) ** 2).sum(0).mean(), params)  # the critic loss alone
    for g_got, g_want in zip(got, want, strict=True):
        torch.testing.assert_close(g_got, g_want, rtol=1e-5, atol=1e-7)


def _qrl_distance(model: QRL, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d(x, y) by hand: phi by the plain-op MLP, IQE components by the interval sweep, mixed by sigmoid(alpha)."""
    px, py = mlp(model.value.phi, x), mlp(model.value.phi, y)
    return _iqe_by_hand(model, px, py)


def _iqe_by_hand(model: QRL, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    k = model.config.dim_per_component
    comps = torch.tensor([[_union_length(px[i, j:j + k].tolist(), py[i, j:j + k].tolist())
                           for j in range(0, px.shape[1], k)] for i in range(len(px))])
    mix = torch.sigmoid(model.value.metric.alpha)
    return mix * comps.mean(-1) + (1 - mix) * comps.max(-1).values


def test_qrl_loss_by_hand_iqe_ddpgbc() -> None:
    c = QRLConfig(S, A, G, hidden=H, latent_dim=8, dim_per_component=4, alpha=0.2)
    model = tiny(QRL, c)
    b = tiny_batch(3)
    n = normalised(model, b)
    with torch.no_grad():
        total, metrics = model.loss(b)
        d_neg, d_pos = _qrl_distance(model, n["x"], n["g"]), _qrl_distance(model, n["x"], n["x2"])
        lam = math.exp(float(model.log_lam))
        d_neg_loss = (100 * torch.log1p(torch.exp(5 - d_neg / 100))).mean()
        d_pos_loss = (torch.relu(d_pos - 1) ** 2).mean()
        value_loss, lam_loss = d_neg_loss + lam * d_pos_loss, lam * (0.05 - d_pos_loss)
        z, z2 = mlp(model.value.phi, n["x"]), mlp(model.value.phi, n["x2"])
        pred = z + mlp(model.dynamics, cat(z, n["a"]))
        dynamics_loss = (_iqe_by_hand(model, z2, pred) + _iqe_by_hand(model, pred, z2)).mean() / 2
        mean = actor_mean(model.actor, cat(n["s"], n["ga"]))
        zg = mlp(model.value.phi, n["ga"])
        q = -_iqe_by_hand(model, z + mlp(model.dynamics, cat(z, mean.clamp(-1, 1))), zg)
        actor = ddpgbc(q, log_prob(mean, n["a"]), 0.2)
    assert metrics["value_loss"] == pytest.approx(float(value_loss), rel=1e-5)
    assert metrics["lam_loss"] == pytest.approx(float(lam_loss), rel=1e-5, abs=1e-6)
    assert metrics["dynamics_loss"] == pytest.approx(float(dynamics_loss), rel=1e-5)
    assert metrics["actor_loss"] == pytest.approx(float(actor), rel=1e-5)
    assert total.item() == pytest.approx(float(value_loss + lam_loss + dynamics_loss + actor), rel=1e-5)


def test_qrl_loss_by_hand_mrn_awr_and_the_dual_gradient() -> None:
    c = QRLConfig(S, A, G, hidden=H, quasimetric="mrn", latent_dim=6, actor_loss="awr", alpha=2.0, eps=0.01)
    model = tiny(QRL, c)
    assert model.dynamics is None
    b = tiny_batch(4)
    n = normalised(model, b)

    def d(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        px, py = mlp(model.value.phi, x), mlp(model.value.phi, y)
        sym = ((px[:, :3] - py[:, :3]) ** 2).sum(-1).sqrt()
        return sym + torch.relu((px[:, 3:] - py[:, 3:]).max(-1).values)

    total, metrics = model.loss(b)
    with torch.no_grad():
        d_pos_loss = (torch.relu(d(n["x"], n["x2"]) - 1) ** 2).mean()
        adv = d(n["x"], n["ga"]) - d(n["x2"], n["ga"])  # V(s', g) - V(s, g), V = -d
        actor = -(awr(adv, 2.0) * log_prob(actor_mean(model.actor, cat(n["s"], n["ga"])), n["a"])).mean()
    assert metrics["actor_loss"] == pytest.approx(float(actor), rel=1e-5)
    # the multiplier: d loss / d log_lam = lam (eps - constraint); descent raises lam while the constraint is violated
    (grad,) = torch.autograd.grad(total, [model.log_lam])
    lam = model.log_lam.exp().item()
    assert grad.item() == pytest.approx(lam * (0.01 - float(d_pos_loss)), rel=1e-5, abs=1e-7)
    assert (grad.item() < 0) == (float(d_pos_loss) > 0.01)


@pytest.mark.parametrize("actor_loss", ["ddpgbc", "awr"])
def test_crl_loss_by_hand(actor_loss: str) -> None:
    c = CRLConfig(S, A, G, hidden=H, latent_dim=3, actor_loss=actor_loss, alpha=0.5)
    model = tiny(CRL, c)
    b = tiny_batch(5)
    n = normalised(model, b)

    def reps(bil: nn.Module, x: torch.Tensor, g: torch.Tensor, j: int) -> tuple[torch.Tensor, torch.Tensor]:
        return mlp(bil.phi.members[j], x), mlp(bil.psi.members[j], g)

    def nce(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """mean over (i, k, member) of -[y log sigmoid(l) + (1 - y) log(1 - sigmoid(l))], y = 1(i == k)."""
        terms = []
        for phi, psi in pairs:
            logits = phi @ psi.T / math.sqrt(3)
            p = torch.sigmoid(logits)
            y = torch.eye(B)
            terms.append(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))
        return torch.stack(terms).mean()

    def q(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return torch.stack([(lambda p: (p[0] * p[1]).sum(-1) / math.sqrt(3))(reps(model.critic, x, g, j))
                            for j in range(2)]).min(0).values

    with torch.no_grad():
        total, metrics = model.loss(b)
        critic_loss = nce([reps(model.critic, cat(n["s"], n["a"]), n["g"], j) for j in range(2)])
        mean = actor_mean(model.actor, cat(n["s"], n["ga"]))
        lp = log_prob(mean, n["a"])
        value_loss = torch.tensor(0.0)
        if actor_loss == "ddpgbc":
            actor = ddpgbc(q(cat(n["s"], mean.clamp(-1, 1)), n["ga"]), lp, 0.5)
        else:
            value_loss = nce([reps(model.value, n["s"], n["g"], 0)])
            phi, psi = reps(model.value, n["s"], n["ga"], 0)
            adv = q(cat(n["s"], n["a"]), n["ga"]) - (phi * psi).sum(-1) / math.sqrt(3)
            actor = -(awr(adv, 0.5) * lp).mean()
            assert metrics["value_loss"] == pytest.approx(float(value_loss), rel=1e-5)
    assert metrics["critic_loss"] == pytest.approx(float(critic_loss), rel=1e-5)
    assert metrics["actor_loss"] == pytest.approx(float(actor), rel=1e-5)
    assert total.item() == pytest.approx(float(critic_loss + value_loss + actor), rel=1e-5)


def test_gcbc_ogbench_actor_on_raw_inputs_is_ogbenchs_network() -> None:
    """GCBC with actor: ogbench and normalize: false (a run config's networks: {gcbc_cpu: {...}}) is OGBench's GCBC
    network on raw inputs; the defaults are hirl's ReLU MLP on normalised inputs."""
    from hirl.config import FieldError
    from hirl.policies.offline_gc.gcbc import GCBC, GCBCConfig
    from hirl.runs.agents import component
    from tests.ogbench.test_hiql import _tables

    t = _tables()
    comp = component("gcbc_cpu")
    comp.set_network_fields({"actor": "ogbench", "normalize": False})
    model = comp.build(t, None, "text", ("observation",))
    assert isinstance(model.actor, GCActor) and model.config.hidden == (256, 256, 256) and not model.config.normalize
    assert torch.equal(model.norm.mean, torch.zeros(3)) and torch.equal(model.goal_norm.std, torch.ones(3))  # raw
    s, g = torch.as_tensor(t.obs[:4]), torch.as_tensor(t.achieved[:4])
    torch.testing.assert_close(model(s, g), model.actor(torch.cat([s, g], -1)))
    plain = component("gcbc_cpu").build(t, None, "text", ("observation",))
    assert not isinstance(plain.actor, GCActor) and not torch.equal(plain.norm.std, torch.ones(3))  # hirl's default
    with pytest.raises(FieldError, match="actor"):
        GCBCConfig(3, 2, 3, actor="gelu")  # type: ignore[arg-type]
    assert isinstance(GCBC(GCBCConfig(3, 2, 3, hidden=(8,))).fit(t.obs, t.achieved), GCBC)
