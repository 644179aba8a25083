"""Where a gradient step of hirl's OGBench baselines spends its time, on one CPU thread.

For each method's `_cpu` component (256 x 3 MLPs, OGBench's settings), on synthetic episodes shaped like a dataset
(S state, A action sizes; the values do not change the cost), the script times the phases of a step in a loop of its
own - sampling a GoalSampler batch, the loss forward, backward, the fused AdamW step, after_step (EMA targets) - then
the same number of steps through the one Trainer (what `hirl train` runs), eager and with `compile: true`
(torch.compile of the loss). Eager and compiled runs alternate in blocks, so machine noise hits both alike.

    .venv/bin/python experiments/ogbench/profile_steps.py                       # all six, S=2 A=2 (point maze)
    .venv/bin/python experiments/ogbench/profile_steps.py --methods gciql --obs-dim 35 --action-dim 5  # cube-single

Prints one table (ms per phase, steps/s) and writes --out (JSON) when given.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hirl.data.tables import StepTables, tables_from_state_episodes
from hirl.learn.trainer import Trainer, TrainerConfig, configure_torch_threads
from hirl.runs.components import COMPONENTS

METHODS = ("gcbc", "gcivl", "gciql", "qrl", "crl", "hiql")


def synthetic_tables(episodes: int, length: int, obs_dim: int, action_dim: int, seed: int = 0) -> StepTables:
    """Random-walk episodes of `length` steps: obs (N, S), action (N, A), achieved goals = states."""
    rng = np.random.default_rng(seed)
    states = [np.cumsum(rng.normal(0, 0.1, (length + 1, obs_dim)), 0) for _ in range(episodes)]
    return tables_from_state_episodes(states, [rng.uniform(-1, 1, (length, action_dim)) for _ in range(episodes)])


def _build(method: str, t: StepTables, batch: int) -> tuple[Any, Any]:
    comp = COMPONENTS.get(f"{method}_cpu")()
    model = comp.build(t, None, "text", ("observation",))
    return model, comp.sampler(t, None, batch)


def phases(method: str, t: StepTables, batch: int, steps: int, compiled: bool) -> dict[str, float]:
    """ms per step of each phase over `steps` steps (after warm-up), the loop of its own."""
    torch.manual_seed(0)
    model, sampler = _build(method, t, batch)
    loss_fn = torch.compile(model.loss) if compiled else model.loss
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-4, fused=True)
    rng = np.random.default_rng(0)
    after = getattr(model, "after_step", lambda: None)
    totals = dict.fromkeys(("sample", "forward", "backward", "optimizer", "after_step"), 0.0)
    for i in range(steps + 10):
        t0 = time.perf_counter()
        b = sampler(i, rng)
        t1 = time.perf_counter()
        loss, metrics = loss_fn(b)
        {k: float(v) for k, v in metrics.items()}  # the Trainer reads the metrics after the step
        t2 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        after()
        t5 = time.perf_counter()
        if i >= 10:
            for k, dt in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                totals[k] += dt
    return {k: 1e3 * v / steps for k, v in totals.items()}


def trainer_rate(method: str, t: StepTables, batch: int, steps: int, compiled: bool) -> float:
    """Steps per second of Trainer.fit over `steps` steps after a 20-step warm-up run (compilation excluded)."""
    torch.manual_seed(0)
    model, sampler = _build(method, t, batch)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = dict(batch_size=batch, lr=3e-4, grad_clip=None, progress=False, tensorboard=False, compile=compiled,
                   checkpoint_every=10**9, eval_every=10**9)
        trainer = Trainer(model, TrainerConfig(max_steps=20, **cfg), Path(tmp) / "run", sampler)
        trainer.fit()  # warm-up (and compilation); the timed run resumes from its checkpoint
        trainer.config = TrainerConfig(max_steps=20 + steps, **cfg)
        start = time.perf_counter()
        trainer.fit()
        return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--obs-dim", type=int, default=2, help="S (pointmaze 2, cube-single 28, scene 40)")
    parser.add_argument("--action-dim", type=int, default=2, help="A (pointmaze 2, manipulation 5)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200, help="timed steps per block")
    parser.add_argument("--blocks", type=int, default=2, help="alternating eager / compiled blocks per method")
    parser.add_argument("--out", default=None, help="JSON file for the numbers")
    args = parser.parse_args()
    configure_torch_threads(1)
    t = synthetic_tables(20, 1000, args.obs_dim, args.action_dim)
    results: dict[str, Any] = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": args.batch,
                               "obs_dim": args.obs_dim, "action_dim": args.action_dim, "methods": {}}
    print(f"one thread, batch {args.batch}, S={args.obs_dim} A={args.action_dim}; ms per step, then Trainer steps/s")
    print(f"{'method':8} {'mode':8} {'sample':>7} {'forward':>8} {'backward':>9} {'optim':>6} {'after':>6} "
          f"{'sum':>6} {'trainer/s':>10}")
    for method in args.methods:
        rows: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.blocks):
            for mode in ("eager", "compiled"):
                ph = phases(method, t, args.batch, args.steps, mode == "compiled")
                rate = trainer_rate(method, t, args.batch, args.steps, mode == "compiled")
                row = rows.setdefault(mode, {})
                for k, v in {**ph, "trainer_steps_per_s": rate}.items():
                    row.setdefault(k, []).append(v)
        results["methods"][method] = {mode: {k: float(np.median(v)) for k, v in row.items()} for mode, row in rows.items()}
        for mode, row in results["methods"][method].items():
            ms = [row[k] for k in ("sample", "forward", "backward", "optimizer", "after_step")]
            print(f"{method:8} {mode:8} " + " ".join(f"{v:{w}.2f}" for v, w in zip(ms, (7, 8, 9, 6, 6), strict=True))
                  + f" {sum(ms):6.2f} {row['trainer_steps_per_s']:10.0f}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
