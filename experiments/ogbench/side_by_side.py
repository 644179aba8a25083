"""hirl's OGBench baselines beside OGBench's own JAX implementations (seohongpark/ogbench impls/), at an equal budget:
the same dataset file, batch size, MLP widths, gradient steps, seeds and evaluation (OGBench's 5 tasks, deterministic
actions, the same number of episodes per task), one table of method x budget x seed with steps/s.

The reference runs in its own venv and is never a dependency of hirl (docs/ogbench.md, "Side by side with the JAX
reference", says how to make it); this file's `reference` mode imports nothing of hirl, only numpy and the checkout.

    # one (method, dataset, seed) on each side; --steps are the evaluated checkpoints (training continues between them)
    REF/bin/python experiments/ogbench/side_by_side.py reference --impls OGBENCH/impls --method gcbc --seed 0
    .venv/bin/python experiments/ogbench/side_by_side.py hirl --method gcbc --seed 0
    # a hirl variant beside them (its own side in the table): GCBC with OGBench's network on raw inputs
    .venv/bin/python experiments/ogbench/side_by_side.py hirl --method gcbc --network actor=ogbench \\
        --network normalize=false --side hirl-ogbench-net --seed 0
    # where the two sides differ: the reference's GCBC weights evaluated by hirl's evaluation path
    REF/bin/python experiments/ogbench/side_by_side.py reference --impls OGBENCH/impls --method gcbc --seed 0 --save-params
    .venv/bin/python experiments/ogbench/side_by_side.py crosseval --method gcbc --seed 0
    # every missing pair of a plan, the two sides of a pair at once on cores 0 and 1, then the table
    .venv/bin/python experiments/ogbench/side_by_side.py plan --ref-python REF/bin/python --impls OGBENCH/impls \\
        --methods gcbc gcivl gciql qrl crl hiql --datasets pointmaze-large-navigate-v0 --seeds 0 1 2 3
    .venv/bin/python experiments/ogbench/side_by_side.py render     # RESULTS-side-by-side.json + .md beside this file

Data: OGBench's own generator writes DATA/<dataset>.npz and DATA/<dataset>-val.npz (docs/ogbench.md); the
reference reads them with ogbench.make_env_and_datasets(dataset_dir=DATA), hirl imports the training file once with
hirl.data.ogbench.npz (DATA/hirl/<dataset>). Every result is one JSON per (side, method, dataset, seed) under --runs
(default runs/side_by_side); a finished one is skipped when the plan runs again.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TASKS = (1, 2, 3, 4, 5)  # OGBench's evaluation task ids
DEFAULT_STEPS = (10_000, 30_000)  # evaluated checkpoints (gradient steps)
DEFAULTS = {"batch": 256, "hidden": 256, "episodes": 50}  # equal budget on both sides: batch, MLP width (x3), per task


def _hyperparameters() -> Any:
    """hirl/policies/offline_gc/hyperparameters.py loaded by path (it imports nothing of hirl): the one table of OGBench's
    per-dataset settings, read by both sides."""
    spec = importlib.util.spec_from_file_location("gc_hyperparameters",
                                                  ROOT / "hirl" / "policies" / "offline_gc" / "hyperparameters.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def preset(dataset: str) -> tuple[str, str]:
    """('pointmaze-large-navigate-v0') -> (hirl's OGBench env 'pointmaze-large-v0', preset 'navigate')."""
    stem = dataset.removesuffix("-v0")
    env, style = stem.rsplit("-", 1)
    return f"{env}-v0", _hyperparameters().preset_of(f"{env}-v0", style)


def overrides(method: str, dataset: str) -> dict[str, Any]:
    """OGBench's hyperparameters.sh flags of (method, dataset), e.g. {'alpha': 0.003}."""
    return dict(_hyperparameters().OGBENCH_HYPERPARAMETERS.get(method, {}).get(preset(dataset)[1], {}))


def result_path(runs: Path, side: str, method: str, dataset: str, seed: int) -> Path:
    return runs / side / dataset / f"{method}-seed{seed}.json"


def finished_steps(path: Path) -> set[int]:
    """The evaluated checkpoints (gradient steps) of a result file, final or partial (empty when there is none)."""
    if not path.is_file():
        return set()
    return {int(c["steps"]) for c in json.loads(path.read_text())["checkpoints"]}


def partial_path(path: Path) -> Path:
    """Where hirl's side keeps the checkpoints evaluated so far while its run continues (a run longer than a session
    resumes from its training checkpoint and skips the evaluations already done)."""
    return path.with_name(path.stem + ".partial.json")


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------- reference side
def _reference_setup(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """(env, training GCDataset, config, agent) of OGBench's own code for (method, dataset, seed) at the equal budget."""
    sys.path.insert(0, str(Path(args.impls).resolve()))
    import ogbench
    from agents import agents  # type: ignore[import-not-found]  # OGBench's impls/, on sys.path above
    from utils.datasets import Dataset, GCDataset, HGCDataset  # type: ignore[import-not-found]

    config = importlib.import_module(f"agents.{args.method}").get_config()
    config["batch_size"] = args.batch
    hidden = (args.hidden,) * 3
    for key in ("actor_hidden_dims", "value_hidden_dims"):
        if key in config:
            config[key] = hidden
    for key, value in overrides(args.method, args.dataset).items():
        config[key] = value
    env, train, _ = ogbench.make_env_and_datasets(args.dataset, dataset_dir=args.data, compact_dataset=True)
    data_class = {"GCDataset": GCDataset, "HGCDataset": HGCDataset}[config["dataset_class"]]
    train = data_class(Dataset.create(**train), config)
    random.seed(args.seed)
    np.random.seed(args.seed)
    example = train.sample(1)
    agent = agents[config["agent_name"]].create(args.seed, example["observations"], example["actions"], config)
    return env, train, config, agent


def run_reference(args: argparse.Namespace) -> dict[str, Any]:
    """Train OGBench's agent with its own Dataset / GCDataset and update, evaluate with its evaluate() at each step."""
    import jax

    env, train, config, agent = _reference_setup(args)
    from utils.evaluation import evaluate  # type: ignore[import-not-found]  # OGBench's impls/ (on sys.path now)

    checkpoints, done, train_seconds, steady = [], 0, 0.0, None
    for target in sorted(args.steps):
        t0 = time.perf_counter()
        for step in range(done + 1, target + 1):
            agent, info = agent.update(train.sample(config["batch_size"]))
            if step == 1000:  # the JIT compilation is over: steady-state timing starts here
                jax.block_until_ready(info)
                steady = (time.perf_counter() - t0 + train_seconds, step)
        jax.block_until_ready(agent)
        train_seconds += time.perf_counter() - t0
        done = target
        eval_agent = jax.device_put(agent, device=jax.devices("cpu")[0])
        per_task = {}
        for task in TASKS:
            stats, _, _ = evaluate(agent=eval_agent, env=env, task_id=task, config=config,
                                   num_eval_episodes=args.episodes, num_video_episodes=0)
            per_task[str(task)] = float(stats["success"])
        checkpoints.append({"steps": target, "per_task": per_task, "success": float(np.mean(list(per_task.values()))),
                            "train_seconds": round(train_seconds, 1)})
        if args.save_params:  # plain arrays (no pickle), keyed by the flax parameter path
            from flax.traverse_util import flatten_dict

            flat = flatten_dict(jax.device_get(agent.network.params), sep="/")
            path = params_path(Path(args.runs), args.method, args.dataset, args.seed, target)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **{k: np.asarray(v) for k, v in flat.items()})
    return {"side": "reference", "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items()},
            "checkpoints": checkpoints, "steady_steps_per_s": _steady_rate(steady, train_seconds, done),
            "versions": {"jax": jax.__version__, "ogbench": importlib.metadata.version("ogbench")}}


def _steady_rate(steady: tuple[float, int] | None, seconds: float, steps: int) -> float | None:
    """Steps/s after the first 1000 (compilation, warm-up) up to the last checkpoint, training time only."""
    if steady is None or steps <= steady[1]:
        return None
    return round((steps - steady[1]) / (seconds - steady[0]), 1)


def params_path(runs: Path, method: str, dataset: str, seed: int, steps: int) -> Path:
    """Where `reference --save-params` keeps the reference's weights at a checkpoint (for `crosseval`)."""
    return runs / "reference-params" / dataset / f"{method}-seed{seed}-{steps}.npz"


# --------------------------------------------------------------------------------------------------------- hirl side
def hirl_agent(method: str, dataset: str) -> str:
    """hirl's registered agent for (method, dataset) at 256-wide MLPs: gcbc_cpu, gciql_play_cpu, hiql_k10_cpu, ..."""
    kind = preset(dataset)[1]
    if method == "gcbc":
        return "gcbc_cpu"
    if method == "hiql":
        return "hiql_k10_cpu" if kind in ("play", "noisy") else f"hiql{'_giant' if kind == 'giant' else ''}_cpu"
    return f"{method}{_hyperparameters().PRESET_SUFFIX[kind]}_cpu"


def imported_dataset(data: Path, dataset: str) -> Path:
    """DATA/hirl/<dataset>: the training file imported once (hirl.data.ogbench.npz)."""
    from hirl.data.ogbench.npz import import_npz

    out = data / "hirl" / dataset
    if not (out / "data").exists():
        import_npz(data / f"{dataset}.npz", preset(dataset)[0], out)
    return out


def _hirl_agent_checked(args: argparse.Namespace) -> str:
    """hirl's agent for args' (method, dataset), its plugin imported; SystemExit unless --hidden is 256."""
    from hirl.plugins import import_plugins

    if args.hidden != 256:
        raise SystemExit("hirl side: --hidden must be 256 (the _cpu agents); 512 is the agents without _cpu")
    import_plugins(["hirl.learn.gc_plugin"])
    return hirl_agent(args.method, args.dataset)


def hirl_config(args: argparse.Namespace, agent: str, steps: int, extra: tuple[str, ...] = ()) -> Any:
    """The RunConfig of hirl's side: side_by_side.yaml with the env, imported dataset, agent, seed, budget, episodes
    and --network fields of args; extra: more overrides."""
    from hirl.config import load_config
    from hirl.learn.run_config import RunConfig

    fields = dict(kv.split("=", 1) for kv in args.network)  # the run config's networks: {agent: {field: value}}
    networks = "{" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"
    return load_config(RunConfig, HERE / "side_by_side.yaml", [
        f"env=ogbench/{preset(args.dataset)[0]}", f"dataset={imported_dataset(Path(args.data), args.dataset)}",
        f"agents=[{agent}]", f"seed={args.seed}", f"train.baseline.max_steps={steps}",
        f"train.baseline.batch_size={args.batch}", f"eval.episodes={args.episodes * len(TASKS)}",
        f"networks={{{agent}: {networks}}}", *extra])


def run_hirl(args: argparse.Namespace) -> dict[str, Any]:
    """hirl's one training path (train_run, continued checkpoint to checkpoint) and one evaluation path
    (evaluate_run: episode i runs task (seed + i) % 5 + 1, so 5 x episodes gives `episodes` per task)."""
    from hirl.eval.evaluate import evaluate_run
    from hirl.learn.run import train_run

    agent = _hirl_agent_checked(args)
    run_dir = Path(args.runs) / f"{args.side}-runs" / args.dataset / f"{args.method}-seed{args.seed}"
    out = result_path(Path(args.runs), args.side, args.method, args.dataset, args.seed)
    done = next((json.loads(p.read_text()) for p in (partial_path(out), out) if p.is_file()), {"checkpoints": []})
    checkpoints = [c for c in done["checkpoints"] if c["steps"] in args.steps]  # evaluated before: kept, not redone
    train_seconds = max((c["train_seconds"] for c in checkpoints), default=0.0)
    todo = sorted(set(args.steps) - {c["steps"] for c in checkpoints})
    trained = max((c["steps"] for c in done["checkpoints"]), default=0)
    if todo and todo[0] < trained:  # the run's weights are past it: evaluating them would mislabel the checkpoint
        raise SystemExit(f"hirl side: {run_dir} is trained to {trained} steps; --steps {todo[0]} is below it")
    for target in todo:
        cfg = hirl_config(args, agent, target)
        summary = train_run(cfg, run_dir, progress=False)
        report = evaluate_run(run_dir, [agent], out=run_dir / f"eval-{target}", cfg=cfg)
        policy = report["policies"][agent]
        per_task = {_task_id(name): float(v["success"]) for name, v in policy["per_subtask"].items()}
        train_seconds += float(summary["components"][agent]["seconds"])
        checkpoints.append({"steps": target, "per_task": per_task, "success": float(policy["success_rate"]),
                            "train_seconds": round(train_seconds, 1)})
        checkpoints.sort(key=lambda c: c["steps"])
        _write(partial_path(out), {"side": args.side, "agent": agent, "checkpoints": checkpoints})
    return {"side": args.side, "agent": agent, "checkpoints": checkpoints, "steady_steps_per_s": _hirl_rate(run_dir, agent),
            "networks": dict(kv.split("=", 1) for kv in args.network)}


def run_crosseval(args: argparse.Namespace) -> dict[str, Any]:
    """The reference's GCBC weights (reference --save-params) in hirl's GCBC with OGBench's network on raw inputs,
    evaluated by hirl's one evaluation path on the same tasks and episodes per task: where the two sides' success
    differs, this says whether the evaluation or the training differs."""
    import torch

    from hirl.eval.evaluate import evaluate_run
    from hirl.policies.offline_gc.gcbc import GCBC
    from hirl.learn.run import train_run

    if args.method != "gcbc":
        raise SystemExit("crosseval: only gcbc (one network whose layout both sides share)")
    agent = _hirl_agent_checked(args)
    args.network = ["actor=ogbench", "normalize=false"]  # OGBench's GCActor on raw inputs: the reference's layout
    run_dir = Path(args.runs) / "crosseval-runs" / args.dataset / f"{args.method}-seed{args.seed}"
    checkpoints = []
    for target in sorted(args.steps):
        flat = dict(np.load(params_path(Path(args.runs), args.method, args.dataset, args.seed, target), allow_pickle=False))
        cfg = hirl_config(args, agent, 1)
        train_run(cfg, run_dir, progress=False)  # the run folder and its config; the weights are replaced below
        model = GCBC.load(run_dir / "models" / agent)
        dense = sorted({k.rsplit("/", 1)[0] for k in flat if "/actor_net/Dense_" in k}, key=lambda k: int(k.split("_")[-1]))
        mean = next(k.rsplit("/", 1)[0] for k in flat if k.endswith("mean_net/kernel"))
        linears = [m for m in model.actor.trunk if isinstance(m, torch.nn.Linear)] + [model.actor.mean_net]
        if len(linears) != len(dense) + 1:
            raise SystemExit(f"crosseval: {len(dense)} hidden layers in the reference's weights, {len(linears) - 1} in hirl's")
        with torch.no_grad():
            for layer, key in zip(linears, [*dense, mean], strict=True):
                layer.weight.copy_(torch.from_numpy(flat[f"{key}/kernel"]).T)  # flax (in, out) -> torch (out, in)
                layer.bias.copy_(torch.from_numpy(flat[f"{key}/bias"]))
        model.save(run_dir / "models" / agent)
        report = evaluate_run(run_dir, [agent], out=run_dir / f"eval-{target}", cfg=cfg)
        policy = report["policies"][agent]
        per_task = {_task_id(name): float(v["success"]) for name, v in policy["per_subtask"].items()}
        checkpoints.append({"steps": target, "per_task": per_task, "success": float(policy["success_rate"]),
                            "train_seconds": 0.0})
    return {"side": "crosseval", "agent": agent, "checkpoints": checkpoints, "steady_steps_per_s": None}


def _task_id(name: str) -> str:
    """'task3_...' (OGBench's task names, hirl's per-subtask keys) -> '3'."""
    if not name.startswith("task"):
        raise ValueError(f"not an OGBench evaluation task name: {name!r}")
    return name[4:].split("_")[0]


def _hirl_rate(run_dir: Path, agent: str) -> float | None:
    """Steps/s of the last training segment (the Trainer's metrics.csv: step, split, time since that segment's start),
    from its first logged row to its last, checkpoints and logging included."""
    import csv

    path = next(run_dir.rglob(f"{agent}/metrics.csv"), None)
    if path is None:
        return None
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    start = max((i for i in range(1, len(rows)) if float(rows[i]["time"]) < float(rows[i - 1]["time"])), default=0)
    first, last = rows[start], rows[-1]
    if first is last:
        return None
    return round((int(last["step"]) - int(first["step"])) / (float(last["time"]) - float(first["time"])), 1)


# ------------------------------------------------------------------------------------------------------------- speed
SPEED_STEPS = {"gcbc": 3000, "gcivl": 600, "gciql": 600, "qrl": 300, "crl": 600, "hiql": 600}  # timed steps per block
SPEED_WARMUP = 50  # untimed gradient steps first (JAX's compilation, PyTorch's allocator)


def reference_speed(args: argparse.Namespace) -> dict[str, Any]:
    """Steps/s of OGBench's own update loop (sample + update) over args.speed_steps steps after SPEED_WARMUP."""
    import jax

    _, train, config, agent = _reference_setup(args)
    for _ in range(SPEED_WARMUP):
        agent, _ = agent.update(train.sample(config["batch_size"]))
    jax.block_until_ready(agent)
    t0 = time.perf_counter()
    for _ in range(args.speed_steps):
        agent, _ = agent.update(train.sample(config["batch_size"]))
    jax.block_until_ready(agent)
    return {"steps_per_s": round(args.speed_steps / (time.perf_counter() - t0), 1)}


def hirl_speed(args: argparse.Namespace) -> dict[str, Any]:
    """Steps/s of `hirl train`'s Trainer (sampling, update, logging every 10 steps; no checkpoint in the window) over
    args.speed_steps steps after SPEED_WARMUP, read from the run's metrics.csv (step, time since the start)."""
    import csv
    import tempfile

    from hirl.learn.run import train_run

    total = SPEED_WARMUP + args.speed_steps
    agent = _hirl_agent_checked(args)
    with tempfile.TemporaryDirectory() as tmp:
        train_run(hirl_config(args, agent, total, ("train.baseline.checkpoint_every=1000000",)), Path(tmp), progress=False)
        path = next(Path(tmp).rglob("metrics.csv"))
        with open(path) as f:
            rows = {int(r["step"]): float(r["time"]) for r in csv.DictReader(f) if r["split"] == "train"}
    first = min(step for step in rows if step >= SPEED_WARMUP)
    return {"steps_per_s": round((total - first) / (rows[total] - rows[first]), 1)}


def speed_path(runs: Path, method: str, dataset: str) -> Path:
    return runs / "speed" / dataset / f"{method}.json"


def run_speed(args: argparse.Namespace) -> None:
    """Both sides' steps/s for each method, one after the other on one core (args.core), one thread each, in
    alternating blocks (reference, hirl, reference, hirl, ...) so machine noise hits both alike; one JSON per method."""
    single = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MUJOCO_GL": "egl",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
    for method in args.methods:
        steps = args.speed_steps or SPEED_STEPS[method]
        rates: dict[str, list[float]] = {"reference": [], "hirl": []}
        for _ in range(args.blocks):
            for side, python in (("reference", args.ref_python), ("hirl", sys.executable)):
                cmd = ["taskset", "-c", str(args.core), python, __file__, f"{side}-speed", "--method", method,
                       "--dataset", args.dataset, "--data", args.data, "--batch", str(args.batch), "--hidden",
                       str(args.hidden), "--speed-steps", str(steps),
                       *(["--impls", args.impls] if side == "reference" else [])]
                out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **single})
                if out.returncode:
                    raise SystemExit(f"{side}-speed {method}: exit {out.returncode}\n{out.stderr[-2000:]}")
                rates[side].append(json.loads(out.stdout.strip().splitlines()[-1])["steps_per_s"])
                print(f"{args.dataset} {method} {side}: {rates[side][-1]} steps/s", flush=True)
        ratios = [h / r for h, r in zip(rates["hirl"], rates["reference"], strict=True)]
        _write(speed_path(Path(args.runs), method, args.dataset),
               {"method": method, "dataset": args.dataset, "batch": args.batch, "hidden": args.hidden, "steps": steps,
                "warmup": SPEED_WARMUP, "blocks": args.blocks, "steps_per_s": rates,
                "ratio_per_block": [round(x, 3) for x in ratios], "ratio_median": round(float(np.median(ratios)), 3)})


