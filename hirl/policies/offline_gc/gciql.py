"""GCIQL (OGBench's goal-conditioned implicit Q-learning, impls/agents/gciql.py). One module holding a value, an
ensemble critic with its EMA target and an actor, trained by one loss on hirl.learn.offline_gc.sampling batches; after_step()
moves the target critic.

    V(s, g)             one MLP (LayerNorm) on [s; g] (GCValue, no ensemble); no target copy
    Q_j(s, a, g)        two MLPs on [s; g; a] (GCValue, ensemble); Q'_j: EMA copies (rate tau)
    value loss          q = min_j Q'_j(s, a, g): mean(|expectile - 1(q - V < 0)| (q - V(s, g))^2)
    critic loss         y = r + gamma m V(s', g) (no gradient into V): mean(sum_j (Q_j(s, a, g) - y)^2)
    actor, ddpgbc       (OGBench's default) mu = mean of pi(s, g_a); q = min_j Q_j(s, clip(mu, -1, 1), g_a) with the
                        critic's weights frozen (gradient reaches the actor only); loss -mean(q) / stop_grad(mean|q|)
                        - alpha mean(log pi(a | s, g_a))
    actor, awr          weight min(exp(alpha (min_j Q_j(s, a, g_a) - V(s, g_a))), 100), loss -mean(w log pi(a | s, g_a))
    inference           a = clip(mu(s, g), -1, 1)

Defaults are OGBench's get_config() (expectile 0.9, actor_loss ddpgbc, alpha 0.3, discount 0.99, tau 0.005, value
goals 0.2 / 0.5 / 0.3). hyperparameters.sh keeps ddpgbc on every state-based env and sets alpha per dataset
(hirl.policies.offline_gc.hyperparameters): 0.003 for pointmaze-large-navigate (and every point-maze navigate dataset; giant
also discount 0.995), 1.0 for puzzle-3x3-play, cube-single-play and scene-play, 0.03 for the noisy datasets.
Deliberate differences: states and goals are normalised inside the module (OGBench feeds them raw); an episode's last
transition uses its own state as the next state. Shapes: S state, G goal, A action, B batch."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import torch

from hirl.policies.offline_gc.blocks import (GCActor, GCValue, awr_loss, check_actor_loss, check_expectile_tau, ddpgbc_loss,
                                             ema_, expectile_loss, frozen)
from hirl.policies.offline_gc.goal_sampling import GoalSamplingConfig, sampling_of
from hirl.policies.offline_gc.gcbc import HIDDEN, StateGoalModule


@dataclass
class GCIQLConfig(GoalSamplingConfig):
    obs_dim: int  # S: state size
    action_dim: int  # A
    goal_dim: int  # G: goal size (achieved goals)
    obs_keys: tuple[str, ...] = ("observation",)  # Dict obs entries read as the state
    hidden: tuple[int, ...] = HIDDEN  # actor, value and critic MLP widths (OGBench: 512 x 3)
    layer_norm: bool = True  # LayerNorm in the value and critic MLPs (OGBench's)
    expectile: float = 0.9  # value expectile (OGBench's)
    actor_loss: Literal["ddpgbc", "awr"] = "ddpgbc"  # DDPG+BC or AWR actor (OGBench's default: ddpgbc)
    alpha: float = 0.3  # BC coefficient (ddpgbc) or AWR inverse temperature (OGBench's default; per env: hyperparameters.py)
    tau: float = 0.005  # EMA rate of the target critic (OGBench's)
    text_encoder: str = "text"  # the run's text encoder name (unused: no language input)
    normalize: bool = True  # states and goals by the data's mean / std (hirl's); False: raw inputs (OGBench's)

    def __post_init__(self) -> None:
        check_expectile_tau(self.expectile, self.tau)
        check_actor_loss(self.actor_loss, self.alpha)
        sampling_of(self)  # ValueError naming the discount / goal-probability field


class GCIQL(StateGoalModule):
    """The GCIQL networks and loss (module docstring); inputs are raw states / goals, normalised inside."""

    config_cls = GCIQLConfig
    # the GoalSampler entries loss() reads (the sampler gathers only these)
    batch_keys = frozenset({"obs", "next_obs", "action", "value_goal", "reward", "mask", "actor_goal"})

    def __init__(self, config: GCIQLConfig) -> None:
        super().__init__(config.obs_dim, config.goal_dim, config.normalize)
        self.config = config
        S, G, A = config.obs_dim, config.goal_dim, config.action_dim
        self.value = GCValue(S + G, config.hidden, ensemble=False, layer_norm=config.layer_norm)
        self.critic = GCValue(S + G + A, config.hidden, ensemble=True, layer_norm=config.layer_norm)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor = GCActor(S + G, config.hidden, A)

    def forward(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """(B, A) the actor's mean action for raw states (B, S) and goals (B, G)."""
        return self.actor(torch.cat([self.norm(obs), self.goal_norm(goal)], -1))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        s, s2, a = self.norm(batch["obs"]), self.norm(batch["next_obs"]), batch["action"]
        g, ga = self.goal_norm(batch["value_goal"]), self.goal_norm(batch["actor_goal"])
        with torch.no_grad():
            q_t = self.target_critic(s, g, a).min(0).values  # (B,)
            y = batch["reward"] + c.discount * batch["mask"] * self.value(s2, g)
        v = self.value(s, g)
        value_loss = expectile_loss(q_t - v, q_t - v, c.expectile).mean()
        q = self.critic(s, g, a)  # (2, B)
        critic_loss = ((q - y) ** 2).sum(0).mean()
        mean = self.actor(torch.cat([s, ga], -1))
        log_prob = GCActor.log_prob(mean, a)
        metrics: dict[str, torch.Tensor] = {}
        if c.actor_loss == "ddpgbc":
            q_pi = frozen(self.critic, s, ga, mean.clamp(-1.0, 1.0)).min(0).values
            actor_loss, q_loss, bc_loss = ddpgbc_loss(q_pi, log_prob, c.alpha)
            metrics.update(q_loss=q_loss.detach(), bc_loss=bc_loss.detach(), q_pi_mean=q_pi.mean().detach())
        else:
            with torch.no_grad():
                adv = self.critic(s, ga, a).min(0).values - self.value(s, ga)
            actor_loss, w = awr_loss(adv, log_prob, c.alpha)
            metrics.update(adv=adv.mean().detach(), w_mean=w.mean().detach())
        total = value_loss + critic_loss + actor_loss
        return total, {"value_loss": value_loss.detach(), "critic_loss": critic_loss.detach(), "v_mean": v.mean().detach(),
                       "q_mean": q.mean().detach(), "actor_loss": actor_loss.detach(), "bc_log_prob": log_prob.mean().detach(),
                       "mse": ((mean - a) ** 2).mean().detach(), **metrics}

    def after_step(self) -> None:
        """target critic <- (1 - tau) target + tau critic (called by the Trainer after every optimizer step)."""
        ema_(self.target_critic, self.critic, self.config.tau)
