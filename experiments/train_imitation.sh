#!/usr/bin/env bash
# Imitation on any env: collect expert demos (if missing), train the agents of a config, evaluate them on chains.
#   experiments/train_imitation.sh CONFIG RUN_DIR [key=value ...]
#   experiments/train_imitation.sh experiments/tabletop/hierarchical.yaml runs/tt collect.episodes=100
# (experiments/<env>/train_imitation.sh call it with their env's config.)
# Writes RUN_DIR/config.yaml, RUN_DIR/models/, RUN_DIR/train/ (CSV + TensorBoard), RUN_DIR/eval/report.json + plot + videos.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hirl=${HIRL:-$( [ -x "$root/.venv/bin/hirl" ] && echo "$root/.venv/bin/hirl" || echo hirl )}
config=${1:?usage: train_imitation.sh CONFIG RUN_DIR [key=value ...]}
run=${2:?usage: train_imitation.sh CONFIG RUN_DIR [key=value ...]}
shift 2
"$hirl" train "$config" --out "$run" "$@"
"$hirl" eval "$run"
