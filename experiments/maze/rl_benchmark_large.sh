#!/usr/bin/env bash
# The large-maze RL benchmark of experiments/maze/RESULTS.md: 200k env steps per agent, 3 seeds of the flat SAC+HER
# baseline and of the hierarchy (low 90k -> plan -> high 90k -> adapt 20k; configs in experiments/maze/large/),
# in two background lanes (2 cores), then the tables and the plot. Re-running skips finished (variant, seed)
# results and resumes unfinished stages. About 45 minutes on 2 cores (flat runs ~12 min each, hierarchy ~15).
#   bash experiments/maze/rl_benchmark_large.sh [ROOT]
set -u
ROOT=${1:-runs/maze_large200k}
PY=${PY:-.venv/bin/python}
export MUJOCO_GL=egl HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
mkdir -p "$ROOT/logs"
run() { $PY experiments/maze/rl_benchmark.py run --variant "$1" --seed "$2" --root "$ROOT" --configs experiments/maze/large \
          > "$ROOT/logs/$1-s$2.log" 2>&1; }
( for s in 0 1 2; do run flat $s; done ) &
( for s in 0 1 2; do run hier $s; done ) &
wait
$PY experiments/maze/rl_benchmark.py report --root "$ROOT" --plot experiments/maze/rl_curves_large200k.png
