"""Baselines on the same data and encoders as the hierarchy.

FlatPolicy            pi(a | o, c): no subgoal at all.
                      Batch keys: obs (B, S), command_emb (B, K, E), command_mask (B, K), action (B, A).
ChainOfThoughtPolicy  (g, a) ~ pi(. | o, c, g_prev) from one network: a shared trunk predicts subgoal logits
                      over the candidate instructions (like LanguageGoalNet) and the action, the action head
                      conditioned on the subgoal's embedding -- the true one at training (teacher forcing),
                      its own argmax at inference. loss = ce_weight * CE + the action head's loss.
                      Batch keys: obs, command_emb, command_mask, prev_emb (B, E), target (B,) int64,
                      action (B, A); goal_emb (B, E) optional (default: the candidate table row of target).

Both take the low levels' action heads (config.head, hirl.policies.heads: mlp | chunk | diffusion, observation
history), so a baseline and a hierarchy are compared with the same head. With head.history k > 1, obs is (B, k, S)
(oldest first): the trunk reads the current observation and the head also gets the state features of the k - 1
before it; with head.horizon H > 1, action is (B, H, A) and an optional action_mask (B, H) marks real steps.

FlatAgent / ChainOfThoughtAgent drive them like a HierarchicalAgent (both SingleLevelAgents: reset(command),
act(obs, info=None), `subgoal` (CoT: the current predicted subgoal; flat: None), num_queries = 0, num_replans).
Chunked heads run through a HeadRunner (observation history, receding horizon or temporal ensembling); the
chain-of-thought agent drops pending actions when its predicted subgoal changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from hirl.encoders.commands import MAX_SUBTASKS, CommandFeaturizer
from hirl.encoders.text import TextEncoder
from hirl.encoders.text_factory import check_text_encoder, make_text_encoder
from hirl.policies.heads import ActionHead, HeadConfig, HeadRunner, build_head
from hirl.policies.inference import fast_inference, require_keys, to_tensor
from hirl.policies.module import PolicyModule
from hirl.policies.nets import CommandTrunk
from hirl.policies.obs import DEFAULT_OBS_KEYS, obs_vector
from hirl.policies.high.language import CandidateTable, LanguageHLConfig, SubgoalScorer
from hirl.types import Command, Observation, Subgoal


@dataclass
class FlatConfig:
    """Flat command-conditioned BC (every field saved in config.json)."""

    obs_dim: int = 32  # S, size of the state vector
    action_dim: int = 4  # A
    text_dim: int = 384  # E, text-embedding size
    text_encoder: str = "text"  # registered text encoder used at inference when none is passed: text | hash
    obs_keys: tuple[str, ...] = DEFAULT_OBS_KEYS  # Dict obs entries concatenated into the state vector
    max_subtasks: int = MAX_SUBTASKS  # K, longest command chain
    obs_feat: int = 128  # state-encoder output size
    cmd_dim: int = 128  # width of command tokens
    encoder_hidden: tuple[int, ...] = (256, 256)  # state-encoder hidden widths
    hidden: tuple[int, ...] = (256, 256)  # trunk widths
    head_hidden: tuple[int, ...] = (256,)  # action-head hidden widths (mlp / chunk)
    head: HeadConfig = field(default_factory=HeadConfig)  # action head and observation history (default: one-step MLP)


@dataclass
class CoTConfig(LanguageHLConfig):
    """Chain-of-thought net: the LanguageHLConfig fields (subgoal part) plus the action part."""

    action_dim: int = 4  # A
    goal_feat: int = 128  # projection of the (predicted or true) subgoal embedding fed to the action head
    head_hidden: tuple[int, ...] = (256,)  # action-head hidden widths (mlp / chunk)
    ce_weight: float = 1.0  # weight of the subgoal cross-entropy against the action loss
    head: HeadConfig = field(default_factory=HeadConfig)  # action head and observation history (default: one-step MLP)


def encode_frames(encoder: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    """A state encoder over frames (B, n, S) -> (B, n * F)."""
    return encoder(frames.float().reshape(-1, frames.shape[-1])).view(frames.shape[0], -1)


def split_history(obs: torch.Tensor, k: int, obs_dim: int, who: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """obs (B, S) (k = 1) or (B, k, S) -> (current (B, S), the k - 1 before it (B, k - 1, S) or None)."""
    if (obs.ndim == 2) != (k == 1) or obs.shape[-1] != obs_dim or (k > 1 and obs.shape[1] != k):
        raise ValueError(f"{who}: obs must be (B, {obs_dim})" if k == 1 else f"{who}: obs must be (B, {k}, {obs_dim})")
    return (obs, None) if k == 1 else (obs[:, -1], obs[:, :-1])


class FlatPolicy(PolicyModule):
    """CommandTrunk(obs, command) [++ state features of the previous k - 1 observations] -> action head -> (B, H, A)."""

    config_cls = FlatConfig

    def __init__(self, config: FlatConfig) -> None:
        super().__init__()
        self.config = c = config
        self.trunk = CommandTrunk(c.obs_dim, 0, c.text_dim, c.obs_feat, c.cmd_dim, c.encoder_hidden, c.hidden, c.max_subtasks)
        self.head: ActionHead = build_head(c.head, self.trunk.out_dim + (c.head.history - 1) * c.obs_feat, c.action_dim,
                                           c.head_hidden)

    def fit(self, obs: np.ndarray, text_emb: np.ndarray | None = None) -> FlatPolicy:
        """Fit the state normaliser from obs (N, S) and the text centering from the vocabulary text_emb (V, E)."""
        self.trunk.fit(obs, text_emb)
        return self

    def condition(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor) -> torch.Tensor:
        """obs (B, S) | (B, k, S), command -> the head's input (B, trunk + (k - 1) * obs_feat)."""
        current, past = split_history(obs, self.config.head.history, self.config.obs_dim, type(self).__name__)
        trunk = self.trunk(current, command_emb, command_mask)[0]
        if past is None:
            return trunk
        return torch.cat([trunk, encode_frames(self.trunk.obs_encoder, past)], dim=-1)

    def forward(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
                run: HeadConfig | None = None) -> torch.Tensor:
        """-> actions (B, H, A) in [-1, 1] (run: inference settings other than the trained ones)."""
        return self.head.predict(self.condition(obs, command_emb, command_mask), None, run)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        require_keys(batch, ("obs", "command_emb", "command_mask", "action"), type(self).__name__)
        cond = self.condition(batch["obs"], batch["command_emb"], batch["command_mask"])
        return self.head.loss(cond, batch["action"], batch.get("action_mask"))


