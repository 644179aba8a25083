"""Curriculum vs shuffled schedules: training steps until a success threshold, per schedule and seed.

    imitation  the Tabletop language low level (experiments/tabletop/curriculum.yaml): curriculum.schedule staged vs
               shuffled; its learning curve = oracle_high rollouts during training (TrainerConfig.rollout_every, the
               run's eval seeds), metric avg_chain_length (subtasks of a 5-subtask chain completed) and success_rate
    rl         the maze RL low level (experiments/maze/curriculum_rl.yaml, SAC + HER): low.curriculum_schedule staged vs
               linear vs shuffled; its learning curve = goal reaching at the FULL goal radius (eval.mode goals)

    python experiments/curriculum_benchmark.py imitation --seeds 0 1 2 --out OUT [--data DIR] [--backend ray]
    python experiments/curriculum_benchmark.py rl --seeds 0 1 2 --out OUT [--backend ray]
    python experiments/curriculum_benchmark.py imitation --schedules staged --label staged-f0.25 --out OUT \
        curriculum.fraction=0.25
writes OUT/curriculum.json: per run the curve and the first curve point at or above each threshold ("steps to
threshold"; null = not reached within the budget), and per variant (a schedule, or --label: a schedule plus the
overrides given) the mean over seeds, over every variant run into OUT so far (OUT/<label>/variant.json records each
one's schedule, overrides and command). Each (variant, seed) is one trial of hirl.benchmarks.tune.run_trials; a finished
run (its summary file exists) is not trained again.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hirl.benchmarks.curriculum_report import plot_study, study_table
from hirl.benchmarks.tune import add_backend_arguments, check_backend_arguments, run_trials, script_module
from hirl.config import load_config
from hirl.fileio import atomic_write_json

HERE = Path(__file__).resolve().parent
MODES: dict[str, dict[str, Any]] = {
    "imitation": {"config": HERE / "tabletop" / "curriculum.yaml", "schedules": ["shuffled", "staged"],
                  "key": "curriculum.schedule", "metric": "avg_chain_length", "thresholds": [1.0, 2.0, 3.0],
                  "also": "success_rate", "unit": "gradient steps"},
    "rl": {"config": HERE / "maze" / "curriculum_rl.yaml", "schedules": ["shuffled", "staged", "linear"],
           "key": "low.curriculum_schedule", "metric": "success_rate", "thresholds": [0.3, 0.4, 0.5],
           "also": None, "unit": "env steps"},
}


def run_dir(out: Path, schedule: str, seed: int) -> Path:
    return out / schedule / f"seed{seed}"


def train_one(mode: str, config: Path, out: Path, data: Path | None, schedule: str, seed: int, overrides: list[str],
              label: str | None = None) -> None:
    """Train one (variant, seed) run unless its summary exists (the trainers resume an interrupted run)."""
    spec, directory = MODES[mode], run_dir(out, label or schedule, seed)
    sets = [f"seed={seed}", f"{spec['key']}={schedule}", *overrides]
    if mode == "imitation":
        from hirl.learn.run import train_run
        from hirl.learn.run_config import RunConfig

        if (directory / "train_summary.json").is_file():
            return
        cfg = load_config(RunConfig, config, [*sets, f"collect.seed={1000 * seed}"])
        cfg.dataset = str((data or out / "data") / f"seed{seed}")  # one dataset per seed, shared by the schedules
        train_run(cfg, directory)
    else:
        from hirl.rl.config import RLRunConfig
        from hirl.rl.stages import train_rl

        if (directory / "train_summary.json").is_file():
            return
        summary = train_rl(load_config(RLRunConfig, config, sets), directory)
        atomic_write_json(directory / "train_summary.json", summary)


def curve_of(mode: str, directory: Path) -> list[dict[str, float]]:
    """[{step, metric..., }] of one run: the rollout rows of the low level's metrics.csv (with the validation loss of
    the same step when there is one) / the RL stage's curve.json."""
    spec = MODES[mode]
    if mode == "imitation":
        path = directory / "train" / "low_language" / "metrics.csv"
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        val = {int(r["step"]): float(r["loss"]) for r in rows if r["split"] == "val"}
        return [{"step": int(r["step"]), spec["metric"]: float(r[spec["metric"]]), spec["also"]: float(r[spec["also"]]),
                 **({"val_loss": val[int(r["step"])]} if int(r["step"]) in val else {})}
                for r in rows if r["split"] == "rollout"]
    curve = json.loads((directory / "train" / "low" / "curve.json").read_text())
    return [{"step": int(p["env_steps"]), "success_rate": float(p["success_rate"])} for p in curve]


