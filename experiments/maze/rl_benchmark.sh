#!/usr/bin/env bash
# The maze RL benchmark behind experiments/maze/RESULTS.md: 3 seeds x {hier, flat, hier_norelabel, hier_hl8} in
# two background lanes (2 cores), then the back-to-back throughput measurement. Re-running skips finished
# (variant, seed) results and resumes unfinished stages. Extra key=value arguments apply to every stage config.
#   bash experiments/maze/rl_benchmark.sh runs/maze_rl_bench
#   bash experiments/maze/rl_benchmark.sh runs/maze_rl_bench_large "env_kwargs={layout: large, max_episode_steps: 500}"
#   .venv/bin/python experiments/maze/rl_benchmark.py report --root ROOT
set -u
ROOT=${1:-runs/maze_rl_bench}; shift || true
PY=${PY:-.venv/bin/python}
export MUJOCO_GL=egl HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
mkdir -p "$ROOT/logs"
run() { $PY experiments/maze/rl_benchmark.py run --variant "$1" --seed "$2" --root "$ROOT" "${@:3}" > "$ROOT/logs/$1-s$2.log" 2>&1; }
( for s in 0 1 2; do run hier $s "$@"; done; run hier_norelabel 2 "$@"; for s in 0 1 2; do run hier_hl8 $s "$@"; done ) &
( for s in 0 1 2; do run flat $s "$@"; done; run hier_norelabel 0 "$@"; run hier_norelabel 1 "$@" ) &
wait
$PY experiments/maze/rl_benchmark.py speed --seed 0 --root "$ROOT" "$@" > "$ROOT/logs/speed-s0.log" 2>&1
