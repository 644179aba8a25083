#!/usr/bin/env bash
# The corrections benchmark end to end (experiments/tabletop/CORRECTIONS.md): per seed, the 50-demo base run
# (its high level is corrected) and the 600-demo run (its low level, frozen), then corrections vs extra demos.
#   experiments/tabletop/corrections_benchmark.sh [OUT] [SEED ...]      (default: runs/bench/corrections 0 1 2)
# Every step resumes: trainings from their checkpoints, the benchmark from its per-run JSON files.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
hirl=${HIRL:-$( [ -x .venv/bin/hirl ] && echo .venv/bin/hirl || echo hirl )}
py=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
out=${1:-runs/bench/corrections}
shift || true
seeds=${*:-0 1 2}
export MUJOCO_GL=${MUJOCO_GL:-egl} HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
for s in $seeds; do
  [ -f "$out/seed$s/base/train_summary.json" ] || "$hirl" train experiments/tabletop/corrections.yaml seed="$s" \
    collect.seed=$((1000 * s + 500)) dataset="$out/data/seed$s" --out "$out/seed$s/base"
  [ -f "$out/seed$s/low600/train_summary.json" ] || "$hirl" train experiments/tabletop/corrections.yaml seed="$s" \
    collect.seed=$((1000 * s + 500)) collect.episodes=600 collect.workers=2 dataset="$out/data/seed$s-600" \
    train.low.max_steps=15000 train.high.max_steps=1 train.high.eval_every=1 train.high.checkpoint_every=1 --out "$out/seed$s/low600"
  "$py" experiments/corrections_benchmark.py --seeds "$s" --out "$out"
done
# shellcheck disable=SC2086
"$py" experiments/corrections_benchmark.py --seeds $seeds --out "$out" --report-only
