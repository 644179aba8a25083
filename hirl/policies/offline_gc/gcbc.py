"""Goal-conditioned offline networks trained on hirl.learn.offline_gc.sampling batches with the one Trainer:

    GCBC              flat goal-conditioned BC: pi(a | s, g), g a future state of the episode (OGBench's GCBC)
    GCHierState       hirl's state-subgoal hierarchy: high pi_h(s_{t+k} | s, g) regresses the state k steps ahead,
                      low pi_l(a | s, s_{t+k}) reaches it (plain BC at both levels; HIQL without the value)
    GCHierLanguage    hirl's language-subgoal hierarchy on the oracle's labels: high classifies the segment label
                      active at s on the way to g (over the data's vocabulary), low pi_l(a | s, text embedding)

States (S, the model's obs_keys) and goals (G, achieved goals; for OGBench the full observation) are normalised
with the data's per-dimension mean / std (fit(states, goals)); actions are Gaussian means with a constant unit std,
so the negative log-likelihood is 0.5 ||a - mu||^2 (OGBench's const_std actors). Shapes: S state size, G goal
size, A action size, E text-embedding size, V vocabulary size, B batch."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Self

import numpy as np
import torch
from torch import nn

from hirl.config import FieldError
from hirl.policies.offline_gc.blocks import GCActor
from hirl.policies.module import PolicyModule
from hirl.policies.nets import mlp

HIDDEN = (512, 512, 512)  # OGBench's actor / value MLP widths


class StateNorm(nn.Module):
    """Per-dimension (x - mean) / std of states and goals (S,), fitted on the data; std floored at 0.01 (constant
    dimensions)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, states: np.ndarray) -> None:
        """states (N, S)."""
        x = torch.as_tensor(np.asarray(states, np.float32))
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class StateGoalModule(PolicyModule):
    """A goal-conditioned network reading raw states (S,) and goals (G,), normalised inside by StateNorms fitted on
    the data (fit)."""

    def __init__(self, obs_dim: int, goal_dim: int, normalize: bool = True) -> None:
        super().__init__()
        self.norm, self.goal_norm = StateNorm(obs_dim), StateNorm(goal_dim)
        self.normalize = normalize  # False: fit() leaves the normalisers the identity (OGBench feeds raw inputs)

    def fit(self, states: np.ndarray, goals: np.ndarray) -> Self:
        """states (N, S), goals (M, G): the normalisers' statistics (none when normalize is False)."""
        if self.normalize:
            self.norm.fit(states)
            self.goal_norm.fit(goals)
        return self


