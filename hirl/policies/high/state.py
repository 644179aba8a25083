"""State high level: regress the goal state (G,) the current segment should reach.

    net = StateGoalNet(StateHLConfig(obs_dim=32, goal_dim=14)).fit(obs_array, goal_states)
    Trainer(net, ...).fit(); net.save("runs/x/high_state")
    high = StateHighLevel(StateGoalNet.load("runs/x/high_state"), text_encoder=MiniLMEncoder())
    high.propose(obs, command)          # Subgoal("state", (G,) float64)

Batch keys read by loss(): obs (B, S), command_emb (B, K, E), command_mask (B, K), prev_state (B, G) (the
state subgoal active at the previous control step, zeros at t = 0 -- same convention as prev_emb),
target_state (B, G), and with `residual` achieved (B, G) (the achieved goal now); optional weight (B,) float: each
row's weight in the loss (the weighted mean of the rows' squared errors; all rows weighing the same gives the plain
mean). Loss: MSE on targets standardised by a normaliser fitted from data (fit()).

progress: the network also reads the command's current subtask (batch key progress (B,) int64: how many subtasks
are done; at inference StateHighLevel counts the completions the replan rule tells it, completed()), as an input
and as the text its command attention matches: the memory of where the chain is that the language high level has in
its previous instruction.

residual: the network predicts goal - achieved goal now (read from the observation's `achieved_key` entry at
inference), so what a subgoal leaves alone (the blocks a pick does not touch) is exactly the state now, not a
regression of it; the previous subgoal is given relative to now as well.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hirl.encoders.text import TextEncoder
from hirl.policies.base import HighLevelPolicy
from hirl.encoders.commands import MAX_SUBTASKS, CommandFeaturizer
from hirl.encoders.text_factory import check_text_encoder, make_text_encoder
from hirl.policies.inference import fast_inference, require_keys, to_tensor
from hirl.policies.module import PolicyModule
from hirl.policies.nets import CommandTrunk, mlp
from hirl.policies.obs import DEFAULT_OBS_KEYS, achieved_of, obs_vector
from hirl.types import Command, Observation, Subgoal


@dataclass
class StateHLConfig:
    """Goal-state regressor (every field saved in config.json)."""

    obs_dim: int = 32  # S, size of the state vector
    goal_dim: int = 14  # G, size of a state subgoal (Tabletop: achieved_goal layout)
    text_dim: int = 384  # E, text-embedding size
    text_encoder: str = "text"  # registered text encoder used at inference when none is passed: text | hash
    obs_keys: tuple[str, ...] = DEFAULT_OBS_KEYS  # Dict obs entries concatenated into the state vector
    max_subtasks: int = MAX_SUBTASKS  # K, longest command chain
    obs_feat: int = 128  # state-encoder output size
    cmd_dim: int = 128  # width of command tokens / previous-goal projection
    encoder_hidden: tuple[int, ...] = (256, 256)  # state-encoder hidden widths
    hidden: tuple[int, ...] = (256, 256)  # trunk widths
    head_hidden: tuple[int, ...] = (256,)  # regression-head hidden widths
    eps: float = 1e-3  # floor on the target std (constant goal dims)
    residual: bool = False  # predict goal - achieved goal now (False: the goal itself)
    progress: bool = False  # also read the command's current subtask: the one after those completed so far
    achieved_key: str = "achieved_goal"  # observation entry holding the achieved goal now (G,) (residual only)

    def __post_init__(self) -> None:
        if min(self.obs_dim, self.goal_dim, self.text_dim, self.max_subtasks) < 1:
            raise ValueError("obs_dim, goal_dim, text_dim and max_subtasks must be >= 1")


class StateGoalNet(PolicyModule):
    """CommandTrunk(obs, command, [norm(prev_state), has_prev]) -> MLP -> normalised goal state (B, G)."""

    config_cls = StateHLConfig
    goal_mean: torch.Tensor  # buffers (G,), registered in __init__
    goal_std: torch.Tensor

    def __init__(self, config: StateHLConfig) -> None:
        super().__init__()
        self.config = c = config
        prev_dim = c.goal_dim + 1 + (c.text_dim + 1 if c.progress else 0)
        self.trunk = CommandTrunk(c.obs_dim, prev_dim, c.text_dim, c.obs_feat, c.cmd_dim, c.encoder_hidden,
                                  c.hidden, c.max_subtasks)
        self.head = mlp(self.trunk.out_dim, c.head_hidden, c.goal_dim)
        self.register_buffer("goal_mean", torch.zeros(c.goal_dim))
        self.register_buffer("goal_std", torch.ones(c.goal_dim))

    @torch.no_grad()
    def fit(self, obs: np.ndarray, goal_states: np.ndarray, text_emb: np.ndarray | None = None,
            achieved: np.ndarray | None = None) -> StateGoalNet:
        """Fit normalisers: obs (N, S), goal_states (N, G) (the targets; also used for prev_state), the command text
        centering from the vocabulary's embeddings text_emb (V, E) when given; residual: achieved (N, G), the
        achieved goal at each row (the targets are then goal_states - achieved)."""
        self.trunk.fit(obs, text_emb)
        g = np.asarray(goal_states, dtype=np.float64)
        if g.ndim != 2 or g.shape[1] != self.config.goal_dim or not len(g) or not np.all(np.isfinite(g)):
            raise ValueError(f"goal_states must be a finite non-empty (N, {self.config.goal_dim}) array, got {g.shape}")
        if self.config.residual:
            if achieved is None or np.shape(achieved) != g.shape:
                raise ValueError(f"a residual StateGoalNet fits on achieved goals (N, G) beside the targets {g.shape}")
            g = g - np.asarray(achieved, dtype=np.float64)
        self.goal_mean.copy_(torch.as_tensor(g.mean(0), dtype=torch.float32))
        self.goal_std.copy_(torch.as_tensor(np.maximum(g.std(0), self.config.eps), dtype=torch.float32))
        return self

    def _prev_input(self, prev_state: torch.Tensor, achieved: torch.Tensor | None) -> torch.Tensor:
        prev = prev_state.float()
        has = (prev.abs().sum(-1, keepdim=True) > 0).float()
        if achieved is not None:
            prev = prev - achieved.float()
        return torch.cat([(prev - self.goal_mean) / self.goal_std * has, has], dim=-1)

    def _achieved(self, achieved: torch.Tensor | None) -> torch.Tensor | None:
        """achieved (B, G) for a residual net (ValueError when missing), None otherwise."""
        if not self.config.residual:
            return None
        if achieved is None:
            raise ValueError("a residual StateGoalNet needs the achieved goal now (B, G)")
        return achieved.float()

    def _current(self, command_emb: torch.Tensor, command_mask: torch.Tensor,
                 progress: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(current subtask embedding (B, E), 1.0 where there is one (B, 1)) of a progress net (ValueError when
        progress (B,) is missing), None otherwise. Past the command's last subtask: zeros, 0.0."""
        if not self.config.progress:
            return None
        if progress is None:
            raise ValueError("a progress StateGoalNet needs the number of subtasks done (B,)")
        k = command_emb.shape[1]
        idx = progress.long().reshape(-1)
        rows = torch.arange(len(idx), device=idx.device)
        inside = (idx >= 0) & (idx < k)
        at = idx.clamp(0, k - 1)
        valid = (command_mask[rows, at].bool() & inside).float().unsqueeze(-1)
        return command_emb[rows, at].float() * valid, valid

    def forward(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
                prev_state: torch.Tensor, achieved: torch.Tensor | None = None,
                progress: torch.Tensor | None = None) -> torch.Tensor:
        """-> normalised prediction (B, G) of the goal (residual: of goal - achieved); see predict() for state units.
        achieved (B, G): the achieved goal now (residual nets); progress (B,) int64: subtasks done (progress nets)."""
        prev = self._prev_input(prev_state, self._achieved(achieved))
        current = self._current(command_emb, command_mask, progress)
        if current is None:
            trunk = self.trunk(obs, command_emb, command_mask, prev)[0]
        else:
            trunk = self.trunk(obs, command_emb, command_mask, torch.cat([prev, *current], dim=-1), match=current[0])[0]
        return self.head(trunk)

    def predict(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
                prev_state: torch.Tensor, achieved: torch.Tensor | None = None,
                progress: torch.Tensor | None = None) -> torch.Tensor:
        """-> goal state (B, G) in the units of the data (achieved, progress: as forward)."""
        goal = self(obs, command_emb, command_mask, prev_state, achieved, progress) * self.goal_std + self.goal_mean
        base = self._achieved(achieved)
        return goal if base is None else goal + base

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        keys = ("obs", "command_emb", "command_mask", "prev_state", "target_state")
        keys += ("achieved",) * self.config.residual + ("progress",) * self.config.progress
        require_keys(batch, keys, type(self).__name__)
        achieved = batch.get("achieved") if self.config.residual else None
        progress = batch.get("progress") if self.config.progress else None
        pred = self(batch["obs"], batch["command_emb"], batch["command_mask"], batch["prev_state"], achieved, progress)
        target_state = batch["target_state"].float()
        if achieved is not None:
            target_state = target_state - achieved.float()
        target = (target_state - self.goal_mean) / self.goal_std
        if "weight" in batch:  # per-row weights (B,): the weighted mean of the rows' mean squared errors
            weight = batch["weight"].to(pred.dtype)
            per_row = ((pred - target) ** 2).mean(dim=-1)
            loss = (weight * per_row).sum() / weight.sum().clamp_min(1e-12)
        else:
            loss = ((pred - target) ** 2).mean()
        with torch.no_grad():
            dist = ((pred - target) * self.goal_std).norm(dim=-1).mean()
        return loss, {"goal_dist": float(dist)}


