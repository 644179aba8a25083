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

from hirl.encoders.image import ImageEncoder, images_to_float, random_shift
from hirl.policies.base import HighLevelPolicy, HighLevelWrapper
from hirl.policies.inference import fast_inference, require_keys
from hirl.policies.module import PolicyModule
from hirl.policies.nets import mlp
from hirl.policies.obs import achieved_of
from hirl.types import Command, Observation, Subgoal


@dataclass
class FrameToStateConfig:
    """Frame -> achieved-goal regressor (every field saved in config.json)."""

    goal_dim: int = 14  # G, size of the achieved goal it regresses
    feat: int = 128  # CNN output size
    channels: tuple[int, int, int, int] = (16, 32, 32, 32)  # conv widths of the CNN (small: trained on CPU)
    hidden: tuple[int, ...] = (256,)  # regression-head hidden widths
    keypoints: int | None = None  # K: the CNN ends in a spatial softmax of K keypoints (positions); None: a pooled 4x4 grid
    shift: int | None = None  # training augmentation: frames shifted by up to +-shift pixels (DrQ); None: none
    eps: float = 1e-3  # floor on the target std (constant goal dims)
    # read the frame relative to the achieved goal now: the head also sees it and predicts goal - achieved, so what the
    # frame shows unchanged is the state now exactly (trained on segment-end frames from the steps of their segment)
    residual: bool = False
    achieved_key: str = "achieved_goal"  # observation entry holding the achieved goal now (G,) (residual only)

    def __post_init__(self) -> None:
        if self.goal_dim < 1 or self.feat < 1:
            raise ValueError(f"FrameToStateConfig: goal_dim and feat must be >= 1, got {self.goal_dim}, {self.feat}")
        if (self.keypoints is not None and self.keypoints < 1) or (self.shift is not None and self.shift < 1):
            raise ValueError(f"FrameToStateConfig: keypoints and shift must be >= 1 or null, got {self.keypoints}, "
                             f"{self.shift}")


class FrameToState(PolicyModule):
    """uint8 frame (B, H, W, 3) [-> random shift, training] -> ImageEncoder CNN (pooled grid or keypoints) [++ normalised
    achieved goal now] -> MLP -> achieved goal the frame
    shows (B, G) (residual: predicted as goal - achieved). MSE on standardised targets."""

    config_cls = FrameToStateConfig
    goal_mean: torch.Tensor  # buffers (G,), registered in __init__: the targets' normaliser
    goal_std: torch.Tensor
    now_mean: torch.Tensor  # the achieved-goal input's normaliser (residual)
    now_std: torch.Tensor

    def __init__(self, config: FrameToStateConfig) -> None:
        super().__init__()
        self.config = c = config
        self.encoder = ImageEncoder(c.feat, c.channels, keypoints=c.keypoints or 0)
        self.head = mlp(c.feat + (c.goal_dim if c.residual else 0), c.hidden, c.goal_dim)
        for name in ("goal_mean", "now_mean"):
            self.register_buffer(name, torch.zeros(c.goal_dim))
        for name in ("goal_std", "now_std"):
            self.register_buffer(name, torch.ones(c.goal_dim))

    @torch.no_grad()
    def fit(self, goal_states: np.ndarray, achieved: np.ndarray | None = None) -> FrameToState:
        """Fit the normalisers from the achieved goals (N, G) the training frames show and, residual, the achieved
        goals now (N, G) they are read against."""
        g = np.asarray(goal_states, dtype=np.float64)
        if g.ndim != 2 or g.shape[1] != self.config.goal_dim or not len(g) or not np.all(np.isfinite(g)):
            raise ValueError(f"FrameToState.fit: goal_states must be a finite non-empty (N, {self.config.goal_dim}) "
                             f"array, got {g.shape}")
        if self.config.residual:
            if achieved is None or np.shape(achieved) != g.shape:
                raise ValueError(f"FrameToState.fit: a residual reader fits on achieved goals now (N, G) beside the "
                                 f"goals {g.shape}")
            now = np.asarray(achieved, dtype=np.float64)
            self.now_mean.copy_(torch.as_tensor(now.mean(0), dtype=torch.float32))
            self.now_std.copy_(torch.as_tensor(np.maximum(now.std(0), self.config.eps), dtype=torch.float32))
            g = g - now
        self.goal_mean.copy_(torch.as_tensor(g.mean(0), dtype=torch.float32))
        self.goal_std.copy_(torch.as_tensor(np.maximum(g.std(0), self.config.eps), dtype=torch.float32))
        return self

    def _now(self, achieved: torch.Tensor | None) -> torch.Tensor | None:
        """achieved (B, G) for a residual reader (ValueError when missing), None otherwise."""
        if not self.config.residual:
            return None
        if achieved is None:
            raise ValueError("a residual FrameToState reads the frame against the achieved goal now (B, G)")
        return achieved.float()

    def forward(self, images: torch.Tensor, achieved: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 (B, H, W, 3) (and achieved (B, G), residual) -> standardised prediction (B, G); predict() gives
        state units."""
        feat = torch.relu(self.encoder(images_to_float(images)))
        now = self._now(achieved)
        if now is not None:
            feat = torch.cat([feat, (now - self.now_mean) / self.now_std], dim=-1)
        return self.head(feat)

    def predict(self, images: torch.Tensor, achieved: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 (B, H, W, 3) (and achieved (B, G), residual) -> achieved goal the frames show (B, G), data units."""
        goal = self(images, achieved) * self.goal_std + self.goal_mean
        now = self._now(achieved)
        return goal if now is None else goal + now

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        require_keys(batch, ("image", "target_state") + ("achieved",) * self.config.residual, type(self).__name__)
        now = self._now(batch.get("achieved"))
        target_state = batch["target_state"].float() if now is None else batch["target_state"].float() - now
        target = (target_state - self.goal_mean) / self.goal_std
        images = random_shift(batch["image"], self.config.shift or 0) if self.training else batch["image"]
        pred = self(images, batch.get("achieved"))
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
        self._made: tuple[Subgoal, Subgoal] | None = None  # (the newest state subgoal proposed here, its image subgoal)

    def reset(self) -> None:
        super().reset()
        self.frame = None
        self._made = None

    def observe(self, subgoal: Subgoal) -> None:
        made = self._made
        self.inner.observe(made[1] if made is not None and subgoal is made[0] else subgoal)

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        image = self.inner.propose(obs, command)
        if image.kind != "image":
            raise TypeError(f"ImageAsStateGoal wraps a high level of image subgoals, got a {image.kind} subgoal")
        self.frame = np.asarray(image.value)
        cfg = self.reader.config
        now = torch.from_numpy(achieved_of(obs, cfg.achieved_key))[None] if cfg.residual else None
        with fast_inference():
            goal = self.reader.predict(torch.from_numpy(self.frame[None].copy()), now)[0].numpy().astype(np.float64)
        state = Subgoal("state", goal, image.source, image.label)
        self._made = (state, image)  # only the newest: older subgoals are no longer active
        return state

    @classmethod
    def load(cls, inner: HighLevelPolicy, directory: str | Path) -> ImageAsStateGoal:
        return cls(inner, FrameToState.load(directory))
