"""CRL (contrastive RL, Eysenbach et al. 2022, as OGBench implements it in impls/agents/crl.py). One module holding a
bilinear contrastive critic (and, for AWR, a bilinear value) and an actor, trained by one loss on
hirl.learn.offline_gc.sampling batches; no target network.

    Q_j(s, a, g)        phi_j([s; a]) . psi_j(g) / sqrt(L), j = 1, 2 (OGBench's GCBilinearValue, ensemble): phi_j and
                        psi_j MLPs (LayerNorm) to R^L; V(s, g) = phi(s) . psi(g) / sqrt(L) the same without actions or
                        ensemble (AWR only)
    critic loss         logits[i, k, j] = phi_j(s_i, a_i) . psi_j(g_k) / sqrt(L) over the batch (B, B, 2), goals g_k
                        future states of row k's episode: binary NCE, mean over i, k, j of the sigmoid cross-entropy
                        with label 1(i == k) (OGBench's choice: binary, not the logsumexp / InfoNCE form)
    value loss (awr)    the same on V with (s_i, g_k)
    actor, ddpgbc       (default) mu = mean of pi(s, g_a); q = min_j Q_j(s, clip(mu, -1, 1), g_a) with the critic frozen
                        (gradient to the actor only); loss -mean(q) / stop_grad(mean|q|) - alpha mean(log pi(a | s, g_a))
    actor, awr          weight min(exp(alpha (min_j Q_j(s, a, g_a) - V(s, g_a))), 100), loss -mean(w log pi(a | s, g_a))
    inference           a = clip(mu(s, g), -1, 1)

Defaults are OGBench's get_config() (latent 512, ddpgbc, alpha 0.1, discount 0.99 as the geometric offset of the
value goals, which are all future states). Per env (hirl.policies.offline_gc.hyperparameters): alpha 0.03 for
pointmaze-large-navigate (giant: discount 0.995), 3.0 for puzzle-3x3-play, cube-single-play and scene-play, 0.1 for
noisy datasets. Deliberate differences: states and goals are normalised inside the module (OGBench feeds them raw).
Shapes: S state, G goal, A action, L latent, B batch."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from hirl.policies.offline_gc.blocks import Ensemble, GCActor, awr_loss, check_actor_loss, ddpgbc_loss, frozen
from hirl.policies.offline_gc.goal_sampling import GoalSamplingConfig, sampling_of
from hirl.policies.offline_gc.gcbc import HIDDEN, StateGoalModule


@dataclass
class CRLConfig(GoalSamplingConfig):
    obs_dim: int  # S: state size
    action_dim: int  # A
    goal_dim: int  # G: goal size (achieved goals)
    obs_keys: tuple[str, ...] = ("observation",)  # Dict obs entries read as the state
    hidden: tuple[int, ...] = HIDDEN  # actor, phi and psi MLP widths (OGBench: 512 x 3)
    layer_norm: bool = True  # LayerNorm in phi and psi (OGBench's)
    latent_dim: int = 512  # L: phi / psi output size (OGBench's)
    actor_loss: Literal["ddpgbc", "awr"] = "ddpgbc"  # DDPG+BC or AWR actor (OGBench's default: ddpgbc)
    alpha: float = 0.1  # BC coefficient (ddpgbc) or AWR inverse temperature (OGBench's default; per env: hyperparameters.py)
    value_p_cur: float = field(default=0.0, kw_only=True)  # P(value goal = current state) (OGBench's)
    value_p_traj: float = field(default=1.0, kw_only=True)  # P(value goal = future state) (OGBench's: positives)
    value_p_random: float = field(default=0.0, kw_only=True)  # P(value goal = random state) (OGBench's)
    text_encoder: str = "text"  # the run's text encoder name (unused: no language input)
    normalize: bool = True  # states and goals by the data's mean / std (hirl's); False: raw inputs (OGBench's)

    def __post_init__(self) -> None:
        check_actor_loss(self.actor_loss, self.alpha)
        sampling_of(self)  # ValueError naming the discount / goal-probability field


class BilinearValue(nn.Module):
    """OGBench's GCBilinearValue: forward(x (B, X), g (B, G)) -> (v (n, B), phi (n, B, L), psi (n, B, L)),
    v = phi(x) . psi(g) / sqrt(L); x is [s; a] for the critic, s for the value; n = 2 (ensemble) or 1."""

    def __init__(self, in_dim: int, goal_dim: int, hidden: tuple[int, ...], latent_dim: int, n: int,
                 layer_norm: bool) -> None:
        super().__init__()
        self.phi = Ensemble(n, in_dim, (*hidden, latent_dim), layer_norm)
        self.psi = Ensemble(n, goal_dim, (*hidden, latent_dim), layer_norm)
        self.scale = math.sqrt(latent_dim)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        phi, psi = self.phi(x), self.psi(g)
        return (phi * psi).sum(-1) / self.scale, phi, psi


def contrastive_loss(phi: torch.Tensor, psi: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Binary NCE over the batch: phi, psi (n, B, L) -> (loss, metrics); logits (B, B, n), positives on the diagonal."""
    logits = torch.einsum("eik,ejk->ije", phi, psi) / math.sqrt(phi.shape[-1])
    eye = torch.eye(logits.shape[0], dtype=logits.dtype, device=logits.device)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, eye[..., None].expand_as(logits))
    with torch.no_grad():
        mean_logits = logits.mean(-1)
        metrics = {"binary_accuracy": ((mean_logits > 0).to(eye.dtype) == eye).float().mean().detach(),
                   "categorical_accuracy": (mean_logits.argmax(1) == torch.arange(len(eye))).float().mean().detach(),
                   "logits_pos": ((mean_logits * eye).sum() / eye.sum()).detach(),
                   "logits_neg": ((mean_logits * (1 - eye)).sum() / (1 - eye).sum()).detach()}
    return loss, metrics


