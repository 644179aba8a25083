"""Maze RL benchmark (thin script; the logic is hirl.benchmarks.rl).

    python experiments/maze/rl_benchmark.py run --variant hier --seed 0      # one (variant, seed); resumable
    python experiments/maze/rl_benchmark.py sweep --variants hier flat --seeds 0 1 2 --backend ray   # + report
    python experiments/maze/rl_benchmark.py report                           # tables (Markdown) + plot from results/
    python experiments/maze/rl_benchmark.py speed --seed 0                   # env steps/s: plain SB3 SAC+HER vs our stages
Variants: flat (SAC+HER, 30k steps), hier (low 12k -> plan -> high 14k -> adapt 4k), hier_norelabel (high without HAC),
hier_hl8 (high level with 8 instead of 2 gradient steps per decision; no adapt).
sweep runs every (variant, seed) (hirl.benchmarks.rl.sweep: hier and flat first, then the variants reusing hier's low
level), with --backend ray as one Ray Tune trial each declaring --cpus-per-trial / --gpus-per-trial (docs/scaling.md),
then writes the report; finished runs are skipped, so re-running resumes.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from hirl.benchmarks.rl import VARIANTS, load_results, plot_curves, run_variant, summary_tables, sweep, throughput
from hirl.benchmarks.tune import add_backend_arguments, check_backend_arguments

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["run", "sweep", "report", "speed"])
    p.add_argument("--variant", choices=list(VARIANTS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), help="sweep: variants")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="sweep: seeds")
    p.add_argument("--root", default="runs/maze_rl_bench", help="where run directories and results/ go")
    p.add_argument("--configs", default=str(HERE),
                   help="folder of the stage configs (experiments/maze/large for the large maze)")
    p.add_argument("--episodes", type=int, default=50, help="final evaluation episodes per agent")
    p.add_argument("--plot", default=str(HERE / "rl_curves.png"), help="report: where the success-vs-steps plot goes")
    p.add_argument("--title", help="report: the plot's title (default: 'Maze RL benchmark (<configs folder>)')")
    p.add_argument("--speed-steps", type=int, default=3000, help="speed: env steps per measured learner")
    add_backend_arguments(p)
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides applied to every stage config")
    args, extra = p.parse_known_args(argv)
    args.overrides = list(args.overrides) + [e for e in extra if "=" in e and not e.startswith("-")]
    check_backend_arguments(p, args)
    torch.set_num_threads(1)
    root = Path(args.root)
    if args.action == "run":
        if args.variant is None:
            p.error("run needs --variant")
        r = run_variant(args.variant, args.seed, root, Path(args.configs), args.overrides, args.episodes)
        print({a: m["success_rate"] for a, m in r["final"].items()})
        return 0
    if args.action == "sweep":
        sweep(args.variants, args.seeds, root, Path(args.configs), args.overrides, args.episodes, args.backend,
              args.address, args.cpus_per_trial, args.gpus_per_trial)
    if args.action == "speed":
        print(throughput(root, Path(args.configs), args.speed_steps, args.seed, args.overrides))
        return 0
    results = load_results(root)
    if not results:
        print(f"no results under {root}/results", file=sys.stderr)
        return 2
    print(summary_tables(results))
    title = args.title or f"Maze RL benchmark ({Path(args.configs).resolve().name})"
    print(f"plot: {plot_curves(results, Path(args.plot), title)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
