"""Image goal/observation encoder: a small CNN trained together with the policy.

Input convention (one, everywhere): ImageEncoder.forward takes a FLOAT tensor (B, 3, H, W) with values in
[0, 1]. Camera frames and image subgoals are uint8 numpy (B, H, W, 3) / (H, W, 3); convert them with
image_to_tensor() at the numpy/torch boundary (images_to_float() for uint8 tensors already in a batch).

    x = image_to_tensor(frames)          # uint8 (B, H, W, 3) -> float32 (B, 3, H, W) in [0, 1]
    z = ImageEncoder(out_dim=128)(x)     # (B, 128)

Adaptive average pooling to a fixed grid makes the encoder work for any H, W >= 16 (e.g. 64x64, 96x96)
while keeping coarse spatial layout (where the objects are), which global pooling would throw away. With keypoints=K
the last feature map goes through a spatial softmax instead (K learned keypoints, each the expected (x, y) of a
softmax over the map: sub-cell positions, as robomimic's and Levine et al.'s visuomotor encoders read them), the
better choice when the task is reading where small objects are.

random_shift(images, pad) is the training augmentation of DrQ (pad by replicating the border, crop back at a random
offset per image), for CNNs trained on a few thousand distinct frames.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hirl.registry import ENCODERS


def image_to_tensor(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """uint8 images (B, H, W, 3) -- or one (H, W, 3), which gets B = 1 -- -> float32 tensor (B, 3, H, W) in [0, 1]."""
    arr = np.asarray(images)
    if arr.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (B, H, W, 3), got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (B, H, W, 3) or (H, W, 3), got shape {arr.shape}")
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(device)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def images_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 tensor (B, H, W, 3) -> float32 (B, 3, H, W) in [0, 1] (torch-side twin of image_to_tensor, for batches)."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (B, H, W, 3), got {images.dtype} {tuple(images.shape)}")
    return images.permute(0, 3, 1, 2).float().div(255.0)


@ENCODERS.register("image")
class ImageEncoder(nn.Module):
    """Small CNN: float (B, 3, H, W) in [0, 1] -> (B, out_dim).

    Four conv layers (strides 2, 2, 2, 1; GroupNorm + ReLU) -> adaptive average pool to pool x pool ->
    flatten -> Linear -> LayerNorm. ~0.23 M parameters at the defaults; ~1 ms per 64x64 frame (B=1, median, 2 CPU
    threads, no_grad).

    out_dim    size of the embedding
    channels   conv widths (4 layers)
    pool       side of the spatial grid kept before the linear head (keypoints = 0)
    keypoints  K > 0: a spatial softmax of K keypoints replaces the pooled grid (the head reads (B, 2K) positions)
    """

    def __init__(self, out_dim: int = 128, channels: tuple[int, int, int, int] = (32, 64, 64, 64), pool: int = 4,
                 keypoints: int = 0) -> None:
        super().__init__()
        if out_dim < 1 or pool < 1 or keypoints < 0 or len(channels) != 4 or min(channels) < 1:
            raise ValueError(f"bad ImageEncoder sizes: out_dim={out_dim}, channels={channels}, pool={pool}, "
                             f"keypoints={keypoints}")
        self.out_dim, self.pool, self.keypoints = int(out_dim), int(pool), int(keypoints)
        c1, c2, c3, c4 = (int(c) for c in channels)
        self.conv = nn.Sequential(
            nn.Conv2d(3, c1, 5, stride=2, padding=2), nn.GroupNorm(_groups(c1), c1), nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.GroupNorm(_groups(c2), c2), nn.ReLU(inplace=True),
            nn.Conv2d(c2, c3, 3, stride=2, padding=1), nn.GroupNorm(_groups(c3), c3), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, stride=1, padding=1), nn.GroupNorm(_groups(c4), c4), nn.ReLU(inplace=True),
            SpatialSoftmax(c4, self.keypoints) if self.keypoints else nn.AdaptiveAvgPool2d(self.pool),
        )
        flat = 2 * self.keypoints if self.keypoints else c4 * self.pool * self.pool
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, self.out_dim), nn.LayerNorm(self.out_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: float (B, 3, H, W) in [0, 1] (see image_to_tensor) -> (B, out_dim)."""
        if images.dtype == torch.uint8:
            raise ValueError("ImageEncoder takes float (B, 3, H, W) in [0, 1]; "
                             "convert uint8 (B, H, W, 3) with image_to_tensor()")
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"ImageEncoder expects (B, 3, H, W), got shape {tuple(images.shape)}")
        if min(images.shape[2], images.shape[3]) < 16:
            raise ValueError(f"ImageEncoder needs H, W >= 16, got {tuple(images.shape[2:])}")
        return self.head(self.conv(images))


class SpatialSoftmax(nn.Module):
    """Feature map (B, C, h, w) -> (B, K, 2): a 1x1 conv to K maps, each turned into the expected (x, y) in [-1, 1]
    under a softmax over its h x w cells (a learned temperature per keypoint)."""

    def __init__(self, channels: int, keypoints: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(channels, keypoints, 1)
        self.log_temperature = nn.Parameter(torch.zeros(keypoints))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        maps = self.project(features)
        h, w = maps.shape[-2:]
        weights = torch.softmax(maps.flatten(2) / self.log_temperature.exp()[None, :, None], dim=-1)  # (B, K, h*w)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=maps.device),
                                torch.linspace(-1, 1, w, device=maps.device), indexing="ij")
        grid = torch.stack([xs.flatten(), ys.flatten()], dim=-1)  # (h*w, 2)
        return weights @ grid


def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> the same images, each shifted by up to +-pad pixels (border replicated; DrQ's
    augmentation). pad 0 returns images unchanged."""
    if pad <= 0:
        return images
    b, h, w, _ = images.shape
    padded = nn.functional.pad(images.permute(0, 3, 1, 2).float(), (pad, pad, pad, pad), mode="replicate")
    dy, dx = torch.randint(0, 2 * pad + 1, (2, b), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # (B, 1, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]  # (B, 1, 1, W)
    idx = torch.arange(b)[:, None, None, None]
    out = padded[idx, torch.arange(3)[None, :, None, None], rows, cols]  # (B, 3, H, W)
    return out.round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def _groups(channels: int) -> int:
    for g in (8, 4, 2):
        if channels % g == 0:
            return g
    return 1
