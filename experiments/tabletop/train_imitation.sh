#!/usr/bin/env bash
# Tabletop imitation: collect expert demos (if missing), train the agents of a config, evaluate them on chains.
#   experiments/tabletop/train_imitation.sh [CONFIG] [RUN_DIR] [key=value ...]
#   experiments/tabletop/train_imitation.sh experiments/tabletop/subgoal_kinds.yaml runs/tt-kinds collect.episodes=100
# Writes RUN_DIR/config.yaml, RUN_DIR/models/, RUN_DIR/train/ (CSV + TensorBoard), RUN_DIR/eval/report.json + plot + videos.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
hirl=${HIRL:-$( [ -x "$root/.venv/bin/hirl" ] && echo "$root/.venv/bin/hirl" || echo hirl )}
config=${1:-$root/experiments/tabletop/hierarchical.yaml}
run=${2:-runs/tabletop}
shift $(( $# < 2 ? $# : 2 ))
"$hirl" train "$config" --out "$run" "$@"
"$hirl" eval "$run"