def gaussian_nll(mu: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) negative log-likelihood, up to a constant, of target (B, D) under N(mu, I): 0.5 ||target - mu||^2."""
    return 0.5 * ((target - mu) ** 2).sum(-1)


@dataclass
class GCBCConfig:
    obs_dim: int  # S: state size
    action_dim: int  # A
    goal_dim: int  # G: goal size (achieved goals)
    obs_keys: tuple[str, ...] = ("observation",)  # Dict obs entries read as the state
    hidden: tuple[int, ...] = HIDDEN  # actor MLP widths
    subgoal_steps: int = 25  # k of the goal sampler (unused by GCBC itself; kept for one sampler config)
    text_encoder: str = "text"  # the run's text encoder name (unused: no language input)
    actor: Literal["mlp", "ogbench"] = "mlp"  # mlp: hirl's ReLU MLP; ogbench: OGBench's GCActor (GELU, Xavier, 0.01 head)
    normalize: bool = True  # states and goals by the data's mean / std (hirl's); False: raw inputs (OGBench's)

    def __post_init__(self) -> None:
        if self.actor not in ("mlp", "ogbench"):
            raise FieldError("actor", f"must be 'mlp' or 'ogbench', got {self.actor!r}")


class GCBC(StateGoalModule):
    """pi(a | s, g): mean action (B, A) from state (B, S) and goal (B, G). With actor "ogbench" and normalize False it
    is OGBench's GCBC network exactly (hirl.policies.offline_gc.blocks.GCActor on raw inputs)."""

    config_cls = GCBCConfig
    # the GoalSampler entries loss() reads (the sampler gathers only these)
    batch_keys = frozenset({"obs", "action", "actor_goal"})

    def __init__(self, config: GCBCConfig) -> None:
        super().__init__(config.obs_dim, config.goal_dim, config.normalize)
        self.config = config
        in_dim = config.obs_dim + config.goal_dim
        self.actor = (mlp(in_dim, config.hidden, config.action_dim) if config.actor == "mlp"
                      else GCActor(in_dim, config.hidden, config.action_dim))

    def forward(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        return self.actor(torch.cat([self.norm(obs), self.goal_norm(goal)], -1))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        nll = gaussian_nll(self(batch["obs"], batch["actor_goal"]), batch["action"]).mean()
        return nll, {"actor_nll": nll.detach()}


@dataclass
class GCHierStateConfig:
    obs_dim: int  # S: state size
    action_dim: int  # A
    goal_dim: int  # G: goal and subgoal size (achieved goals)
    obs_keys: tuple[str, ...] = ("observation",)  # Dict obs entries read as the state
    hidden: tuple[int, ...] = HIDDEN  # MLP widths of both levels
    subgoal_steps: int = 25  # k: the high level proposes the state k steps ahead
    text_encoder: str = "text"  # the run's text encoder name (unused: no language input)


class GCHierState(StateGoalModule):
    """high(s, g) -> the achieved goal k steps ahead (B, G); low(s, subgoal (B, G)) -> mean action (B, A)."""

    config_cls = GCHierStateConfig
    # the GoalSampler entries loss() reads (the sampler gathers only these)
    batch_keys = frozenset({"obs", "action", "actor_goal", "subgoal", "high_target"})

    def __init__(self, config: GCHierStateConfig) -> None:
        super().__init__(config.obs_dim, config.goal_dim)
        self.config = config
        S, G = config.obs_dim, config.goal_dim
        self.high_net = mlp(S + G, config.hidden, G)
        self.low_net = mlp(S + G, config.hidden, config.action_dim)

    def high(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """The proposed subgoal (B, G), de-normalised."""
        z = self.high_net(torch.cat([self.norm(obs), self.goal_norm(goal)], -1))
        return z * self.goal_norm.std + self.goal_norm.mean

    def low(self, obs: torch.Tensor, subgoal: torch.Tensor) -> torch.Tensor:
        return self.low_net(torch.cat([self.norm(obs), self.goal_norm(subgoal)], -1))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        obs, gn = self.norm(batch["obs"]), self.goal_norm
        pred = self.high_net(torch.cat([obs, gn(batch["actor_goal"])], -1))
        high = gaussian_nll(pred, gn(batch["high_target"])).mean()  # in normalised units
        low = gaussian_nll(self.low_net(torch.cat([obs, gn(batch["subgoal"])], -1)), batch["action"]).mean()
        return high + low, {"high_nll": high.detach(), "low_nll": low.detach()}


@dataclass
class GCHierLanguageConfig:
    obs_dim: int  # S: state size
    action_dim: int  # A
    goal_dim: int  # G: goal size (achieved goals)
    text_dim: int  # E: instruction embedding size (the run's text encoder)
    vocab: list[str] = field(default_factory=list)  # V labels the high level chooses from (the data's segment labels)
    obs_keys: tuple[str, ...] = ("observation",)  # Dict obs entries read as the state
    text_encoder: str = "text"  # the run's text encoder name (embeddings at inference)
    hidden: tuple[int, ...] = HIDDEN  # MLP widths of both levels
    subgoal_steps: int = 25  # k of the goal sampler (unused here; one sampler config for all)


class GCHierLanguage(PolicyModule):
    """high(s, g) -> logits (B, V) over config.vocab; low(s, text embedding (B, E)) -> mean action (B, A).
    vocab_emb (V, E) buffer: the embeddings of the vocabulary the low level is trained on."""

    config_cls = GCHierLanguageConfig
    # the GoalSampler entries loss() reads (the sampler gathers only these)
    batch_keys = frozenset({"obs", "action", "actor_goal", "label"})
    vocab_emb: torch.Tensor

    def __init__(self, config: GCHierLanguageConfig) -> None:
        super().__init__()
        self.config = config
        S, G, V = config.obs_dim, config.goal_dim, max(1, len(config.vocab))
        self.norm, self.goal_norm = StateNorm(S), StateNorm(G)
        self.register_buffer("vocab_emb", torch.zeros(V, config.text_dim))
        self.high_net = mlp(S + G, config.hidden, V)
        self.low_net = mlp(S + config.text_dim, config.hidden, config.action_dim)

    def fit(self, states: np.ndarray, goals: np.ndarray, vocab_emb: np.ndarray) -> GCHierLanguage:
        """states (N, S), goals (M, G): the normalisers' statistics; vocab_emb (V, E) embeddings of config.vocab."""
        self.norm.fit(states)
        self.goal_norm.fit(goals)
        self.vocab_emb.copy_(torch.as_tensor(np.asarray(vocab_emb, np.float32)))
        return self

    def high(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        return self.high_net(torch.cat([self.norm(obs), self.goal_norm(goal)], -1))

    def low(self, obs: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        return self.low_net(torch.cat([self.norm(obs), text_emb], -1))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = self.high(batch["obs"], batch["actor_goal"])
        high = nn.functional.cross_entropy(logits, batch["label"])
        low = gaussian_nll(self.low(batch["obs"], self.vocab_emb[batch["label"]]), batch["action"]).mean()
        acc = (logits.argmax(-1) == batch["label"]).float().mean()
        return high + low, {"high_ce": high.detach(), "high_acc": acc.detach(), "low_nll": low.detach()}
