#!/usr/bin/env bash
# Hierarchical RL on the medium maze (low -> plan -> high -> adapt, one run directory) and the flat SAC+HER baseline,
# then `hirl eval` of both. Extra key=value arguments apply to every stage (e.g. env_kwargs={layout: large}).
#   bash experiments/maze/rl_train.sh [OUT] [key=value ...]
set -eu
OUT=${1:-runs/maze_rl}; shift || true
export MUJOCO_GL=egl HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
HIRL=${HIRL:-.venv/bin/hirl}
for stage in low plan high adapt; do
  $HIRL train experiments/maze/rl_$stage.yaml --out "$OUT/hier" "$@"
done
$HIRL train experiments/maze/rl_flat.yaml --out "$OUT/flat" "$@"
$HIRL eval "$OUT/hier"
$HIRL eval "$OUT/flat"
