#!/usr/bin/env bash
# Maze: hierarchical state subgoals vs flat on 300 expert demos.
#   experiments/maze/train_imitation.sh [RUN_DIR] [key=value ...]      (see experiments/train_imitation.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
run=${1:-runs/maze}
shift $(( $# < 1 ? 0 : 1 ))
exec "$here/../train_imitation.sh" "$here/hierarchical.yaml" "$run" "$@"
