#!/usr/bin/env bash
# Language-conditioned RL low level on Tabletop, with and without hindsight language relabeling.
#   bash experiments/tabletop/rl_train_language.sh [OUT] [key=value ...]
set -eu
OUT=${1:-runs/tt_rl_language}; shift || true
export MUJOCO_GL=egl HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
HIRL=${HIRL:-.venv/bin/hirl}
$HIRL train experiments/tabletop/rl_language.yaml --out "$OUT/relabel" "$@"
$HIRL train experiments/tabletop/rl_language.yaml --out "$OUT/norelabel" language.relabel=false "$@"
