#!/usr/bin/env bash
# The maze RL benchmark behind experiments/maze/RESULTS.md: 3 seeds x {hier, flat, hier_norelabel}, in two
# background lanes (2 cores). Re-running skips finished (variant, seed) results and resumes unfinished stages.
#   bash experiments/maze/rl_benchmark.sh [ROOT]   then   .venv/bin/python experiments/maze/rl_benchmark.py report --root ROOT
set -u
ROOT=${1:-runs/maze_rl_bench}
PY=${PY:-.venv/bin/python}
export MUJOCO_GL=egl HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
mkdir -p "$ROOT/logs"
run() { $PY experiments/maze/rl_benchmark.py run --variant "$1" --seed "$2" --root "$ROOT" > "$ROOT/logs/$1-s$2.log" 2>&1; }
( for s in 0 1 2; do run hier $s; done; run hier_norelabel 2 ) &
( for s in 0 1 2; do run flat $s; done; run hier_norelabel 0; run hier_norelabel 1 ) &
wait