# ------------------------------------------------------------------------------------------------------- plan, render
def run_plan(args: argparse.Namespace) -> None:
    """Every missing (side, method, dataset, seed) of the plan; a pair's two sides run at once, pinned to cores 0
    and 1 with one thread each, so their steps/s are measured side by side."""
    runs = Path(args.runs)
    common = ["--data", args.data, "--runs", args.runs, "--batch", str(args.batch), "--hidden", str(args.hidden),
              "--episodes", str(args.episodes), "--steps", *map(str, args.steps)]
    single = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MUJOCO_GL": "egl",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
    for seed in args.seeds:
        for dataset in args.datasets:
            for method in args.methods:
                jobs = []
                for side, python, core in (("reference", args.ref_python, "0"), ("hirl", sys.executable, "1")):
                    if set(args.steps) <= finished_steps(result_path(runs, side, method, dataset, seed)):
                        continue
                    cmd = ["taskset", "-c", core, python, __file__, side, "--method", method, "--dataset", dataset,
                           "--seed", str(seed), *common, *(["--impls", args.impls] if side == "reference" else [])]
                    log = result_path(runs, side, method, dataset, seed).with_suffix(".log")
                    log.parent.mkdir(parents=True, exist_ok=True)
                    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
                        jobs.append((side, subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                                            env={**os.environ, **single})))
                for side, job in jobs:
                    print(f"{dataset} {method} seed {seed} {side}: exit {job.wait()}", flush=True)


