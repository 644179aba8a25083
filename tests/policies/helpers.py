"""Tiny synthetic data and a train() shortcut over hirl.learn.Trainer for the policy tests (HashTextEncoder only)."""
from __future__ import annotations

import csv
import os
import tempfile

import numpy as np
import torch

from hirl.encoders import HashTextEncoder
from hirl.encoders.commands import CommandFeaturizer
from hirl.encoders.text_factory import text_embeddings
from hirl.learn.trainer import ArraySampler, Trainer, TrainerConfig

E = 64  # hash embedding dim used in every test
S = 8  # state size
G = 5  # state-goal size
A = 4  # action size
SKILLS = ["open the drawer", "close the drawer", "push the button", "pick up the red block", "pick up the blue block",
          "put the block down"]
CHAINS = [(0, 2, 3), (1, 4), (2, 0, 5), (3, 5, 1, 2), (4, 1), (5, 3, 0)]

_ENC = HashTextEncoder(dim=E)


def encoder() -> HashTextEncoder:
    return _ENC


def obs_for(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(size=(n, S)).astype(np.float32)


def chain_data(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """High-level samples: random chain, random position j; prev = skill j-1 (zeros at j=0), target = skill j.

    Also: action = a fixed function of (obs, target skill); target_state = a fixed vector per skill;
    done = obs[target % S] > 0."""
    rng = np.random.default_rng(seed)
    feats = CommandFeaturizer(_ENC)
    chain_idx = rng.integers(0, len(CHAINS), n)
    pos = np.array([rng.integers(0, len(CHAINS[c])) for c in chain_idx])
    target = np.array([CHAINS[c][p] for c, p in zip(chain_idx, pos, strict=True)], np.int64)
    prev_text = [SKILLS[CHAINS[c][p - 1]] if p > 0 else None for c, p in zip(chain_idx, pos, strict=True)]
    cmd_emb, cmd_mask = feats.batch([[SKILLS[i] for i in CHAINS[c]] for c in chain_idx])
    obs = obs_for(n, rng)
    w = np.random.default_rng(123).normal(size=(len(SKILLS), S, A)).astype(np.float32) / np.sqrt(S)
    action = np.tanh(np.einsum("ns,nsa->na", obs, w[target])).astype(np.float32)
    goal_table = np.random.default_rng(7).normal(size=(len(SKILLS), G)).astype(np.float32) * 2 + 3
    prev_state = np.stack([goal_table[CHAINS[c][p - 1]] if p > 0 else np.zeros(G, np.float32)
                           for c, p in zip(chain_idx, pos, strict=True)])
    return {
        "obs": obs, "command_emb": cmd_emb, "command_mask": cmd_mask, "prev_emb": text_embeddings(_ENC, prev_text),
        "target": target, "goal_emb": _ENC.encode([SKILLS[t] for t in target]), "action": action,
        "goal_state": goal_table[target], "target_state": goal_table[target], "prev_state": prev_state.astype(np.float32),
        "done": (obs[np.arange(n), target % S] > 0).astype(np.float32),
    }


def to_batch(data: dict[str, np.ndarray], keys=None) -> dict[str, torch.Tensor]:
    keys = keys or list(data)
    return {k: torch.from_numpy(np.ascontiguousarray(data[k])) for k in keys}


def train(model: torch.nn.Module, data: dict[str, np.ndarray], steps: int, batch_size: int = 64, lr: float = 3e-3,
          seed: int | None = None) -> tuple[float, float]:
    """Train with the project's Trainer on random minibatches of data (rows drawn with replacement) in a throw-away
    run directory; returns (mean loss of the first 10 steps, mean loss of the last 10) from its metrics.csv.

    data  {name: array (N, ...)} aligned on N; steps should be a multiple of 10 (the logging window)."""
    if steps % 10:
        raise ValueError(f"steps must be a multiple of 10 (the logging window), got {steps}")
    seed = int(os.environ.get("HIRL_TEST_SEED", "0")) if seed is None else seed
    cfg = TrainerConfig(max_steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                        grad_clip=None,  # plain Adam steps, as the thresholds in these tests were set with
                        log_every=10, checkpoint_every=steps, progress=False, tensorboard=False)
    with tempfile.TemporaryDirectory(prefix="hirl-test-train-") as run_dir:
        result = Trainer(model, cfg, run_dir, ArraySampler(data, batch_size)).fit()
        with open(result.metrics_csv, newline="") as f:
            losses = [float(row["loss"]) for row in csv.DictReader(f) if row["split"] == "train"]
    model.eval()
    return losses[0], losses[-1]