class CRL(StateGoalModule):
    """The CRL networks and loss (module docstring); inputs are raw states / goals, normalised inside."""

    config_cls = CRLConfig
    # the GoalSampler entries loss() reads (the sampler gathers only these)
    batch_keys = frozenset({"obs", "action", "value_goal", "actor_goal"})

    def __init__(self, config: CRLConfig) -> None:
        super().__init__(config.obs_dim, config.goal_dim, config.normalize)
        self.config = config
        S, G, A, L = config.obs_dim, config.goal_dim, config.action_dim, config.latent_dim
        self.critic = BilinearValue(S + A, G, config.hidden, L, 2, config.layer_norm)
        self.value = BilinearValue(S, G, config.hidden, L, 1, config.layer_norm) if config.actor_loss == "awr" else None
        self.actor = GCActor(S + G, config.hidden, A)

    def forward(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """(B, A) the actor's mean action for raw states (B, S) and goals (B, G)."""
        return self.actor(torch.cat([self.norm(obs), self.goal_norm(goal)], -1))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        s, a = self.norm(batch["obs"]), batch["action"]
        g, ga = self.goal_norm(batch["value_goal"]), self.goal_norm(batch["actor_goal"])
        q, phi, psi = self.critic(torch.cat([s, a], -1), g)
        critic_loss, critic_metrics = contrastive_loss(phi, psi)
        metrics = {"critic_loss": critic_loss.detach(), "q_mean": q.mean().detach(),
                   **{f"critic_{k}": v for k, v in critic_metrics.items()}}
        total = critic_loss
        mean = self.actor(torch.cat([s, ga], -1))
        log_prob = GCActor.log_prob(mean, a)
        if self.value is None:
            q_pi = frozen(self.critic, torch.cat([s, mean.clamp(-1.0, 1.0)], -1), ga)[0].min(0).values
            actor_loss, q_loss, bc_loss = ddpgbc_loss(q_pi, log_prob, c.alpha)
            metrics.update(q_loss=q_loss.detach(), bc_loss=bc_loss.detach(), q_pi_mean=q_pi.mean().detach())
        else:
            _, vphi, vpsi = self.value(s, g)
            value_loss, _ = contrastive_loss(vphi, vpsi)
            total = total + value_loss
            with torch.no_grad():
                adv = self.critic(torch.cat([s, a], -1), ga)[0].min(0).values - self.value(s, ga)[0][0]
            actor_loss, w = awr_loss(adv, log_prob, c.alpha)
            metrics.update(value_loss=value_loss.detach(), adv=adv.mean().detach(), w_mean=w.mean().detach())
        total = total + actor_loss
        return total, {**metrics, "actor_loss": actor_loss.detach(), "bc_log_prob": log_prob.mean().detach(),
                       "mse": ((mean - a) ** 2).mean().detach()}
