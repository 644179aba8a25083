"""QRL (quasimetric RL, Wang et al. 2023, as OGBench implements it in impls/agents/qrl.py). One module holding a
quasimetric value, a learnable Lagrange multiplier, a latent dynamics model (DDPG+BC only) and an actor, trained by
one loss on hirl.learn.offline_gc.sampling batches; no target network.

    phi(x) in R^L          an MLP (LayerNorm) on a goal-space point x (G,): both the state's achieved goal and the goal
    d(s, g)                quasimetric between phi(s) and phi(g): IQE (default; L / 8 components of 8: per component
                           the length of the union of the intervals [phi(s)_i, phi(g)_i] with phi(s)_i < phi(g)_i;
                           d = a mean + (1 - a) max over components, a = sigmoid(learned scalar, init 0)) or MRN
                           (Euclidean distance of the first halves + relu(max(second-half differences)))
    value loss             d_neg = d(s, g) on random goals, d_pos = d(s, s'): 100 softplus(5 - d_neg / 100) pushes
                           random pairs apart, relu(d_pos - 1)^2 keeps one step within 1 (constraint <= eps):
                           value = mean(100 softplus(5 - d_neg / 100)) + stop_grad(lam) mean(relu(d_pos - 1)^2)
    multiplier             lam = exp(log_lam), log_lam a parameter (init 0, lam = 1) in the same optimizer; its term
                           lam (eps - stop_grad(mean(relu(d_pos - 1)^2))) has gradient lam (eps - constraint) w.r.t.
                           log_lam, so gradient DEScent on the one loss raises lam while the constraint exceeds eps and
                           lowers it otherwise: dual ascent on the Lagrangian, exactly OGBench's lam_loss
    dynamics (ddpgbc)      z' = phi(s) + f([phi(s); a]), f an MLP (LayerNorm) to R^L; loss (d(phi(s'), z') + d(z', phi(s')))
                           / 2 (trains phi, the metric and f)
    actor, ddpgbc          (default) mu = mean of pi(s, g); q = -d(phi(s) + f([phi(s); clip(mu)]), phi(g)) with phi, f and
                           the metric frozen (gradient to the actor only); loss -mean(q) / stop_grad(mean|q|)
                           - alpha mean(log pi(a | s, g))
    actor, awr             weight min(exp(alpha (d(s, g) - d(s', g))), 100) (V = -d), loss -mean(w log pi(a | s, g))
    inference              a = clip(mu(s, g), -1, 1)

phi reads goal-space points: the state's achieved goal (batch obs_goal / next_obs_goal), which for OGBench envs is
the observation itself, so the value is OGBench's there, and the goal; both through the goal normaliser (one phi
needs one normalisation). The actor reads [s; g] like every other method. Defaults are OGBench's get_config() (IQE, latent
512, eps 0.05, ddpgbc, alpha 0.003; value goals random only; discount 0.99 only sets the geometric goal offset).
Per env (hirl.policies.offline_gc.hyperparameters): alpha 0.0003 for pointmaze-large-navigate (giant: discount 0.995), 0.3 for
puzzle-3x3-play, cube-single-play and scene-play, 0.03 for noisy datasets. Deliberate differences: inputs are
normalised by the data's mean / std (OGBench feeds them raw). Shapes: S state, G goal, A action, L latent, B batch."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from hirl.config import FieldError
from hirl.policies.offline_gc.blocks import GCActor, awr_loss, check_actor_loss, ddpgbc_loss, frozen, ogbench_mlp
from hirl.policies.offline_gc.goal_sampling import GoalSamplingConfig, sampling_of
from hirl.policies.offline_gc.gcbc import HIDDEN, StateGoalModule


@dataclass
class QRLConfig(GoalSamplingConfig):
    obs_dim: int  # S: state size
    action_dim: int  # A
    goal_dim: int  # G: goal size (achieved goals; phi's input)
    obs_keys: tuple[str, ...] = ("observation",)  # Dict obs entries read as the state
    hidden: tuple[int, ...] = HIDDEN  # actor, phi and dynamics MLP widths (OGBench: 512 x 3)
    layer_norm: bool = True  # LayerNorm in phi and the dynamics MLP (OGBench's)
    quasimetric: Literal["iqe", "mrn"] = "iqe"  # value parameterisation (OGBench's default: iqe)
    latent_dim: int = 512  # L: phi's output size (OGBench's)
    dim_per_component: int = 8  # IQE's intervals per component (OGBench's); latent_dim must be a multiple
    eps: float = 0.05  # margin of the one-step constraint (OGBench's)
    actor_loss: Literal["ddpgbc", "awr"] = "ddpgbc"  # DDPG+BC through the latent dynamics, or AWR (OGBench: ddpgbc)
    alpha: float = 0.003  # BC coefficient (ddpgbc) or AWR inverse temperature (OGBench's default; per env: hyperparameters.py)
    value_p_cur: float = field(default=0.0, kw_only=True)  # P(value goal = current state) (OGBench's)
    value_p_traj: float = field(default=0.0, kw_only=True)  # P(value goal = future state) (OGBench's)
    value_p_random: float = field(default=1.0, kw_only=True)  # P(value goal = random state) (OGBench's: random pairs)
    text_encoder: str = "text"  # the run's text encoder name (unused: no language input)
    normalize: bool = True  # states and goals by the data's mean / std (hirl's); False: raw inputs (OGBench's)

    def __post_init__(self) -> None:
        if self.quasimetric not in ("iqe", "mrn"):
            raise FieldError("quasimetric", f"must be one of iqe, mrn, got {self.quasimetric!r}")
        if self.quasimetric == "iqe" and self.latent_dim % self.dim_per_component:
            raise FieldError("latent_dim", f"must be a multiple of dim_per_component {self.dim_per_component} for IQE, "
                             f"got {self.latent_dim}")
        if self.quasimetric == "mrn" and self.latent_dim % 2:
            raise FieldError("latent_dim", f"must be even for MRN, got {self.latent_dim}")
        if not self.eps >= 0:
            raise FieldError("eps", f"must be >= 0, got {self.eps}")
        check_actor_loss(self.actor_loss, self.alpha)
        sampling_of(self)  # ValueError naming the discount / goal-probability field


def iqe(x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """(B, C) IQE components of x, y (B, C * k): per component, the total length of the union of the intervals
    [x_i, y_i] over the i with x_i < y_i (OGBench's sort-and-cumsum formulation; gradient through the sorted ends)."""
    x = x.reshape(*x.shape[:-1], -1, k)
    y = y.reshape(*y.shape[:-1], -1, k)
    x, y = torch.broadcast_tensors(x, y)
    valid = x < y
    sxy, ixy = torch.sort(torch.cat([x, y], -1), dim=-1, stable=True)
    # +1 at an interval's start (x_i), -1 at its end (y_i), for valid intervals only; negated as OGBench writes it
    neg_inc = torch.gather(valid, -1, ixy % k).to(x.dtype) * torch.where(ixy < k, -1.0, 1.0).to(x.dtype)
    neg_f = -1.0 * (torch.cumsum(neg_inc, -1) < 0).to(x.dtype)  # -1 inside the union of the intervals
    neg_incf = torch.cat([neg_f[..., :1], neg_f[..., 1:] - neg_f[..., :-1]], -1)
    return (sxy * neg_incf).sum(-1)


class Quasimetric(nn.Module):
    """d(phi_s, phi_g) (B,) between latents (B, L): IQE (with its learned mixing scalar) or MRN."""

    def __init__(self, kind: str, latent_dim: int, dim_per_component: int) -> None:
        super().__init__()
        self.kind, self.latent_dim, self.k = kind, latent_dim, dim_per_component
        self.alpha = nn.Parameter(torch.zeros(()))  # IQE: mixing weight sigmoid(alpha) of mean vs max (OGBench's Param)

    def forward(self, phi_s: torch.Tensor, phi_g: torch.Tensor) -> torch.Tensor:
        if self.kind == "mrn":
            h = self.latent_dim // 2
            sym = ((phi_s[..., :h] - phi_g[..., :h]) ** 2).sum(-1).clamp_min(1e-12).sqrt()
            return sym + torch.relu((phi_s[..., h:] - phi_g[..., h:]).max(-1).values)
        comps = iqe(phi_s, phi_g, self.k)
        a = torch.sigmoid(self.alpha)
        return a * comps.mean(-1) + (1 - a) * comps.max(-1).values


class QuasimetricValue(nn.Module):
    """d(x, y) (B,) for goal-space points x, y (B, G) (normalised): metric(phi(x), phi(y))."""

    def __init__(self, goal_dim: int, hidden: tuple[int, ...], latent_dim: int, kind: str, dim_per_component: int,
                 layer_norm: bool) -> None:
        super().__init__()
        self.phi = ogbench_mlp(goal_dim, (*hidden, latent_dim), layer_norm=layer_norm)
        self.metric = Quasimetric(kind, latent_dim, dim_per_component)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.metric(self.phi(x), self.phi(y))


class QRL(StateGoalModule):
    """The QRL networks and loss (module docstring); inputs are raw states / goals, normalised inside."""

    config_cls = QRLConfig
    # the GoalSampler entries loss() reads (the sampler gathers only these)
    batch_keys = frozenset({"obs", "action", "value_goal", "actor_goal", "obs_goal", "next_obs_goal"})

    def __init__(self, config: QRLConfig) -> None:
        super().__init__(config.obs_dim, config.goal_dim, config.normalize)
        self.config = config
        S, G, A, L = config.obs_dim, config.goal_dim, config.action_dim, config.latent_dim
        self.value = QuasimetricValue(G, config.hidden, L, config.quasimetric, config.dim_per_component, config.layer_norm)
        self.log_lam = nn.Parameter(torch.zeros(()))  # log of the Lagrange multiplier (OGBench's LogParam, init 1)
        self.dynamics = (ogbench_mlp(L + A, (*config.hidden, L), layer_norm=config.layer_norm)
                         if config.actor_loss == "ddpgbc" else None)
        self.actor = GCActor(S + G, config.hidden, A)

    def forward(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """(B, A) the actor's mean action for raw states (B, S) and goals (B, G)."""
        return self.actor(torch.cat([self.norm(obs), self.goal_norm(goal)], -1))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, gn = self.config, self.goal_norm
        x, x2, g, ga = gn(batch["obs_goal"]), gn(batch["next_obs_goal"]), gn(batch["value_goal"]), gn(batch["actor_goal"])
        a = batch["action"]
        # phi of the state, its random goal and its next state in one pass (trained by the value and dynamics losses;
        # OGBench calls phi once per use and XLA merges the repeats, eager PyTorch would not)
        z, z_goal, z2 = self.value.phi(torch.cat([x, g, x2])).split(len(x))
        # value: random pairs apart, one step within 1, under the dual variable
        d_neg, d_pos = self.value.metric(z, z_goal), self.value.metric(z, z2)
        lam = self.log_lam.exp()
        d_neg_loss = (100 * nn.functional.softplus(5 - d_neg / 100)).mean()
        d_pos_loss = (torch.relu(d_pos - 1) ** 2).mean()
        value_loss = d_neg_loss + d_pos_loss * lam.detach()
        lam_loss = lam * (c.eps - d_pos_loss.detach())
        metrics = {"value_loss": value_loss.detach(), "lam_loss": lam_loss.detach(), "lam": lam.detach(),
                   "d_neg_mean": d_neg.mean().detach(), "d_pos_mean": d_pos.mean().detach(), "d_pos_loss": d_pos_loss.detach()}
        mean = self.actor(torch.cat([self.norm(batch["obs"]), ga], -1))
        log_prob = GCActor.log_prob(mean, a)
        if self.dynamics is not None:
            dynamics_loss = self._dynamics_loss(z, z2, a)
            actor_loss, q = self._ddpgbc_loss(z.detach(), ga, mean, log_prob)
            total = value_loss + lam_loss + dynamics_loss + actor_loss
            metrics.update(dynamics_loss=dynamics_loss.detach(), q_mean=q.mean().detach())
        else:
            with torch.no_grad():
                adv = self.value(x, ga) - self.value(x2, ga)  # V(s', g) - V(s, g) with V = -d
            actor_loss, w = awr_loss(adv, log_prob, c.alpha)
            total = value_loss + lam_loss + actor_loss
            metrics.update(adv=adv.mean().detach(), w_mean=w.mean().detach())
        return total, {**metrics, "actor_loss": actor_loss.detach(), "bc_log_prob": log_prob.mean().detach(),
                       "mse": ((mean - a) ** 2).mean().detach()}

    def _dynamics_loss(self, z: torch.Tensor, z2: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """mean(d(phi(s'), z') + d(z', phi(s'))) / 2 with z' = phi(s) + f([phi(s); a]); z = phi(s), z2 = phi(s') (B, L)."""
        assert self.dynamics is not None
        pred = z + self.dynamics(torch.cat([z, a], -1))
        return (self.value.metric(z2, pred) + self.value.metric(pred, z2)).mean() / 2

    def _ddpgbc_loss(self, z: torch.Tensor, ga: torch.Tensor, mean: torch.Tensor,
                     log_prob: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(actor loss, q (B,)): q = -d(phi(s) + f([phi(s); clip(mu)]), phi(g)), gradient to the actor only; z = phi(s)
        (B, L) without gradient, ga (B, G) normalised actor goals."""
        assert self.dynamics is not None
        with torch.no_grad():
            zg = self.value.phi(ga)
        pred = z + frozen(self.dynamics, torch.cat([z, mean.clamp(-1.0, 1.0)], -1))
        q = -frozen(self.value.metric, pred, zg)
        loss, _, _ = ddpgbc_loss(q, log_prob, self.config.alpha)
        return loss, q