class StateHighLevel(HighLevelPolicy):
    """propose(obs, command) -> Subgoal("state", (G,) float64); remembers it as prev_state (reset() clears).

    model         a StateGoalNet or the directory it was saved to
    text_encoder  embeds the command's subtasks (default: the encoder named in the config)"""

    def __init__(self, model: StateGoalNet | str | Path, text_encoder: TextEncoder | None = None) -> None:
        self.model = model if isinstance(model, StateGoalNet) else StateGoalNet.load(model)
        self.model.eval()
        cfg = self.model.config
        self.text_encoder = text_encoder or make_text_encoder(cfg.text_encoder, cfg.text_dim)
        check_text_encoder(self.text_encoder, cfg.text_dim, "StateHighLevel")
        self.commands = CommandFeaturizer(self.text_encoder, cfg.max_subtasks)
        self.prev_state = torch.zeros(1, cfg.goal_dim)
        self.done = 0  # subtasks the replan rule judged completed this episode (the progress input)

    def reset(self) -> None:
        self.prev_state = torch.zeros(1, self.model.config.goal_dim)
        self.done = 0

    def completed(self, subgoal: Subgoal) -> None:
        """The replan rule judged the active subgoal's subtask done: the next proposal is for the next subtask."""
        self.done += 1

    def observe(self, subgoal: Subgoal | None) -> None:
        """Tell the policy which state subgoal is active now (e.g. a correction); it becomes prev_state (None or
        another kind: no previous state subgoal). The count of completed subtasks is kept."""
        if subgoal is None or subgoal.kind != "state":
            self.prev_state = torch.zeros(1, self.model.config.goal_dim)
        else:
            self.prev_state = to_tensor(np.asarray(subgoal.value, dtype=np.float32))

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        emb, mask = self.commands(command)
        cfg = self.model.config
        x = to_tensor(obs_vector(obs, cfg.obs_keys))
        achieved = to_tensor(achieved_of(obs, cfg.achieved_key)) if cfg.residual else None
        progress = torch.tensor([self.done]) if cfg.progress else None
        with fast_inference():
            goal = self.model.predict(x, to_tensor(emb), to_tensor(mask), self.prev_state, achieved, progress)
        self.prev_state = goal.clone()
        return Subgoal("state", goal[0].numpy().astype(np.float64), "policy")
