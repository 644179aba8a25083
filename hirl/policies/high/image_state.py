"""Image goals read as state goals: a CNN that regresses the achieved goal a frame shows, and the high-level wrapper
that hands an image high level's goal frame to a state low level.

    net = FrameToState(FrameToStateConfig(goal_dim=14)).fit(goal_states)   # target normaliser from (N, G)
    Trainer(net, ...).fit()        # batches: image (B, H, W, 3) uint8, target_state (B, G) float32
    high = ImageAsStateGoal(ImageHighLevel(...), FrameToState.load("runs/x/models/frame_state"))
    high.propose(obs, command)     # Subgoal("state", (G,) float64): the generated frame, read; high.frame keeps it

Why: a goal frame at 32x32 shows a block as 2-3 pixels, and a low level conditioned on the frame itself learns little
from it (the image low level reaches 0.4 of 5 subtasks from the expert's own frames on Tabletop), while the state
low level reaches generated state goals a few centimetres off. Reading the frame into the achieved-goal space (block
positions to ~2 cm from 32x32 frames) lets an image high level drive the state low level: the image stays the
subgoal a person sees (`frame`), the low level gets what it can reach.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hirl.encoders.image import ImageEncoder, images_to_float
from hirl.policies.base import HighLevelPolicy, HighLevelWrapper
from hirl.policies.inference import fast_inference, require_keys
from hirl.policies.module import PolicyModule
from hirl.policies.nets import mlp
from hirl.types import Command, Observation, Subgoal


@dataclass
class FrameToStateConfig:
    """Frame -> achieved-goal regressor (every field saved in config.json)."""

    goal_dim: int = 14  # G, size of the achieved goal it regresses
    feat: int = 128  # CNN output size
    channels: tuple[int, int, int, int] = (16, 32, 32, 32)  # conv widths of the CNN (small: trained on CPU)
    hidden: tuple[int, ...] = (256,)  # regression-head hidden widths
    eps: float = 1e-3  # floor on the target std (constant goal dims)

    def __post_init__(self) -> None:
        if self.goal_dim < 1 or self.feat < 1:
            raise ValueError(f"FrameToStateConfig: goal_dim and feat must be >= 1, got {self.goal_dim}, {self.feat}")


class FrameToState(PolicyModule):
    """uint8 frame (B, H, W, 3) -> ImageEncoder CNN -> MLP -> achieved goal (B, G) (MSE on standardised targets)."""

    config_cls = FrameToStateConfig
    goal_mean: torch.Tensor  # buffers (G,), registered in __init__
    goal_std: torch.Tensor

    def __init__(self, config: FrameToStateConfig) -> None:
        super().__init__()
        self.config = c = config
        self.encoder = ImageEncoder(c.feat, c.channels)
        self.head = mlp(c.feat, c.hidden, c.goal_dim)
        self.register_buffer("goal_mean", torch.zeros(c.goal_dim))
        self.register_buffer("goal_std", torch.ones(c.goal_dim))

    @torch.no_grad()
    def fit(self, goal_states: np.ndarray) -> FrameToState:
        """Fit the target normaliser from the achieved goals (N, G) the training frames show."""
        g = np.asarray(goal_states, dtype=np.float64)
        if g.ndim != 2 or g.shape[1] != self.config.goal_dim or not len(g) or not np.all(np.isfinite(g)):
            raise ValueError(f"FrameToState.fit: goal_states must be a finite non-empty (N, {self.config.goal_dim}) "
                             f"array, got {g.shape}")
        self.goal_mean.copy_(torch.as_tensor(g.mean(0), dtype=torch.float32))
        self.goal_std.copy_(torch.as_tensor(np.maximum(g.std(0), self.config.eps), dtype=torch.float32))
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> standardised prediction (B, G); predict() gives state units."""
        return self.head(torch.relu(self.encoder(images_to_float(images))))

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> achieved goal (B, G) in the units of the data."""
        return self(images) * self.goal_std + self.goal_mean

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        require_keys(batch, ("image", "target_state"), type(self).__name__)
        target = (batch["target_state"].float() - self.goal_mean) / self.goal_std
        pred = self(batch["image"])
        with torch.no_grad():
            dist = ((pred - target) * self.goal_std).norm(dim=-1).mean()
        return ((pred - target) ** 2).mean(), {"goal_dist": float(dist)}


class ImageAsStateGoal(HighLevelWrapper):
    """propose(obs, command) -> Subgoal("state", FrameToState(inner's goal frame) (G,) float64, label kept).

    inner   a high level proposing image subgoals (ImageHighLevel, or the expert look-ahead of kind "image")
    reader  the FrameToState that reads a frame into the achieved-goal space
    `frame`: the last goal frame (uint8 (H, W, 3)), what a person is shown. The inner high level is told about the
    image subgoal behind each state subgoal it produced (observe), and passed other subgoals (corrections) as they are.
    """

    def __init__(self, inner: HighLevelPolicy, reader: FrameToState) -> None:
        super().__init__(inner)
        self.reader = reader.eval()
        self.frame: np.ndarray | None = None
        self._made: dict[int, Subgoal] = {}  # id of a state subgoal proposed here -> the image subgoal behind it

    def reset(self) -> None:
        super().reset()
        self.frame = None
        self._made.clear()

    def observe(self, subgoal: Subgoal) -> None:
        self.inner.observe(self._made.get(id(subgoal), subgoal))

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        image = self.inner.propose(obs, command)
        if image.kind != "image":
            raise TypeError(f"ImageAsStateGoal wraps a high level of image subgoals, got a {image.kind} subgoal")
        self.frame = np.asarray(image.value)
        with fast_inference():
            goal = self.reader.predict(torch.from_numpy(self.frame[None].copy()))[0].numpy().astype(np.float64)
        state = Subgoal("state", goal, image.source, image.label)
        self._made = {id(state): image}  # only the newest: older subgoals are no longer active
        return state

    @classmethod
    def load(cls, inner: HighLevelPolicy, directory: str | Path) -> ImageAsStateGoal:
        return cls(inner, FrameToState.load(directory))
