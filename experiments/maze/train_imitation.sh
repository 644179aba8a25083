#!/usr/bin/env bash
# Maze imitation (state subgoals vs flat): collect expert demos (if missing), train the agents of a config, evaluate them on chains.
#   experiments/maze/train_imitation.sh [CONFIG] [RUN_DIR] [key=value ...]
#   experiments/maze/train_imitation.sh experiments/maze/hierarchical.yaml runs/maze collect.episodes=500
# Writes RUN_DIR/config.yaml, RUN_DIR/models/, RUN_DIR/train/ (CSV + TensorBoard), RUN_DIR/eval/report.json + plot + videos.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
hirl=${HIRL:-$( [ -x "$root/.venv/bin/hirl" ] && echo "$root/.venv/bin/hirl" || echo hirl )}
config=${1:-$root/experiments/maze/hierarchical.yaml}
run=${2:-runs/maze}
shift $(( $# < 2 ? $# : 2 ))
"$hirl" train "$config" --out "$run" "$@"
"$hirl" eval "$run"
