"""Benchmark sweeps on Ray Tune: every (config, seed) of a benchmark as one Tune trial declaring its CPUs and GPUs,
shared by experiments/benchmark.py (imitation), the maze RL benchmark (hirl.benchmarks.rl.sweep) and any other
sweep. The local backend runs the same trial function one call after another in this process.

    add_backend_arguments(parser)                       # --backend local|ray, --address, --cpus/--gpus-per-trial
    run_trials(run_one, [{"seed": 0}, {"seed": 1}], storage=OUT / "tune", name="bench",
               backend=args.backend, address=args.address, cpus=args.cpus_per_trial, gpus=args.gpus_per_trial)

Resuming is the benchmark's own: a trial function skips what its result files say is finished (and training resumes
from its checkpoints), so re-running an interrupted sweep re-runs only the unfinished trials, with either backend.
Paths a trial receives must be absolute (Tune runs each trial in a folder of its own).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from hirl.errors import InputError

BACKENDS = ("local", "ray")
Trial = Callable[[Mapping[str, Any]], Any]  # params -> anything (the numbers of a returned dict are reported to Tune)


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """The sweep options every benchmark script shares."""
    p.add_argument("--backend", choices=BACKENDS, default="local",
                   help="local: the trials one after another here; ray: one Ray Tune trial each (the ray extra)")
    p.add_argument("--address", default=None, help="with --backend ray: 'auto' or host:port of a cluster (default: local)")
    p.add_argument("--cpus-per-trial", type=float, default=1.0, help="with --backend ray: CPUs each trial declares")
    p.add_argument("--gpus-per-trial", type=float, default=0.0, help="with --backend ray: GPUs each trial declares")


def check_backend_arguments(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """argparse error (one line) for Ray options without --backend ray, or non-positive resources."""
    if args.backend != "ray" and (args.address is not None or args.gpus_per_trial):
        p.error("--address and --gpus-per-trial need --backend ray")
    if args.cpus_per_trial <= 0 or args.gpus_per_trial < 0:
        p.error("--cpus-per-trial must be > 0 and --gpus-per-trial >= 0")


def run_trials(trial: Trial, params: Sequence[Mapping[str, Any]], *, storage: Path, name: str, backend: str = "local",
               address: str | None = None, cpus: float = 1.0, gpus: float = 0.0,
               ship: Sequence[ModuleType] = ()) -> None:
    """trial(p) for every p in params (in order with backend "local"). backend "ray": each call is one Tune
    trial with resources {"cpu": cpus, "gpu": gpus} (as many at once as the cluster fits), Tune's records in
    storage/<name>-<time>; a local Ray is started and stopped unless address names a cluster (or Ray runs already).
    ship: modules the workers cannot import by name (a script): sent by value. RuntimeError naming the first failed
    trial when any failed; InputError when GPUs are declared but the cluster has fewer."""
    if backend == "local":
        for p in params:
            trial(p)
        return
    if backend != "ray":
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    from hirl.data.ray_collect import init_ray, ray_module

    ray = ray_module()
    from ray import tune

    for module in ship:
        ray.cloudpickle.register_pickle_by_value(module)
    started = init_ray(address)
    plan = [dict(p) for p in params]

    def run_one(config: dict[str, Any]) -> None:
        value = trial(plan[int(config["trial"])])
        numbers = {k: v for k, v in (value.items() if isinstance(value, Mapping) else ()) if isinstance(v, (int, float))}
        tune.report({"finished": 1, **numbers})

    try:
        have = float(ray.cluster_resources().get("GPU", 0.0))
        if gpus > have:
            raise InputError(f"--gpus-per-trial {gpus:g}: the Ray cluster has {have:g} GPU(s)")
        tuner = tune.Tuner(tune.with_resources(run_one, {"cpu": cpus, "gpu": gpus}),
                           param_space={"trial": tune.grid_search(list(range(len(plan))))},
                           run_config=tune.RunConfig(name=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}",
                                                     storage_path=str(Path(storage).resolve()), verbose=0))
        grid = tuner.fit()
        results = [grid[i] for i in range(len(grid))]
        failed = [(plan[int((r.config or {})["trial"])], _last_line(r.error)) for r in results if r.error is not None]
    finally:
        if started:
            ray.shutdown()
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(plan)} trial(s) failed, first {failed[0][0]}: {failed[0][1]}")


def _last_line(error: BaseException) -> str:
    """The exception line of a trial's error (Ray's text starts with the actor, then the remote traceback)."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(error).__name__


def script_module(name: str) -> list[ModuleType]:
    """[the module `name`] when it is a script imported by path rather than as a package module (to ship by value:
    workers cannot import it); [] when it is __main__ (cloudpickle ships __main__'s functions by value anyway)."""
    module = sys.modules.get(name)
    return [module] if module is not None and name != "__main__" else []
