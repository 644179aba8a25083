"""HIQL (Park et al. 2023, "HIQL: Offline Goal-Conditioned RL with Latent States as Actions"), written for hirl's
one Trainer: one module holding a goal-conditioned value, a learned subgoal representation and two actors, all
trained by one loss on hirl.learn.offline_gc.sampling batches, with an EMA target value updated in after_step().

    phi(s, g) in R^d            subgoal representation: MLP on [s; g] (g a goal: an achieved goal), length sqrt(d)
    V(s, g) = f(s, phi(s, g))   two value heads (an ensemble of 2); targets V' are EMA copies (rate tau)
    value loss      action-free IQL (IVL): with V'_min = min(V'_1, V'_2)(s', g), adv = r + gamma m V'_min
                    - mean(V'_1, V'_2)(s, g), each head j regresses q_j = r + gamma m V'_j(s', g) with the
                    expectile weight |tau_e - 1(adv < 0)| (tau_e = expectile): L_j = w (q_j - V_j(s, g))^2
    low actor       pi_l(a | s, phi(s, s_{t+k})), AWR: weight exp(alpha_l (V(s', s_{t+k}) - V(s, s_{t+k}))),
                    capped at 100; phi is not trained through the actor (low_actor_rep_grad False)
    high actor      pi_h(z | s, g) with z = phi(s, s_{t+k'}) (k' = min(k, steps to g)), weight
                    exp(alpha_h (V(s_{t+k'}, g) - V(s, g))), capped at 100
    inference       z = pi_h(s, g) rescaled to length sqrt(d); a = clip(pi_l(s, z), -1, 1)

Both actors are Gaussians with a constant unit std (OGBench's const_std), so their log-likelihood is
-0.5 ||x - mu||^2. Rewards are 0 at the goal and -1 elsewhere (gc_negative). Defaults are OGBench's HIQL
hyperparameters; subgoal_steps is 25 for mazes and 10 for manipulation there (hyperparameters.sh: alphas 3 / 3 on
pointmaze-large-navigate with k 25, component hiql; on puzzle-3x3-play, cube-single-play and scene-play with k 10,
hiql_k10; giant mazes also discount 0.995, hiql_giant). Shapes: S state, A action, d rep_dim, G goal size, B batch."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from hirl.policies.offline_gc.blocks import MAX_AWR_WEIGHT, awr_weights, ema_, expectile_loss
from hirl.policies.offline_gc.gcbc import HIDDEN, StateGoalModule, gaussian_nll
from hirl.policies.nets import mlp

__all__ = ["HIQL", "MAX_AWR_WEIGHT", "HIQLConfig", "awr_weights", "expectile_loss"]  # loss pieces: offline_gc.blocks


@dataclass
class HIQLConfig:
    obs_dim: int  # S: state size
    action_dim: int  # A
    goal_dim: int  # G: goal size (achieved goals)
    obs_keys: tuple[str, ...] = ("observation",)  # Dict obs entries read as the state
    hidden: tuple[int, ...] = HIDDEN  # actor, value and representation MLP widths (OGBench: 512 x 3)
    rep_dim: int = 10  # d: subgoal representation size (OGBench's)
    expectile: float = 0.7  # value expectile (OGBench's)
    low_alpha: float = 3.0  # low-actor AWR inverse temperature (OGBench's)
    high_alpha: float = 3.0  # high-actor AWR inverse temperature (OGBench's)
    discount: float = 0.99  # gamma (OGBench's)
    tau: float = 0.005  # EMA rate of the target value (OGBench's)
    subgoal_steps: int = 25  # k (OGBench: 25 mazes, 10 manipulation)
    text_encoder: str = "text"  # the run's text encoder name (unused: no language input)
    normalize: bool = True  # states and goals by the data's mean / std (hirl's); False: raw inputs (OGBench's)

    def __post_init__(self) -> None:
        if not 0 < self.expectile < 1:
            raise ValueError(f"expectile must be in (0, 1), got {self.expectile}")
        if not 0 < self.tau <= 1 or not 0 < self.discount < 1:
            raise ValueError(f"tau must be in (0, 1] and discount in (0, 1), got {self.tau}, {self.discount}")


class GoalRep(nn.Module):
    """phi(s, g) (B, d): an MLP on normalised [s (B, S); g (B, G)] rescaled to length sqrt(d)."""

    def __init__(self, obs_dim: int, goal_dim: int, hidden: tuple[int, ...], rep_dim: int) -> None:
        super().__init__()
        self.net = mlp(obs_dim + goal_dim, hidden, rep_dim, layer_norm=True)
        self.scale = math.sqrt(rep_dim)

    def forward(self, s: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return length_normalize(self.net(torch.cat([s, g], -1)), self.scale)


def length_normalize(z: torch.Tensor, scale: float) -> torch.Tensor:
    """z (B, d) rescaled to length `scale` per row."""
    return z / (z.norm(dim=-1, keepdim=True) + 1e-6) * scale


class Value(nn.Module):
    """(V_1, V_2)(s, g), each (B,): two heads over [s; phi(s, g)] sharing phi."""

    def __init__(self, obs_dim: int, goal_dim: int, hidden: tuple[int, ...], rep_dim: int) -> None:
        super().__init__()
        self.rep = GoalRep(obs_dim, goal_dim, hidden, rep_dim)
        self.heads = nn.ModuleList([mlp(obs_dim + rep_dim, hidden, 1, layer_norm=True) for _ in range(2)])

    def forward(self, s: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([s, self.rep(s, g)], -1)
        v1, v2 = (h(x).squeeze(-1) for h in self.heads)
        return v1, v2


class HIQL(StateGoalModule):
    """The HIQL networks and loss (module docstring); inputs are raw states, normalised inside."""

    config_cls = HIQLConfig
    # the GoalSampler entries loss() reads (the sampler gathers only these)
    batch_keys = frozenset({"obs", "next_obs", "action", "value_goal", "reward", "mask", "actor_goal", "subgoal",
                            "high_target", "high_target_obs"})

    def __init__(self, config: HIQLConfig) -> None:
        super().__init__(config.obs_dim, config.goal_dim, config.normalize)
        self.config = config
        S, G, d = config.obs_dim, config.goal_dim, config.rep_dim
        self.value = Value(S, G, config.hidden, d)
        self.target_value = copy.deepcopy(self.value).requires_grad_(False)
        self.low_actor = mlp(S + d, config.hidden, config.action_dim)
        self.high_actor = mlp(S + G, config.hidden, d)

    # ------------------------------------------------------------------ inference
    def high(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """(B, d) the proposed subgoal representation, length sqrt(d)."""
        z = self.high_actor(torch.cat([self.norm(obs), self.goal_norm(goal)], -1))
        return length_normalize(z, math.sqrt(self.config.rep_dim))

    def low(self, obs: torch.Tensor, rep: torch.Tensor) -> torch.Tensor:
        """(B, A) mean action toward the subgoal representation rep (B, d)."""
        return self.low_actor(torch.cat([self.norm(obs), rep], -1))

    # ------------------------------------------------------------------ training
    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        s, s2 = self.norm(batch["obs"]), self.norm(batch["next_obs"])
        r, m = batch["reward"], batch["mask"]
        g = self.goal_norm(batch["value_goal"])
        sub = self.goal_norm(batch["subgoal"])
        ag, target = self.goal_norm(batch["actor_goal"]), self.goal_norm(batch["high_target"])
        s_target = self.norm(batch["high_target_obs"])
        with torch.no_grad():  # every value the losses only read, in two batched calls (same numbers, fewer kernels)
            (n1, t1), (n2, t2) = (v.chunk(2) for v in self.target_value(torch.cat([s2, s]), torch.cat([g, g])))
            vs = _mean(self.value(torch.cat([s2, s, s_target, s]), torch.cat([sub, sub, ag, ag]))).chunk(4)
            reps = self.value.rep(torch.cat([s, s]), torch.cat([sub, target])).chunk(2)
        # value (IVL with expectile regression)
        adv = r + c.discount * m * torch.minimum(n1, n2) - (t1 + t2) / 2
        q1, q2 = r + c.discount * m * n1, r + c.discount * m * n2
        v1, v2 = self.value(s, g)
        value_loss = (expectile_loss(adv, q1 - v1, c.expectile) + expectile_loss(adv, q2 - v2, c.expectile)).mean()
        # low actor: AWR toward the state k steps ahead, in the learned representation (phi not trained here)
        adv_low = vs[0] - vs[1]
        w_low = awr_weights(adv_low, c.low_alpha)
        low_loss = (w_low * gaussian_nll(self.low_actor(torch.cat([s, reps[0]], -1)), batch["action"])).mean()
        # high actor: AWR over subgoal representations toward the actor goal
        adv_high = vs[2] - vs[3]
        w_high = awr_weights(adv_high, c.high_alpha)
        high_loss = (w_high * gaussian_nll(self.high_actor(torch.cat([s, ag], -1)), reps[1])).mean()
        total = value_loss + low_loss + high_loss
        return total, {"value_loss": value_loss.detach(), "v_mean": _mean((v1, v2)).mean().detach(),
                       "low_actor_loss": low_loss.detach(), "high_actor_loss": high_loss.detach(),
                       "adv_low": adv_low.mean().detach(), "adv_high": adv_high.mean().detach(),
                       "w_low": w_low.mean().detach(), "w_high": w_high.mean().detach()}

    def after_step(self) -> None:
        """target <- (1 - tau) target + tau online (called by the Trainer after every optimizer step)."""
        ema_(self.target_value, self.value, self.config.tau)


def _mean(vs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    return (vs[0] + vs[1]) / 2