def final_eval(directory: Path, episodes: int) -> dict[str, Any]:
    """Imitation: the finished low level under oracle_high on `episodes` chains of the run's eval protocol (more than
    the learning curve's points use), cached in RUN/final_eval/report.json; subtasks completed / attempted per stage
    of the run's curriculum (the skills each stage adds; the same stages for a shuffled run)."""
    import yaml

    from hirl.curriculum import CurriculumSpec, stage_of_skill

    path = directory / "final_eval" / "report.json"
    if path.is_file() and json.loads(path.read_text())["episodes"] == episodes:
        report = json.loads(path.read_text())
    else:
        from hirl.eval.evaluate import evaluate_run

        report = evaluate_run(directory, ["oracle_high"], episodes, out=directory / "final_eval",
                              overrides=["eval.videos=0"])
    pol = report["policies"]["oracle_high"]
    stages = yaml.safe_load((directory / "config.yaml").read_text())["curriculum"]["stages"]
    names = sorted(pol["per_subtask"])
    of = stage_of_skill(CurriculumSpec(schedule="staged", stages=stages), names)
    per_stage = [{"skills": [n for n, k in zip(names, of, strict=True) if k == i], "completed": 0, "attempted": 0}
                 for i in range(len(stages))]
    for name, k in zip(names, of, strict=True):
        per_stage[k]["completed"] += pol["per_subtask"][name]["completed"]
        per_stage[k]["attempted"] += pol["per_subtask"][name]["attempted"]
    return {"episodes": episodes, "avg_chain_length": pol["avg_chain_length"], "success_rate": pol["success_rate"],
            "per_stage": per_stage}


def dead_units(directory: Path, rows: int = 4096) -> dict[str, Any]:
    """Imitation: ReLU units of the trained low level that are zero on every one of `rows` training rows (all skills;
    a unit dead on the data cannot learn: the plasticity a staged start may cost), per layer and in total."""
    import numpy as np
    import torch

    from hirl.learn.components import head_of, imitation_component
    from hirl.learn.run import load_tables
    from hirl.learn.run_config import RunConfig

    cfg = load_config(RunConfig, directory / "config.yaml")
    (t, tt), _, _ = load_tables(cfg, Path(cfg.dataset))
    component = imitation_component("low_language")
    net: Any = component.load(directory / "models" / "low_language").eval()
    sampler = component.sampler(t, tt, rows, 0.0, head_of(net))
    batch = sampler.gather(np.random.default_rng(0).integers(0, sampler.size, size=rows))
    outputs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outputs.append(o.detach().clone()))
             for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    with torch.no_grad():
        net.loss(batch)
    for h in hooks:
        h.remove()
    per_layer = [int((o <= 0).all(dim=0).sum()) for o in outputs]
    units = [int(o.shape[1]) for o in outputs]
    return {"rows": rows, "dead_per_layer": per_layer, "units_per_layer": units,
            "dead_fraction": round(sum(per_layer) / sum(units), 4)}


def schedule_settings(mode: str, directory: Path) -> dict[str, Any]:
    """What the run's saved config says about its schedule and budget (imitation: curriculum + low budget; rl: low)."""
    import yaml

    if mode == "imitation":
        cfg = yaml.safe_load((directory / "config.yaml").read_text())
        return {"curriculum": cfg["curriculum"], "max_steps": cfg["train"]["low"]["max_steps"],
                "lr_schedule": cfg["train"]["low"]["lr_schedule"]}
    cfg = yaml.safe_load((directory / "train" / "low" / "config.yaml").read_text())
    return {"low": cfg["low"], "steps": cfg["steps"]}


def steps_to(curve: list[dict[str, float]], metric: str, threshold: float) -> int | None:
    """The first curve step whose metric is >= threshold (None: never within the budget)."""
    return next((int(p["step"]) for p in curve if p[metric] >= threshold - 1e-9), None)


def reached_stat(values: list[int | None]) -> dict[str, Any]:
    """{"mean": mean steps over the runs that reached the threshold (None: none did), "reached": how many, "of": runs}."""
    hit = [v for v in values if v is not None]
    return {"mean": round(sum(hit) / len(hit)) if hit else None, "reached": len(hit), "of": len(values)}