class ChainOfThoughtPolicy(PolicyModule):
    """Shared trunk -> subgoal logits (B, N) over candidates, and actions (B, H, A) given a subgoal embedding."""

    config_cls = CoTConfig

    def __init__(self, config: CoTConfig, candidates: Sequence[str] = (), candidate_embs: np.ndarray | None = None) -> None:
        super().__init__()
        self.config = c = config
        self.scorer = SubgoalScorer(c)
        self.table = CandidateTable(candidates, c.text_dim, candidate_embs)
        self.goal_proj = nn.Linear(c.text_dim, c.goal_feat)
        cond = self.scorer.trunk.out_dim + c.obs_feat + c.goal_feat + (c.head.history - 1) * c.obs_feat
        self.action_head: ActionHead = build_head(c.head, cond, c.action_dim, c.head_hidden)

    @property
    def candidates(self) -> list[str]:
        return self.table.texts

    def extra_state(self) -> dict[str, Any]:
        return {"candidates": self.candidates}

    def fit(self, obs: np.ndarray, text_emb: np.ndarray | None = None) -> ChainOfThoughtPolicy:
        """Fit the state normaliser from obs (N, S) and the text centering from text_emb (V, E) (default: candidates)."""
        self.scorer.trunk.fit(obs, self.table.embeddings.numpy() if text_emb is None else text_emb)
        return self

    def think(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor, prev_emb: torch.Tensor,
              goal_emb: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> subgoal logits (B, N), chosen index (B,) (argmax), and the action head's input (B, C), conditioned on
        goal_emb when given, else on the chosen candidate."""
        current, past = split_history(obs, self.config.head.history, self.config.obs_dim, type(self).__name__)
        query, trunk, obs_feat = self.scorer(current, command_emb, command_mask, prev_emb)
        logits = self.scorer.logits(query, self.table.embeddings, self.config.temperature)
        choice = logits.argmax(-1)
        if goal_emb is None:
            goal_emb = self.table.embeddings[choice]
        goal = torch.relu(self.goal_proj(self.scorer.trunk.command.center(goal_emb)))
        parts = [trunk, obs_feat, goal]
        if past is not None:
            parts.append(encode_frames(self.scorer.trunk.obs_encoder, past))
        return logits, choice, torch.cat(parts, dim=-1)

    def forward(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor, prev_emb: torch.Tensor,
                goal_emb: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> logits (B, N), actions (B, H, A), chosen index (B,) (argmax; the actions use goal_emb when given)."""
        logits, choice, cond = self.think(obs, command_emb, command_mask, prev_emb, goal_emb)
        return logits, self.action_head.predict(cond), choice

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        require_keys(batch, ("obs", "command_emb", "command_mask", "prev_emb", "target", "action"), type(self).__name__)
        target = batch["target"].long()
        goal_emb = batch["goal_emb"] if "goal_emb" in batch else self.table.embeddings[target]
        logits, choice, cond = self.think(batch["obs"], batch["command_emb"], batch["command_mask"], batch["prev_emb"],
                                          goal_emb)
        ce = nn.functional.cross_entropy(logits, target)
        action_loss, metrics = self.action_head.loss(cond, batch["action"], batch.get("action_mask"))
        return self.config.ce_weight * ce + action_loss, {"ce": ce.item(), "action_loss": action_loss.item(), **metrics,
                                                          "acc": (choice == target).float().mean().item()}


class SingleLevelAgent:
    """Base of the agents without a separate high level (run_episode's Agent protocol, hirl.hierarchy.rollout):
    nothing is ever queried, `subgoal` is None unless a subclass predicts one, num_replans 0 unless it counts
    subgoal switches. Subclasses implement act() (adding 1 to step_count) and extend reset()."""

    num_queries = 0  # no separate high level is ever queried
    num_replans = 0  # subgoal switches; subclasses that predict subgoals count them

    def __init__(self, command: Command | None = None) -> None:
        self.command = command
        self.step_count = 0

    @property
    def subgoal(self) -> Subgoal | None:
        """No subgoal: the action comes straight from the observation (and command)."""
        return None

    def reset(self, command: Command | None = None) -> None:
        """Start a new episode (with a new command if given)."""
        if command is not None:
            self.command = command
        self.step_count = 0


class _CommandAgent(SingleLevelAgent):
    """The command featurisation shared by the imitation baselines (the command embedded once per episode) and the
    head's inference state (observation history, pending actions)."""

    def __init__(self, model: Any, text_encoder: TextEncoder | None, command: Command | None,
                 head: HeadConfig | None = None) -> None:
        super().__init__(command)
        cfg = model.config
        self.model = model.eval()
        self.text_encoder = text_encoder or make_text_encoder(cfg.text_encoder, cfg.text_dim)
        check_text_encoder(self.text_encoder, cfg.text_dim, type(self).__name__)
        self.commands = CommandFeaturizer(self.text_encoder, cfg.max_subtasks)
        self._cmd: tuple[torch.Tensor, torch.Tensor] | None = None
        self.runner = HeadRunner(cfg.head.run_as(head), cfg.action_dim)

    @property
    def predicted(self) -> bool:
        """Whether the last act() ran the action head."""
        return self.runner.predicted

    def reset(self, command: Command | None = None) -> None:
        """Start a new episode (with a new command if given)."""
        super().reset(command)
        self._cmd = None
        self.runner.reset()

    def _inputs(self, obs: Observation) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> the net's obs input (1, S) | (1, k, S) (this step pushed into the history), command_emb, command_mask."""
        if self.command is None:
            raise RuntimeError(f"{type(self).__name__}.act: no command; call reset(command) first")
        if self._cmd is None:
            emb, mask = self.commands(self.command)
            self._cmd = (to_tensor(emb), to_tensor(mask))
        return self.runner.observe(obs_vector(obs, self.model.config.obs_keys)), *self._cmd


class FlatAgent(_CommandAgent):
    """act(obs) -> (A,) float32 from FlatPolicy; `subgoal` is always None. head: inference settings (HeadConfig.run_as)."""

    def __init__(self, model: FlatPolicy | str | Path, text_encoder: TextEncoder | None = None,
                 command: Command | None = None, head: HeadConfig | None = None) -> None:
        super().__init__(model if isinstance(model, FlatPolicy) else FlatPolicy.load(model), text_encoder, command, head)

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        x, emb, mask = self._inputs(obs)
        if self.runner.needs_prediction():
            with fast_inference():
                self.runner.push(self.model(x, emb, mask, self.runner.config)[0].numpy())
        self.step_count += 1
        return self.runner.next()


class ChainOfThoughtAgent(_CommandAgent):
    """act(obs) -> (A,) float32; every step predicts a subgoal (its argmax, fed back as prev_emb next step)
    and, when the head needs a new prediction, the actions conditioned on it. `subgoal`: the current predicted
    Subgoal; num_replans: subgoal switches (each drops the pending actions). head: inference settings."""

    def __init__(self, model: ChainOfThoughtPolicy | str | Path, text_encoder: TextEncoder | None = None,
                 command: Command | None = None, head: HeadConfig | None = None) -> None:
        model = model if isinstance(model, ChainOfThoughtPolicy) else ChainOfThoughtPolicy.load(model)
        super().__init__(model, text_encoder, command, head)
        self.reset(command)

    def reset(self, command: Command | None = None) -> None:
        super().reset(command)
        self._subgoal: Subgoal | None = None
        self._index = -1
        self.prev_emb = torch.zeros(1, self.model.config.text_dim)
        self.num_replans = 0

    @property
    def subgoal(self) -> Subgoal | None:
        return self._subgoal

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        x, emb, mask = self._inputs(obs)
        with fast_inference():
            _, choice, cond = self.model.think(x, emb, mask, self.prev_emb)
        index = int(choice[0])
        if index != self._index:
            if self._subgoal is not None:
                self.num_replans += 1
            self._index = index
            self._subgoal = Subgoal("language", self.model.candidates[index], "policy")
            self.runner.new_goal()
        self.prev_emb = self.model.table.embeddings[index][None]
        if self.runner.needs_prediction():
            with fast_inference():
                self.runner.push(self.model.action_head.predict(cond, None, self.runner.config)[0].numpy())
        self.step_count += 1
        return self.runner.next()
