"""A learned affordance / initiation classifier: p(skill succeeds | obs) for a frozen low level, trained from rollout
outcomes (hirl.skills.outcomes). SayCan's affordance; also the initiation set of envs without predicates
(hirl.skills.library.LearnedInitiation).

    model = AffordanceModel(skills=library.names, obs_keys=("observation", "touch"), obs_dim=55)
    model.fit(obs (N, S), skill (N,) int, success (N,) bool); model.save(DIR); AffordanceModel.load(DIR)
    model.probabilities(obs, ["open_drawer", ...]) -> (K,) float
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.policies.obs import obs_vector
from hirl.types import Observation
from hirl.weights import load_weights, save_weights


class AffordanceModel(nn.Module):
    """MLP on [normalised obs (S,), one-hot skill (K,)] -> success logit. Inputs are standardised with the training
    set's mean / std (saved with the weights)."""

    mean: torch.Tensor  # (S,) buffers, set by fit()
    std: torch.Tensor

    def __init__(self, skills: Sequence[str], obs_keys: Sequence[str], obs_dim: int, hidden: int = 128) -> None:
        super().__init__()
        if not skills or obs_dim < 1:
            raise ValueError("AffordanceModel needs skills and obs_dim >= 1")
        self.skills, self.obs_keys, self.obs_dim, self.hidden = list(skills), tuple(obs_keys), int(obs_dim), int(hidden)
        self.index = {s: i for i, s in enumerate(self.skills)}
        self.net = nn.Sequential(nn.Linear(obs_dim + len(skills), hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))
        self.register_buffer("mean", torch.zeros(obs_dim))
        self.register_buffer("std", torch.ones(obs_dim))

    def forward(self, obs: torch.Tensor, skill: torch.Tensor) -> torch.Tensor:
        """obs (B, S) float, skill (B,) int64 -> logits (B,)."""
        x = (obs - self.mean) / self.std
        onehot = torch.nn.functional.one_hot(skill, len(self.skills)).to(x.dtype)
        return self.net(torch.cat([x, onehot], dim=-1)).squeeze(-1)

    def fit(self, obs: np.ndarray, skill: np.ndarray, success: np.ndarray, steps: int = 3000, batch: int = 256,
            lr: float = 1e-3, weight_decay: float = 1e-3, val_fraction: float = 0.2, eval_every: int = 50,
            seed: int = 0) -> dict[str, float]:
        """Logistic regression by AdamW on (obs (N, S), skill (N,), success (N,)), early-stopped: a random
        val_fraction of the rows is held out and the weights with the lowest held-out loss (checked every eval_every
        steps) are kept, so a small outcome set does not give overconfident probabilities. Returns {"loss",
        "accuracy"} on the training rows, {"val_loss", "val_accuracy"} on the held-out ones and "best_step". A tiny
        tabular fit: the supervised Trainer's checkpoints and run directory are not needed."""
        n = len(obs)
        if not (n == len(skill) == len(success)) or n < 2:
            raise ValueError(f"AffordanceModel.fit: {len(obs)} obs, {len(skill)} skills, {len(success)} labels")
        gen = torch.Generator().manual_seed(seed)
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32))
        k = torch.as_tensor(np.asarray(skill, dtype=np.int64))
        y = torch.as_tensor(np.asarray(success, dtype=np.float32))
        order = torch.randperm(n, generator=gen)
        n_val = max(1, round(val_fraction * n))
        va, tr = order[:n_val], order[n_val:]
        self.mean.copy_(x[tr].mean(0))
        self.std.copy_(x[tr].std(0).clamp_min(1e-3))
        opt = torch.optim.AdamW(self.parameters(), lr=lr, weight_decay=weight_decay)
        lossf = nn.BCEWithLogitsLoss()
        best = (float("inf"), 0, {name: t.clone() for name, t in self.state_dict().items()})
        for step in range(1, steps + 1):
            self.train()
            i = tr[torch.randint(0, len(tr), (min(batch, len(tr)),), generator=gen)]
            loss = lossf(self(x[i], k[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % eval_every == 0:
                self.eval()
                with torch.no_grad():
                    val = float(lossf(self(x[va], k[va]), y[va]))
                if val < best[0]:
                    best = (val, step, {name: t.clone() for name, t in self.state_dict().items()})
        self.load_state_dict(best[2])
        self.eval()
        with torch.no_grad():
            lt, lv = self(x[tr], k[tr]), self(x[va], k[va])
            return {"loss": float(lossf(lt, y[tr])), "accuracy": float(((lt > 0).float() == y[tr]).float().mean()),
                    "val_loss": float(lossf(lv, y[va])), "val_accuracy": float(((lv > 0).float() == y[va]).float().mean()),
                    "best_step": best[1]}

    @torch.no_grad()
    def probabilities(self, obs: Observation, skills: Sequence[str]) -> np.ndarray:
        """(K,) success probability of each named skill from one observation."""
        unknown = [s for s in skills if s not in self.index]
        if unknown:
            raise InputError(f"affordance model knows no skill {unknown[0]!r} (skills: {', '.join(self.skills)})")
        x = torch.as_tensor(obs_vector(obs, self.obs_keys)).float().expand(len(skills), -1)
        k = torch.as_tensor([self.index[s] for s in skills])
        return torch.sigmoid(self(x, k)).numpy().astype(np.float64)

    def config(self) -> dict[str, Any]:
        return {"skills": self.skills, "obs_keys": list(self.obs_keys), "obs_dim": self.obs_dim, "hidden": self.hidden}

    def save(self, directory: str | Path) -> Path:
        """DIR/config.json + DIR/model.safetensors."""
        directory = Path(directory)
        save_weights(self, directory / "model.safetensors")
        atomic_write_json(directory / "config.json", self.config())
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> AffordanceModel:
        directory = Path(directory)
        cfg_path = directory / "config.json"
        if not cfg_path.is_file():
            raise InputError(f"{directory}: no affordance model (config.json missing)")
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
            model = cls(cfg["skills"], cfg["obs_keys"], int(cfg["obs_dim"]), int(cfg.get("hidden", 128)))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{cfg_path}: bad affordance config ({exc})") from None
        load_weights(model, directory / "model.safetensors")
        model.eval()
        return model


class PreconditionAffordance:
    """An affordance read off the env's preconditions (EnvAdapter.can_start): `inside` for a skill whose initiation set
    holds, `outside` otherwise. The oracle ablation of AffordanceModel (same probabilities() interface)."""

    def __init__(self, can_start: Callable[[str, Observation], str | None], inside: float = 0.95,
                 outside: float = 0.05) -> None:
        self.can_start, self.inside, self.outside = can_start, float(inside), float(outside)

    def probabilities(self, obs: Observation, skills: Sequence[str]) -> np.ndarray:
        """(K,) inside / outside for each named skill."""
        return np.array([self.inside if self.can_start(s, obs) is None else self.outside for s in skills])
