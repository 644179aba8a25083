#!/usr/bin/env bash
# The interventions benchmark end to end (experiments/tabletop/CORRECTIONS.md, numbers in CORRECTIONS.json): per seed,
# the base run (BASE_DEMOS expert chains, default 50; only its high level is used), then language corrections /
# takeovers / mixed vs extra demonstrations on the FROZEN low level of an existing trained run (LOW_RUN, default the
# imitation benchmark's runs/bench/tabletop/seed{seed} of experiments/tabletop/RESULTS.md: 600 demos, 30k steps,
# single-step MLP head, the runs the committed numbers used; read, never written).
#   experiments/tabletop/corrections_benchmark.sh [OUT] [SEED ...]      (default: runs/bench/corrections 0 1 2)
#   BASE_DEMOS=200 LOW_RUN=/path/seed{seed} MODES="language mixed" experiments/tabletop/corrections_benchmark.sh OUT 0
#   LOOP=experiments/tabletop/corrections_loop_redo.yaml ... (the correction loop's config; default corrections_loop.yaml)
# The base collection uses the low run's collection seed, so its chains are the first BASE_DEMOS of the low run's
# dataset and the extra demonstrations come after them. Every step resumes (trainings from their checkpoints, the
# benchmark from its per-run JSON files).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
hirl=${HIRL:-$( [ -x .venv/bin/hirl ] && echo .venv/bin/hirl || echo hirl )}
py=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
out=${1:-runs/bench/corrections}
shift || true
seeds=${*:-0 1 2}
base_demos=${BASE_DEMOS:-50}
low_run=${LOW_RUN:-runs/bench/tabletop/seed\{seed\}}
modes=${MODES:-language takeover mixed}
loop=${LOOP:-experiments/tabletop/corrections_loop.yaml}
export MUJOCO_GL=${MUJOCO_GL:-egl} HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
for s in $seeds; do
  low=${low_run//\{seed\}/$s}
  cseed=$("$py" -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))['collect']['seed'])" "$low/config.yaml")
  [ -f "$out/seed$s/base/train_summary.json" ] || "$hirl" train experiments/tabletop/corrections.yaml seed="$s" \
    collect.seed="$cseed" collect.episodes="$base_demos" dataset="$out/data/seed$s" \
    train.low.max_steps=1 train.low.eval_every=1 train.low.checkpoint_every=1 --out "$out/seed$s/base"
  # shellcheck disable=SC2086
  "$py" experiments/corrections_benchmark.py --seeds "$s" --out "$out" --low-run "$low_run" --base-demos "$base_demos" \
    --loop "$loop" --modes $modes --results "${RESULTS:-experiments/tabletop/CORRECTIONS.json}"
done
# shellcheck disable=SC2086
"$py" experiments/corrections_benchmark.py --seeds $seeds --out "$out" --low-run "$low_run" --base-demos "$base_demos" \
  --loop "$loop" --modes $modes --results "${RESULTS:-experiments/tabletop/CORRECTIONS.json}" --report-only
