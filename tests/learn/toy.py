"""A tiny deterministic regression problem for trainer tests (also run as a script by the kill -9 test).

    python tests/learn/toy.py RUN_DIR [--sleep SECONDS] [--max-steps N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

if __package__ in (None, ""):  # run as a script: make `tests` importable without installing it
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hirl.learn import Trainer, TrainerConfig

IN, OUT = 6, 2


class ToyModel(nn.Module):
    """y = W x + noise; dropout so that the torch RNG state matters for exact resume."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(IN, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, OUT))

    def loss(self, batch):
        err = self.net(batch["x"]) - batch["y"]
        loss = (err ** 2).mean()
        return loss, {"mae": float(err.detach().abs().mean())}


def make_data(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = np.linspace(-1, 1, IN * OUT).reshape(IN, OUT)
    x = rng.normal(size=(n, IN)).astype(np.float32)
    return {"x": x, "y": (x @ w + 0.05 * rng.normal(size=(n, OUT))).astype(np.float32)}


class SlowSampler:
    """(step, rng) -> batch drawn only from rng; optional sleep to give a test time to kill the process."""

    def __init__(self, data: dict[str, np.ndarray], batch_size: int, sleep: float = 0.0) -> None:
        self.data, self.batch_size, self.sleep = data, batch_size, sleep

    def __call__(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        if self.sleep:
            time.sleep(self.sleep)
        idx = rng.integers(0, len(self.data["x"]), self.batch_size)
        return {k: torch.from_numpy(v[idx]) for k, v in self.data.items()}


def val_source(data: dict[str, np.ndarray]):
    def batches():
        for s in range(0, len(data["x"]), 64):
            yield {k: torch.from_numpy(v[s:s + 64]) for k, v in data.items()}
    return batches


def run(run_dir: str | Path, max_steps: int = 120, sleep: float = 0.0, **overrides):
    torch.manual_seed(123)  # model init; a resumed run overwrites it from the checkpoint
    cfg = TrainerConfig(**{"max_steps": max_steps, "batch_size": 32, "lr": 3e-3, "eval_every": 20,
                           "checkpoint_every": 10, "log_every": 5, "seed": 7, "progress": False,
                           "tensorboard": False, **overrides})
    trainer = Trainer(ToyModel(), cfg, run_dir, SlowSampler(make_data(512, 0), cfg.batch_size, sleep),
                      val_source(make_data(128, 1)))
    return trainer.fit()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--max-steps", type=int, default=120)
    args = ap.parse_args()
    torch.set_num_threads(1)
    result = run(args.run_dir, args.max_steps, args.sleep)
    print(result.steps_done, result.best_val_loss)
