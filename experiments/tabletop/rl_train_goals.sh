#!/usr/bin/env bash
# Tabletop RL low levels on position goals (SAC + HER): the gripper reaching xyz goals and the red block pushed to
# table positions, one run directory each, then `hirl eval` (eval.mode goals: goal-reaching episodes).
#   bash experiments/tabletop/rl_train_goals.sh [OUT] [key=value ...]       (e.g. seed=1)
set -eu
OUT=${1:-runs/tt_rl_goals}; shift || true
export MUJOCO_GL=egl HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
HIRL=${HIRL:-.venv/bin/hirl}
for target in gripper block; do
  $HIRL train experiments/tabletop/rl_low_$target.yaml --out "$OUT/$target" "$@"
  $HIRL eval "$OUT/$target"
done