def render(runs: Path) -> dict[str, Any]:
    """The table of RESULTS-side-by-side.json from every finished result under runs: per (dataset, method, steps),
    each side's per-seed success (overall and per task), mean and 95 % interval over seeds, and steps/s."""
    table: dict[str, Any] = {}
    for path in sorted(p for p in runs.glob("*/*/*-seed*.json") if not p.name.endswith(".partial.json")):
        side, dataset = path.parent.parent.name, path.parent.name
        method, seed = path.stem.rsplit("-seed", 1)
        data = json.loads(path.read_text())
        for ck in data["checkpoints"]:
            cell = table.setdefault(dataset, {}).setdefault(method, {}).setdefault(str(ck["steps"]), {})
            side_cell = cell.setdefault(side, {"per_seed": {}, "per_task": {}, "steps_per_s": {}})
            side_cell["per_seed"][seed] = round(100 * ck["success"], 1)
            side_cell["per_task"][seed] = {t: round(100 * v, 1) for t, v in ck["per_task"].items()}
            side_cell["steps_per_s"][seed] = data.get("steady_steps_per_s")
    for dataset in table.values():
        for method in dataset.values():
            for cell in method.values():
                for side_cell in cell.values():
                    xs = np.array(list(side_cell["per_seed"].values()), dtype=float)
                    half = 1.96 * xs.std(ddof=1) / np.sqrt(len(xs)) if len(xs) > 1 else None  # None: one seed
                    side_cell.update(mean=round(float(xs.mean()), 1), ci95=None if half is None else [
                        round(float(xs.mean() - half), 1), round(float(xs.mean() + half), 1)])
    return table


