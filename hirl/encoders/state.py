"""State goal/observation encoder: an MLP with optional input normalisation.

    enc = StateEncoder(in_dim=10, out_dim=64)
    enc.fit_normalizer(states)            # numpy (N, 10): mean/std stored in buffers, saved with state_dict()
    z = enc(torch.as_tensor(states))      # (N, 64)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from hirl.registry import ENCODERS


@ENCODERS.register("state")
class StateEncoder(nn.Module):
    """MLP: float (B, in_dim) -> (B, out_dim).

    in_dim     size of the state vector S
    out_dim    embedding size D (the last layer is linear, no activation)
    hidden     hidden layer widths
    normalize  standardise inputs with the fitted mean/std buffers (identity until fit_normalizer is called)
    eps        floor on the std, so constant dimensions do not blow up

    Buffers (saved in state_dict): norm_mean (S,), norm_std (S,), norm_count () -- the number of samples fitted.
    """

    norm_mean: torch.Tensor  # buffers, registered in __init__
    norm_std: torch.Tensor
    norm_count: torch.Tensor

    def __init__(self, in_dim: int, out_dim: int = 64, hidden: Sequence[int] = (256, 256), normalize: bool = True,
                 eps: float = 1e-6) -> None:
        super().__init__()
        if in_dim < 1 or out_dim < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"bad StateEncoder sizes: in_dim={in_dim}, out_dim={out_dim}, hidden={tuple(hidden)}")
        self.in_dim, self.out_dim, self.normalize, self.eps = int(in_dim), int(out_dim), bool(normalize), float(eps)
        layers: list[nn.Module] = []
        width = self.in_dim
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU(inplace=True)]
            width = int(h)
        layers.append(nn.Linear(width, self.out_dim))
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("norm_mean", torch.zeros(self.in_dim))
        self.register_buffer("norm_std", torch.ones(self.in_dim))
        self.register_buffer("norm_count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def fit_normalizer(self, data: np.ndarray, update: bool = False) -> None:
        """Set the normaliser from data (N, in_dim). update=True merges with what was fitted before (running stats)."""
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.in_dim or arr.shape[0] == 0:
            raise ValueError(f"fit_normalizer expects a non-empty (N, {self.in_dim}) array, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("fit_normalizer: data contains NaN or inf")
        n, mean, var = float(arr.shape[0]), arr.mean(0), arr.var(0)
        old_n = float(self.norm_count.item()) if update else 0.0
        if old_n > 0:  # Chan et al. parallel combination of (count, mean, M2)
            old_mean = self.norm_mean.double().numpy()
            old_var = np.maximum(self.norm_std.double().numpy() ** 2 - self.eps ** 2, 0.0)
            total = old_n + n
            delta = mean - old_mean
            mean = old_mean + delta * n / total
            var = (old_var * old_n + var * n + delta ** 2 * old_n * n / total) / total
            n = total
        self.norm_mean.copy_(torch.as_tensor(mean, dtype=self.norm_mean.dtype))
        self.norm_std.copy_(torch.as_tensor(np.sqrt(var + self.eps ** 2), dtype=self.norm_std.dtype))
        self.norm_count.fill_(n)

    def normalize_input(self, states: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> (B, in_dim) standardised (unchanged if normalize=False or nothing fitted yet)."""
        if not self.normalize:
            return states
        return (states - self.norm_mean) / self.norm_std

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """states: float (B, in_dim) -> (B, out_dim)."""
        if states.ndim != 2 or states.shape[1] != self.in_dim:
            raise ValueError(f"StateEncoder expects (B, {self.in_dim}), got shape {tuple(states.shape)}")
        return self.mlp(self.normalize_input(states.to(self.norm_mean.dtype)))
