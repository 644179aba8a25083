"""Image high level: a compact conditional U-Net that predicts the frame at the end of the current segment
from the current frame and the command.

    gen = ImageGoalGenerator(ImageGenConfig(text_dim=384))
    Trainer(gen, ...).fit(); gen.save("runs/x/high_image")
    high = ImageHighLevel(ImageGoalGenerator.load("runs/x/high_image"), render=lambda: env.render())
    high.propose(obs, command)            # Subgoal("image", uint8 (H, W, 3)); render() is called only here

Batch keys read by loss(): image (B, H, W, 3) uint8 current frame, target_image (B, H, W, 3) uint8 frame at
the segment end, command_emb (B, K, E), command_mask (B, K), prev_emb (B, E) (read only when use_prev).
H and W must be multiples of 8 (e.g. 64x64). Loss: L1 on [0, 1] pixels (sharper than MSE for small objects
that move; MSE is reported as a metric, with the L1 of just copying the input as the baseline to beat).

Architecture: three stride-2 conv stages (64 -> 8 px), a bottleneck, three upsampling stages with skip
connections; the output is an edit of the input, (1 - m) * input + m * rgb with a predicted soft mask m
(initialised near 0) and colours rgb, so "nothing changes" is the easy default, the net spends its capacity
on what moves, and saturated colours are reachable in a few steps. Conditioning: a pointer-attention command
encoding (context: pooled bottleneck features + previous subgoal) -> FiLM (scale, shift) on the bottleneck and
both decoder stages.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from hirl.encoders.image import _groups
from hirl.encoders.text import TextEncoder
from hirl.policies.base import HighLevelPolicy
from hirl.encoders.commands import MAX_SUBTASKS, CommandFeaturizer, command_subtasks
from hirl.encoders.image import images_to_float
from hirl.encoders.text_factory import check_text_encoder, make_text_encoder
from hirl.policies.inference import fast_inference, require_keys, to_tensor
from hirl.policies.module import PolicyModule
from hirl.policies.nets import CommandEncoder
from hirl.types import Command, Observation, Subgoal


@dataclass
class ImageGenConfig:
    """Goal-image generator (every field saved in config.json)."""

    text_dim: int = 384  # E, text-embedding size
    text_encoder: str = "text"  # registered text encoder used at inference when none is passed: text | hash
    max_subtasks: int = MAX_SUBTASKS  # K, longest command chain
    # conv widths at full, 1/2 and 1/4 resolution (bottleneck: last); small: CPU training
    channels: tuple[int, int, int] = (24, 32, 48)
    cond_dim: int = 64  # conditioning vector size fed to the FiLM layers
    use_prev: bool = True  # condition on prev_emb (the previous subgoal's text embedding)
    loss: str = "l1"  # pixel loss on [0, 1]: l1 | mse

    def __post_init__(self) -> None:
        if self.loss not in ("l1", "mse"):
            raise ValueError(f"ImageGenConfig.loss must be 'l1' or 'mse', got {self.loss!r}")
        if len(self.channels) != 3 or min(self.channels) < 1:
            raise ValueError(f"ImageGenConfig.channels must be 3 positive widths, got {self.channels}")


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.GroupNorm(_groups(cout), cout), nn.SiLU())


class _FiLM(nn.Module):
    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.lin.weight)
        nn.init.zeros_(self.lin.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.lin(cond)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + scale) + shift


class ImageGoalGenerator(PolicyModule):
    """forward(image float (B, 3, H, W) in [0, 1], command_emb (B, K, E), command_mask (B, K), prev_emb (B, E))
    -> predicted goal frame float (B, 3, H, W) in [0, 1]."""

    config_cls = ImageGenConfig

    def __init__(self, config: ImageGenConfig) -> None:
        super().__init__()
        self.config = c = config
        c1, c2, c3 = (int(x) for x in c.channels)
        self.e1, self.e2, self.e3 = _conv(3, c1), _conv(c1, c2, 2), _conv(c2, c3, 2)
        self.mid = nn.Sequential(_conv(c3, c3, 2), _conv(c3, c3))
        self.d3, self.d2, self.d1 = _conv(2 * c3, c2), _conv(2 * c2, c1), _conv(2 * c1, c1)
        self.out = nn.Conv2d(c1, 4, 1)  # channel 0: edit mask logit, 1-3: colour logits
        bias = self.out.bias
        assert bias is not None  # Conv2d has a bias by default
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(bias)
        with torch.no_grad():
            bias[0] = -4.0  # start close to "copy the input" (mask ~0.02)
        self.prev_proj = nn.Linear(c.text_dim, c.cond_dim)
        self.img_proj = nn.Linear(c3, c.cond_dim)
        self.command = CommandEncoder(c.text_dim, 2 * c.cond_dim, c.cond_dim, c.max_subtasks)
        self.cond = nn.Sequential(nn.Linear(3 * c.cond_dim, c.cond_dim), nn.SiLU())
        self.film_mid, self.film3, self.film2 = _FiLM(c.cond_dim, c3), _FiLM(c.cond_dim, c2), _FiLM(c.cond_dim, c1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def fit(self, text_emb: np.ndarray) -> ImageGoalGenerator:
        """Fit the command/previous-subgoal text centering from the vocabulary's embeddings text_emb (V, E)."""
        self.command.center.fit(text_emb)
        return self

    def forward(self, image: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
                prev_emb: torch.Tensor | None = None) -> torch.Tensor:
        if image.ndim != 4 or image.shape[1] != 3 or image.shape[2] % 8 or image.shape[3] % 8:
            raise ValueError(f"ImageGoalGenerator expects float (B, 3, H, W) with H, W multiples of 8, "
                             f"got {tuple(image.shape)}")
        h1 = self.e1(image)
        h2 = self.e2(h1)
        h3 = self.e3(h2)
        mid = self.mid(h3)
        if prev_emb is None or not self.config.use_prev:
            prev_emb = image.new_zeros(image.shape[0], self.config.text_dim)
        ctx = torch.cat([torch.relu(self.prev_proj(self.command.center(prev_emb))),
                         torch.relu(self.img_proj(mid.mean((2, 3))))], dim=-1)
        feat, _, _ = self.command(command_emb.float(), command_mask, ctx, prev_emb)
        cond = self.cond(torch.cat([feat, ctx], dim=-1))
        mid = self.film_mid(mid, cond)
        x = self.film3(self.d3(torch.cat([self.up(mid), h3], 1)), cond)
        x = self.film2(self.d2(torch.cat([self.up(x), h2], 1)), cond)
        x = self.d1(torch.cat([self.up(x), h1], 1))
        out = self.out(x)
        alpha = torch.sigmoid(out[:, :1])
        return (1 - alpha) * image + alpha * torch.sigmoid(out[:, 1:])

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        keys = ("image", "target_image", "command_emb", "command_mask") + (("prev_emb",) if self.config.use_prev else ())
        require_keys(batch, keys, type(self).__name__)
        image, target = images_to_float(batch["image"]), images_to_float(batch["target_image"])
        pred = self(image, batch["command_emb"], batch["command_mask"], batch.get("prev_emb"))
        err = pred - target
        l1, mse = err.abs().mean(), (err ** 2).mean()
        with torch.no_grad():
            copy_l1 = (image - target).abs().mean()
        return (l1 if self.config.loss == "l1" else mse), {"l1": l1.item(), "mse": mse.item(), "copy_l1": copy_l1.item()}

    @torch.inference_mode()
    def generate(self, frame: np.ndarray, command_emb: np.ndarray, command_mask: np.ndarray,
                 prev_emb: np.ndarray | None = None) -> np.ndarray:
        """One uint8 frame (H, W, 3), (K, E), (K,), (E,) -> predicted goal frame uint8 (H, W, 3)."""
        arr = np.asarray(frame)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"frame must be uint8 (H, W, 3), got {arr.dtype} {arr.shape}")
        image = images_to_float(to_tensor(arr))
        prev = None if prev_emb is None else to_tensor(np.asarray(prev_emb, np.float32))
        out = self(image, to_tensor(command_emb), to_tensor(command_mask), prev)[0]
        return (out.permute(1, 2, 0) * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()


class ImageHighLevel(HighLevelPolicy):
    """propose(obs, command) -> Subgoal("image", predicted end-of-segment frame, uint8 (H, W, 3)).

    model         an ImageGoalGenerator or the directory it was saved to
    render        () -> current camera frame uint8 (H, W, 3); called only inside propose (high-level ticks)
    text_encoder  embeds the command's subtasks (default: the encoder named in the config)
    prev          how prev_emb is chosen at inference (the agent has no language label for image subgoals):
                  "proposal_count": before the n-th proposal of the episode, the (n-1)-th command subtask
                  (right when the high level is queried once per completed subtask, i.e. completion-based
                  replanning); "none": zeros (pair with a generator trained with use_prev=False).
    last_frame    the frame rendered at the last propose (for overlays)
    """

    def __init__(self, model: ImageGoalGenerator | str | Path, render: Callable[[], np.ndarray],
                 text_encoder: TextEncoder | None = None, prev: str = "proposal_count") -> None:
        if not callable(render):
            raise TypeError("ImageHighLevel needs a render() callable returning a uint8 (H, W, 3) frame")
        if prev not in ("proposal_count", "none"):
            raise ValueError(f"ImageHighLevel.prev must be 'proposal_count' or 'none', got {prev!r}")
        self.model = model if isinstance(model, ImageGoalGenerator) else ImageGoalGenerator.load(model)
        self.model.eval()
        cfg = self.model.config
        self.render, self.prev = render, prev
        self.text_encoder = text_encoder or make_text_encoder(cfg.text_encoder, cfg.text_dim)
        check_text_encoder(self.text_encoder, cfg.text_dim, "ImageHighLevel")
        self.commands = CommandFeaturizer(self.text_encoder, cfg.max_subtasks)
        self.num_proposals = 0
        self.last_frame: np.ndarray | None = None

    def reset(self) -> None:
        self.num_proposals = 0
        self.last_frame = None

    def _prev_emb(self, command: Command) -> np.ndarray:
        if self.prev == "none" or self.num_proposals == 0:
            return np.zeros(self.model.config.text_dim, np.float32)
        subtasks = command_subtasks(command)
        return self.text_encoder.encode_one(subtasks[min(self.num_proposals, len(subtasks)) - 1])

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        frame = np.asarray(self.render())
        emb, mask = self.commands(command)
        with fast_inference():
            goal = self.model.generate(frame, emb, mask, self._prev_emb(command))
        self.last_frame = frame
        self.num_proposals += 1
        return Subgoal("image", goal, "policy")