def variants(out: Path, mode: str) -> dict[str, dict[str, Any]]:
    """label -> its variant.json (schedule, overrides, command), the mode's own schedules first, then by label."""
    found = {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/variant.json"))}
    order = [s for s in MODES[mode]["schedules"] if s in found] + sorted(k for k in found if k not in MODES[mode]["schedules"])
    return {k: found[k] for k in order}


def summarise(mode: str, out: Path, seeds: list[int], command: str, final_episodes: int = 0) -> dict[str, Any]:
    spec = MODES[mode]
    runs: list[dict[str, Any]] = []
    table: dict[str, Any] = {}
    found = variants(out, mode)
    for label, variant in found.items():
        per: list[dict[str, Any]] = []
        for seed in seeds:
            directory = run_dir(out, label, seed)
            if not (directory / "train_summary.json").is_file():
                continue
            curve = curve_of(mode, directory)
            row = {"variant": label, "schedule": variant["schedule"], "seed": seed, "curve": curve,
                   "final": curve[-1][spec["metric"]] if curve else None,
                   "best": max(p[spec["metric"]] for p in curve) if curve else None,
                   "steps_to": {str(t): steps_to(curve, spec["metric"], t) for t in spec["thresholds"]}}
            if final_episodes and mode == "imitation":
                row["final_eval"] = final_eval(directory, final_episodes)
                row["dead_units"] = dead_units(directory)
            runs.append(row)
            per.append(row)
        if not per:
            continue
        table[label] = {
            "schedule": variant["schedule"], "overrides": variant["overrides"], "command": variant["command"],
            "settings": schedule_settings(mode, run_dir(out, label, per[0]["seed"])),
            "seeds": [r["seed"] for r in per],
            "final_mean": round(sum(r["final"] for r in per) / len(per), 4),
            "best_mean": round(sum(r["best"] for r in per) / len(per), 4),
            "steps_to": {str(t): reached_stat([r["steps_to"][str(t)] for r in per]) for t in spec["thresholds"]},
        }
    budget = max((p["step"] for r in runs for p in r["curve"]), default=0)
    return {"mode": mode, "metric": spec["metric"], "unit": spec["unit"], "thresholds": spec["thresholds"], "budget": budget,
            "command": command, "schedules": table, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=sorted(MODES))
    p.add_argument("--config", type=Path, default=None, help="the run config (default: the mode's, module docstring)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--schedules", nargs="+", default=None, help="schedules to compare (default: the mode's)")
    p.add_argument("--label", default=None, help="run one schedule with the overrides as the variant LABEL (OUT/LABEL/)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data", type=Path, default=None,
                   help="imitation: directory of per-seed datasets seed<N> (default: OUT/data)")
    p.add_argument("--report-only", action="store_true", help="only rebuild OUT/curriculum.json from finished runs")
    p.add_argument("--final-episodes", type=int, default=0,
                   help="imitation: also evaluate each finished low level under oracle_high on this many chains")
    p.add_argument("--plot", type=Path, default=None, help="also draw the learning curves into this PNG")
    add_backend_arguments(p)
    p.add_argument("overrides", nargs="*", help="key=value overrides applied to every run")
    a, extra = p.parse_known_args(argv)  # key=value overrides may follow the options
    unknown = [e for e in extra if "=" not in e or e.startswith("-")]
    if unknown:
        p.error(f"unrecognized arguments: {' '.join(unknown)}")
    a.overrides = [*a.overrides, *extra]
    check_backend_arguments(p, a)
    spec = MODES[a.mode]
    config, out = (a.config or spec["config"]).resolve(), a.out.resolve()
    data = a.data.resolve() if a.data else None
    schedules = a.schedules or spec["schedules"]
    if a.label is not None and len(schedules) != 1:
        p.error("--label names one variant: give exactly one --schedules value with it")
    command = "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])

    def trial(params: Mapping[str, Any]) -> None:
        train_one(a.mode, config, out, data, str(params["schedule"]), int(params["seed"]), list(a.overrides), a.label)
        atomic_write_json(out / "curriculum.json", summarise(a.mode, out, a.seeds, command))

    if not a.report_only:
        for schedule in schedules:  # what each variant is, for the table (before any of its runs starts)
            path = out / (a.label or schedule) / "variant.json"
            if path.is_file():  # more seeds of a variant: the same schedule and overrides, the first command kept
                known = json.loads(path.read_text())
                if (known["schedule"], known["overrides"]) != (schedule, list(a.overrides)):
                    p.error(f"{path}: variant {a.label or schedule!r} was run as {known['schedule']} with overrides "
                            f"{known['overrides']}; give it another --label")
            else:
                atomic_write_json(path, {"schedule": schedule, "overrides": list(a.overrides), "command": command})
        # seed-major order: every variant of seed 0 first, so a partial sweep compares like with like
        params = [{"schedule": s, "seed": seed} for seed in a.seeds for s in schedules]
        run_trials(trial, params, storage=out / "tune", name=f"curriculum-{a.mode}", backend=a.backend, address=a.address,
                   cpus=a.cpus_per_trial, gpus=a.gpus_per_trial, ship=script_module(__name__))
    res = summarise(a.mode, out, a.seeds, command, a.final_episodes)
    atomic_write_json(out / "curriculum.json", res)
    if a.plot is not None and res["runs"]:
        print(f"plot: {plot_study(res, a.plot)}")
    print(study_table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
