"""Learned completion (success) classifier for language subgoals: p(done | o, g).

    net = CompletionNet(CompletionConfig(obs_dim=32)).fit(obs_array)
    Trainer(net, ...).fit(); net.save("runs/x/completion")
    clf = CompletionClassifier(CompletionNet.load("runs/x/completion"), text_encoder=MiniLMEncoder())
    detector = LearnedCompletion(clf, threshold=0.5)     # hirl.hierarchy.completion

Batch keys read by loss(): obs (B, S), goal_emb (B, E), done (B,) float32 (1 = the subgoal is achieved in obs).
Loss: binary cross-entropy on the logit, positives weighted by pos_weight (done is rare: one or a few steps
per segment, so a pos_weight > 1 or positive oversampling in the sampler keeps recall up).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hirl.encoders import StateEncoder
from hirl.encoders.text import TextEncoder
from hirl.encoders.text_factory import check_text_encoder, make_text_encoder
from hirl.policies.inference import SubgoalCache, fast_inference, require_keys, to_tensor
from hirl.policies.module import PolicyModule
from hirl.policies.nets import mlp
from hirl.policies.obs import DEFAULT_OBS_KEYS, obs_vector
from hirl.types import Observation, Subgoal


@dataclass
class CompletionConfig:
    """Completion classifier (every field saved in config.json)."""

    obs_dim: int = 32  # S, size of the state vector
    text_dim: int = 384  # E, text-embedding size
    text_encoder: str = "text"  # registered text encoder used at inference when none is passed: text | hash
    obs_keys: tuple[str, ...] = DEFAULT_OBS_KEYS  # Dict obs entries concatenated into the state vector
    obs_feat: int = 128  # state-encoder output size
    goal_feat: int = 128  # projection of the subgoal embedding
    encoder_hidden: tuple[int, ...] = (256, 256)  # state-encoder hidden widths
    hidden: tuple[int, ...] = (256,)  # classifier-head hidden widths
    pos_weight: float = 1.0  # BCE weight of positive (done) samples

    def __post_init__(self) -> None:
        if not self.pos_weight > 0:
            raise ValueError(f"CompletionConfig.pos_weight must be > 0, got {self.pos_weight}")


class CompletionNet(PolicyModule):
    """StateEncoder(obs) ++ Linear(goal_emb) -> MLP -> logit (B,)."""

    config_cls = CompletionConfig

    def __init__(self, config: CompletionConfig) -> None:
        super().__init__()
        self.config = c = config
        self.obs_encoder = StateEncoder(c.obs_dim, c.obs_feat, c.encoder_hidden)
        self.goal_proj = nn.Linear(c.text_dim, c.goal_feat)
        self.head = mlp(c.obs_feat + c.goal_feat, c.hidden, 1)

    def fit(self, obs: np.ndarray) -> CompletionNet:
        self.obs_encoder.fit_normalizer(obs)
        return self

    def forward(self, obs: torch.Tensor, goal_emb: torch.Tensor) -> torch.Tensor:
        """obs (B, S), goal_emb (B, E) -> logit (B,)."""
        goal = torch.relu(self.goal_proj(goal_emb.float()))
        return self.head(torch.cat([self.obs_encoder(obs.float()), goal], dim=-1)).squeeze(-1)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        require_keys(batch, ("obs", "goal_emb", "done"), type(self).__name__)
        logit = self(batch["obs"], batch["goal_emb"])
        done = batch["done"].float()
        loss = nn.functional.binary_cross_entropy_with_logits(
            logit, done, pos_weight=torch.tensor(self.config.pos_weight, dtype=logit.dtype))
        with torch.no_grad():
            pred = (logit > 0).float()
            pos = done.sum().clamp_min(1.0)
            metrics = {"acc": (pred == done).float().mean().item(), "recall": (pred * done).sum().item() / pos.item(),
                       "false_pos_rate": (pred * (1 - done)).sum().item() / (1 - done).sum().clamp_min(1.0).item()}
        return loss, metrics


class CompletionClassifier:
    """success_probability(obs, subgoal) -> float in [0, 1] (the SuccessClassifier protocol of
    hirl.hierarchy.completion, so LearnedCompletion can use it). Language subgoals only; the subgoal's
    embedding is computed once per Subgoal object."""

    def __init__(self, model: CompletionNet | str | Path, text_encoder: TextEncoder | None = None) -> None:
        self.model = model if isinstance(model, CompletionNet) else CompletionNet.load(model)
        self.model.eval()
        cfg = self.model.config
        self.text_encoder = text_encoder or make_text_encoder(cfg.text_encoder, cfg.text_dim)
        check_text_encoder(self.text_encoder, cfg.text_dim, "CompletionClassifier")
        self._goals = SubgoalCache()

    def _goal(self, subgoal: Subgoal) -> torch.Tensor:
        return to_tensor(self.text_encoder.encode_one(str(subgoal.value)))

    def success_probability(self, obs: Observation, subgoal: Subgoal) -> float:
        if subgoal.kind != "language":
            raise TypeError(f"CompletionClassifier handles language subgoals, got a {subgoal.kind} subgoal")
        x = to_tensor(obs_vector(obs, self.model.config.obs_keys))
        with fast_inference():
            return float(torch.sigmoid(self.model(x, self._goals.get(subgoal, self._goal)))[0])

    @classmethod
    def load(cls, directory: str | Path, text_encoder: TextEncoder | None = None) -> CompletionClassifier:
        return cls(CompletionNet.load(directory), text_encoder)
