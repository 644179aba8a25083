"""GCIVL (OGBench's goal-conditioned implicit V-learning, impls/agents/gcivl.py): GCIQL without a Q function. One
module holding an ensemble value, its EMA target and an actor, trained by one loss on hirl.learn.offline_gc.sampling batches;
after_step() moves the target.

    V_j(s, g)        two MLPs (LayerNorm) on [s; g] (OGBench's GCValue, ensemble); V'_j: EMA copies (rate tau)
    value loss       with V'_min(s', g) = min_j V'_j(s', g): adv = r + gamma m V'_min - mean_j V'_j(s, g), and each head
                     regresses q_j = r + gamma m V'_j(s', g) with the expectile weight of adv:
                     L = sum_j mean(|expectile - 1(adv < 0)| (q_j - V_j(s, g))^2)
    actor            pi(a | s, g_a) Gaussian, unit std; AWR on the next state (no Q needed): weight
                     min(exp(alpha (mean_j V_j(s', g_a) - mean_j V_j(s, g_a))), 100), loss -mean(w log pi(a | s, g_a))
    inference        a = clip(mean of pi(s, g), -1, 1) (OGBench evaluates at temperature 0)

Defaults are OGBench's get_config() (expectile 0.9, alpha 10, discount 0.99, tau 0.005, goal sampling 0.2 / 0.5 / 0.3
for value goals, future-state actor goals). Per-env settings (hirl.policies.offline_gc.hyperparameters): alpha 10 everywhere;
pointmaze-large-navigate, puzzle-3x3-play, cube-single-play and scene-play all use discount 0.99 (0.995 for giant
mazes). Deliberate differences from OGBench: states and goals are normalised by the data's mean / std inside the
module (OGBench feeds them raw), and an episode's last transition uses its own state as the next state.
Shapes: S state, G goal, A action, B batch."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from hirl.config import at_least
from hirl.policies.offline_gc.blocks import GCActor, GCValue, awr_loss, check_expectile_tau, ema_, expectile_loss
from hirl.policies.offline_gc.goal_sampling import GoalSamplingConfig, sampling_of
from hirl.policies.offline_gc.gcbc import HIDDEN, StateGoalModule


@dataclass
class GCIVLConfig(GoalSamplingConfig):
    obs_dim: int  # S: state size
    action_dim: int  # A
    goal_dim: int  # G: goal size (achieved goals)
    obs_keys: tuple[str, ...] = ("observation",)  # Dict obs entries read as the state
    hidden: tuple[int, ...] = HIDDEN  # actor and value MLP widths (OGBench: 512 x 3 for both)
    layer_norm: bool = True  # LayerNorm in the value MLPs (OGBench's)
    expectile: float = 0.9  # value expectile (OGBench's)
    alpha: float = 10.0  # AWR inverse temperature (OGBench's; 10 on every env)
    tau: float = 0.005  # EMA rate of the target value (OGBench's)
    text_encoder: str = "text"  # the run's text encoder name (unused: no language input)
    normalize: bool = True  # states and goals by the data's mean / std (hirl's); False: raw inputs (OGBench's)

    def __post_init__(self) -> None:
        check_expectile_tau(self.expectile, self.tau)
        at_least("alpha", self.alpha, 0.0)
        sampling_of(self)  # ValueError naming the discount / goal-probability field


class GCIVL(StateGoalModule):
    """The GCIVL networks and loss (module docstring); inputs are raw states / goals, normalised inside."""

    config_cls = GCIVLConfig
    # the GoalSampler entries loss() reads (the sampler gathers only these)
    batch_keys = frozenset({"obs", "next_obs", "action", "value_goal", "reward", "mask", "actor_goal"})

    def __init__(self, config: GCIVLConfig) -> None:
        super().__init__(config.obs_dim, config.goal_dim, config.normalize)
        self.config = config
        S, G = config.obs_dim, config.goal_dim
        self.value = GCValue(S + G, config.hidden, ensemble=True, layer_norm=config.layer_norm)
        self.target_value = copy.deepcopy(self.value).requires_grad_(False)
        self.actor = GCActor(S + G, config.hidden, config.action_dim)

    def forward(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """(B, A) the actor's mean action for raw states (B, S) and goals (B, G)."""
        return self.actor(torch.cat([self.norm(obs), self.goal_norm(goal)], -1))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        s, s2, a = self.norm(batch["obs"]), self.norm(batch["next_obs"]), batch["action"]
        g, ga = self.goal_norm(batch["value_goal"]), self.goal_norm(batch["actor_goal"])
        r, m = batch["reward"], batch["mask"]
        with torch.no_grad():  # the values the losses only read, in two batched calls (same numbers, fewer kernels)
            next_t, cur_t = self.target_value(torch.cat([s2, s]), torch.cat([g, g])).chunk(2, -1)  # (2, B) each
            adv = r + c.discount * m * next_t.min(0).values - cur_t.mean(0)
            q = r + c.discount * m * next_t  # (2, B)
            next_v, cur_v = self.value(torch.cat([s2, s]), torch.cat([ga, ga])).mean(0).chunk(2)
            adv_actor = next_v - cur_v
        v = self.value(s, g)  # (2, B)
        value_loss = (expectile_loss(adv, q[0] - v[0], c.expectile).mean()
                      + expectile_loss(adv, q[1] - v[1], c.expectile).mean())
        mean = self.actor(torch.cat([s, ga], -1))
        log_prob = GCActor.log_prob(mean, a)
        actor_loss, w = awr_loss(adv_actor, log_prob, c.alpha)
        total = value_loss + actor_loss
        return total, {"value_loss": value_loss.detach(), "v_mean": v.mean().detach(), "actor_loss": actor_loss.detach(),
                       "adv": adv_actor.mean().detach(), "w_mean": w.mean().detach(), "bc_log_prob": log_prob.mean().detach(),
                       "mse": ((mean - a) ** 2).mean().detach()}

    def after_step(self) -> None:
        """target <- (1 - tau) target + tau online (called by the Trainer after every optimizer step)."""
        ema_(self.target_value, self.value, self.config.tau)
