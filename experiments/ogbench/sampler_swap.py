"""Where hirl's GCBC and OGBench's reference part ways: the batches they draw, or the update they make from them.

`dump` (in the reference's venv) draws the exact batches the reference's run of a seed trains on - OGBench's own
GCDataset, seeded as `side_by_side.py reference` seeds it, one batch per gradient step - and writes them to one
file (observations, actions and actor goals, (steps, batch, dim) each). `train` (in hirl's venv) trains hirl's GCBC
on those batches, step i on batch i, with hirl's one Trainer, and evaluates each checkpoint with hirl's evaluation
path; its results are a side of the side-by-side table, `hirl-refbatches`. Defaults: OGBench's network on raw inputs
(`actor=ogbench normalize=false`, as `hirl-ogbench-net`), so the two runs differ only in the update (PyTorch's Adam
and initialisation vs JAX's). If this side lands on the reference's numbers, the batches are the difference; if it
lands on hirl's, the update is.

    REF/bin/python experiments/ogbench/sampler_swap.py dump --impls OGBENCH/impls --seed 0 --steps 30000
    .venv/bin/python experiments/ogbench/sampler_swap.py train --seed 0 --steps 10000 30000
    .venv/bin/python experiments/ogbench/side_by_side.py render

Shapes: N gradient steps, B batch, S state, A action, G goal.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import side_by_side as sbs  # noqa: E402  (experiments/ogbench/side_by_side.py: the one harness of both sides)

SIDE = "hirl-refbatches"  # the results' side name in the side-by-side table


def batches_path(runs: Path, dataset: str, seed: int, steps: int) -> Path:
    return runs / "reference-batches" / dataset / f"gcbc-seed{seed}-{steps}.npz"


def dump(args: argparse.Namespace) -> Path:
    """The reference's first args.steps GCBC batches of seed args.seed -> one .npz (obs (N, B, S), action (N, B, A),
    actor_goal (N, B, G), float32)."""
    _, train, config, _ = sbs._reference_setup(args)  # seeds numpy and draws the example batch as the reference does
    n, b = max(args.steps), config["batch_size"]
    out: dict[str, np.ndarray] = {}
    for i in range(n):
        batch = train.sample(b)
        for key, name in (("observations", "obs"), ("actions", "action"), ("actor_goals", "actor_goal")):
            if name not in out:
                out[name] = np.empty((n, *np.shape(batch[key])), np.float32)
            out[name][i] = batch[key]
    path = batches_path(Path(args.runs), args.dataset, args.seed, n)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return path


def train(args: argparse.Namespace) -> dict[str, Any]:
    """hirl's GCBC trained on the dumped batches (step i on batch i - 1), evaluated at each of args.steps."""
    import torch

    from hirl.eval.evaluate import evaluate_run
    from hirl.learn.run import init_seed, train_run
    from hirl.learn.trainer import Trainer
    from hirl.policies.offline_gc.gcbc import GCBC

    agent = sbs._hirl_agent_checked(args)
    path = batches_path(Path(args.runs), args.dataset, args.seed, max(args.steps))
    if not path.is_file():
        raise SystemExit(f"{path}: no dumped batches; run `sampler_swap.py dump` in the reference's venv first")
    with np.load(path, allow_pickle=False) as f:
        data = {k: torch.from_numpy(f[k]) for k in ("obs", "action", "actor_goal")}
    run_dir = Path(args.runs) / f"{SIDE}-runs" / args.dataset / f"gcbc-seed{args.seed}"
    cfg = sbs.hirl_config(args, agent, 1)
    train_run(cfg, run_dir, progress=False)  # the run folder, its config and a model of the right shape
    config = GCBC.load(run_dir / "models" / agent).config
    if config.normalize:
        raise SystemExit("train: --network normalize=false (the batches carry no statistics to normalise with)")
    torch.manual_seed(init_seed(args.seed, agent))
    model = GCBC(config)  # fresh weights, as train_run initialises them

    def sampler(step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        return {k: v[step - 1] for k, v in data.items()}  # the Trainer's steps count from 1

    budget = cfg.train.baseline
    checkpoints = []
    for target in sorted(args.steps):
        Trainer(model, dataclasses.replace(budget, max_steps=target, progress=False), run_dir / "train-refbatches",
                sampler).fit()
        model.save(run_dir / "models" / agent)
        report = evaluate_run(run_dir, [agent], out=run_dir / f"eval-{target}", cfg=cfg)
        policy = report["policies"][agent]
        per_task = {sbs._task_id(name): float(v["success"]) for name, v in policy["per_subtask"].items()}
        checkpoints.append({"steps": target, "per_task": per_task, "success": float(policy["success_rate"]),
                            "train_seconds": 0.0})
    return {"side": SIDE, "agent": agent, "checkpoints": checkpoints, "steady_steps_per_s": None,
            "networks": dict(kv.split("=", 1) for kv in args.network), "batches": path.name}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("dump", "train"))
    parser.add_argument("--dataset", default="pointmaze-large-navigate-v0", help="OGBench dataset name")
    parser.add_argument("--seed", type=int, default=0, help="the reference's seed whose batches are used")
    parser.add_argument("--steps", type=int, nargs="+", default=[10_000, 30_000], help="evaluated checkpoints")
    parser.add_argument("--network", action="append", default=None, metavar="FIELD=VALUE",
                        help="train: GCBC fields (default: actor=ogbench, normalize=false)")
    parser.add_argument("--batch", type=int, default=sbs.DEFAULTS["batch"], help="batch size")
    parser.add_argument("--hidden", type=int, default=sbs.DEFAULTS["hidden"], help="MLP width (3 layers)")
    parser.add_argument("--episodes", type=int, default=sbs.DEFAULTS["episodes"], help="evaluation episodes per task")
    parser.add_argument("--data", default="runs/ogbench-data", help="folder of OGBench's <dataset>.npz")
    parser.add_argument("--runs", default="runs/side_by_side", help="results folder")
    parser.add_argument("--impls", default=None, help="dump: a checkout's impls/ folder")
    args = parser.parse_args(argv)
    args.method = "gcbc"
    args.network = args.network or ["actor=ogbench", "normalize=false"]
    if args.mode == "dump":
        if not args.impls:
            parser.error("dump needs --impls")
        print(dump(args))
        return
    result = train(args)
    result.update(method="gcbc", dataset=args.dataset, seed=args.seed, batch=args.batch, hidden=args.hidden,
                  episodes_per_task=args.episodes)
    sbs._write(sbs.result_path(Path(args.runs), SIDE, "gcbc", args.dataset, args.seed), result)
    print(json.dumps(result["checkpoints"]))


if __name__ == "__main__":
    main()