def render_speed(runs: Path) -> dict[str, Any]:
    """{dataset: {method: speed JSON}} from every `speed` result under runs (empty when none ran)."""
    table: dict[str, Any] = {}
    for path in sorted(runs.glob("speed/*/*.json")):
        data = json.loads(path.read_text())
        table.setdefault(data["dataset"], {})[data["method"]] = data
    return table


def speed_markdown(speed: dict[str, Any]) -> list[str]:
    """The page's speed section: per (dataset, method) both sides' steps/s per block and the ratio."""
    if not speed:
        return []
    lines = ["## Speed: gradient steps per second on one core", "",
             "By `python experiments/ogbench/side_by_side.py speed --ref-python REF/bin/python --impls OGBENCH/impls "
             "--methods gcbc gcivl gciql qrl crl hiql` (`--dataset` for another dataset): each side's training loop "
             "alone on one core (taskset, one thread), the reference's sample + update and hirl's Trainer (what "
             "`hirl train` runs: sampling, update, logging), timed after a warm-up, in alternating blocks (reference, "
             "hirl, reference, ...) so machine noise hits both alike. Ratio = hirl / reference per block; the median "
             "is the row's.", "",
             "| dataset | method | steps timed | reference steps/s per block | hirl steps/s per block | hirl / reference "
             "(median) |", "|---|---|---|---|---|---|"]
    for dataset, methods in speed.items():
        for method, d in methods.items():
            ref, hirl = (", ".join(f"{v:.1f}" for v in d["steps_per_s"][k]) for k in ("reference", "hirl"))
            lines.append(f"| {dataset} | {method} | {d['steps']} | {ref} | {hirl} | **{d['ratio_median']:.2f}** |")
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    """RESULTS-side-by-side.md from its JSON (every number comes from the JSON)."""
    b = results["budget"]
    lines = ["# OGBench: hirl beside OGBench's JAX reference at an equal budget", "",
             f"Generated by `{results['command']}` from `RESULTS-side-by-side.json` (same numbers); the runs by the "
             "`plan` command in docs/ogbench.md, \"Side by side with the JAX reference\". Same dataset file (OGBench's "
             "own generator), "
             f"batch {b['batch']}, MLPs {'x'.join(map(str, b['hidden']))}, lr 3e-4, OGBench's per-dataset "
             f"hyperparameters, {b['episodes_per_task']} deterministic episodes per task on its 5 tasks. Success in %; "
             "95 % interval = mean +- 1.96 s / sqrt(seeds). Steps/s per seed: training only, the two sides of a seed "
             "at once on cores 0 and 1, one thread each, beside whatever else the machine ran (the speed section "
             "below measures them alone).", "",
             "Sides: `reference` is OGBench's JAX code; `hirl` is hirl's registered agent; `hirl-<variant>` is hirl with "
             "network fields changed (`--network`, kept in each result's `networks`; `hirl-ogbench-net`: GCBC with "
             "OGBench's GCActor on raw inputs); `crosseval` is the reference's own weights of the same seed evaluated by "
             "hirl's evaluation path.", ""]
    for dataset, methods in results["table"].items():
        published = results.get("published", {}).get(dataset, {})
        if published:
            lines += [f"## {dataset}", "", "Published (OGBench Table 2: 1M steps, batch 1024, 512-wide MLPs, 8 seeds): "
                      + ", ".join(f"{m} {v['mean']:g} +- {v['std']:g}" for m, v in published.items()) + ".", ""]
        else:
            lines += [f"## {dataset}", ""]
        lines += ["| method | steps | side | per seed | mean | 95 % interval | per task (seed mean) "
                  "| steps/s per seed |", "|---|---|---|---|---|---|---|---|"]
        for method, cells in methods.items():
            for steps, cell in sorted(cells.items(), key=lambda kv: int(kv[0])):
                for side, c in sorted(cell.items(), reverse=True):
                    tasks = sorted({t for per in c["per_task"].values() for t in per})
                    task_means = " / ".join(f"{np.mean([per[t] for per in c['per_task'].values()]):.0f}" for t in tasks)
                    rates = ", ".join(f"{v:.0f}" if v is not None else "-" for v in c["steps_per_s"].values())
                    interval = "- (1 seed)" if c["ci95"] is None else f"[{c['ci95'][0]:.1f}, {c['ci95'][1]:.1f}]"
                    lines.append(f"| {method} | {steps} | {side} | {', '.join(f'{v:.1f}' for v in c['per_seed'].values())} "
                                 f"| {c['mean']:.1f} | {interval} | {task_means} | {rates} |")
        lines.append("")
    return "\n".join([*lines, *speed_markdown(results.get("speed", {}))])


CURVES = "RESULTS-side-by-side-curves.png"  # the learning curves beside this file (rendered from the JSON's table)


def plot_curves(table: dict[str, Any], path: Path) -> bool:
    """Success vs gradient steps for every (dataset, method, side) with >= 2 evaluated budgets: seed means as lines,
    seeds as dots, one panel per (dataset, method). False (nothing written) when no cell has two budgets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(d, m, cells) for d, methods in table.items() for m, cells in methods.items() if len(cells) >= 2]
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (dataset, method, cells) in zip(axes[0], panels, strict=True):
        steps = sorted(cells, key=int)
        for side in sorted({side for c in cells.values() for side in c}, reverse=True):
            xs = [int(s) for s in steps if side in cells[s]]
            line, = ax.plot(xs, [cells[str(x)][side]["mean"] for x in xs], marker="o", label=side)
            for x in xs:
                seeds = list(cells[str(x)][side]["per_seed"].values())
                ax.scatter([x] * len(seeds), seeds, s=10, alpha=0.4, color=line.get_color())
        ax.set(title=f"{method}, {dataset.removesuffix('-v0')}", xlabel="gradient steps", ylabel="success (%)",
               xscale="log", ylim=(-3, 103))
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("reference", "hirl", "crosseval", "plan", "render", "speed", "reference-speed",
                                         "hirl-speed"))
    parser.add_argument("--method", default="gcbc", help="gcbc | gcivl | gciql | qrl | crl | hiql (reference / hirl)")
    parser.add_argument("--methods", nargs="+", default=["gcbc"], help="plan: methods")
    parser.add_argument("--dataset", default="pointmaze-large-navigate-v0", help="OGBench dataset name")
    parser.add_argument("--datasets", nargs="+", default=["pointmaze-large-navigate-v0"], help="plan: datasets")
    parser.add_argument("--seed", type=int, default=0, help="training seed (reference / hirl)")
    parser.add_argument("--network", action="append", default=[], metavar="FIELD=VALUE",
                        help="hirl: a network config field of the method's agent (the run config's networks:), e.g. "
                        "normalize=false; a variant: give it its own --side")
    parser.add_argument("--save-params", action="store_true",
                        help="reference: keep the weights at each checkpoint (runs/reference-params/; for crosseval)")
    parser.add_argument("--side", default=None, help="hirl: the results' side name (default: hirl; a variant's, e.g. "
                        "hirl-raw)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="plan: seeds")
    parser.add_argument("--steps", type=int, nargs="+", default=list(DEFAULT_STEPS), help="evaluated checkpoints")
    parser.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="batch size, both sides")
    parser.add_argument("--hidden", type=int, default=DEFAULTS["hidden"], help="MLP width (3 layers), both sides")
    parser.add_argument("--episodes", type=int, default=DEFAULTS["episodes"], help="evaluation episodes per task")
    parser.add_argument("--data", default="runs/ogbench-data", help="folder of OGBench's <dataset>.npz / -val.npz")
    parser.add_argument("--runs", default="runs/side_by_side", help="results folder")
    parser.add_argument("--impls", default=None, help="reference / plan: a checkout's impls/ folder")
    parser.add_argument("--ref-python", default=None, help="plan / speed: the reference venv's python")
    parser.add_argument("--speed-steps", type=int, default=None,
                        help="speed: timed steps per side and block (default per method: SPEED_STEPS)")
    parser.add_argument("--blocks", type=int, default=3, help="speed: alternating blocks per method")
    parser.add_argument("--core", type=int, default=0, help="speed: the CPU core both sides run on")
    args = parser.parse_args(argv)
    if args.mode in ("plan", "speed"):
        if not (args.impls and args.ref_python):
            parser.error(f"{args.mode} needs --impls and --ref-python")
        (run_plan if args.mode == "plan" else run_speed)(args)
        return
    if args.mode.endswith("-speed"):
        args.seed, args.network = 0, []
        args.speed_steps = args.speed_steps or SPEED_STEPS[args.method]
        if args.mode == "reference-speed" and not args.impls:
            parser.error("reference-speed needs --impls")
        print(json.dumps((reference_speed if args.mode == "reference-speed" else hirl_speed)(args)))
        return
    if args.mode == "render":
        budget = {"batch": args.batch, "hidden": [args.hidden] * 3, "episodes_per_task": args.episodes}
        sys.path.insert(0, str(HERE.parent))
        sys.path.insert(0, str(HERE))
        from benchmark import PUBLISHED  # experiments/ogbench/benchmark.py: OGBench's Table 2 numbers, one copy

        table = render(Path(args.runs))
        results = {"command": "python experiments/ogbench/side_by_side.py render", "budget": budget, "table": table,
                   "published": {d: {m: {"mean": v[0], "std": v[1]} for m, v in PUBLISHED.get(d, {}).items()}
                                 for d in table},
                   "speed": render_speed(Path(args.runs))}
        page = markdown(results)
        if plot_curves(results["table"], HERE / CURVES):
            page += f"\nLearning curves (seed means as lines, seeds as dots): ![curves]({CURVES})\n"
        from results_tables import markdown_tables  # experiments/results_tables.py: the page's cells, kept in its JSON

        _write(HERE / "RESULTS-side-by-side.json", {**results, "tables": markdown_tables(page)})
        (HERE / "RESULTS-side-by-side.md").write_text(page)
        print(page)
        return
    if args.mode == "reference" and not args.impls:
        parser.error("reference needs --impls (a checkout's impls/ folder)")
    if args.mode == "reference" and (args.network or args.side):
        parser.error("--network and --side are for the hirl side")
    if args.network and not args.side:
        parser.error("--network needs its own --side (the method's results stay under 'hirl')")
    if any("=" not in kv for kv in args.network):
        parser.error("--network takes FIELD=VALUE")
    args.side = args.side or args.mode
    out = result_path(Path(args.runs), args.side, args.method, args.dataset, args.seed)
    result = {"reference": run_reference, "hirl": run_hirl, "crosseval": run_crosseval}[args.mode](args)
    result.update(method=args.method, dataset=args.dataset, seed=args.seed, batch=args.batch, hidden=args.hidden,
                  episodes_per_task=args.episodes)
    _write(out, result)
    partial_path(out).unlink(missing_ok=True)
    print(json.dumps(result["checkpoints"]))


if __name__ == "__main__":
    main()
