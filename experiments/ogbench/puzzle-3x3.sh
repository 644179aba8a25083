#!/usr/bin/env bash
# OGBench puzzle-3x3-play-v0 through hirl: the dataset with OGBench's oracles (hirl.data.ogbench.generate; EPISODES of 1001
# steps: 150 is what RESULTS.md used, OGBench publishes 1000), then every method of experiments/ogbench/puzzle-3x3.yaml
# for SEEDS on that one dataset, and RESULTS.md / RESULTS.json updated (experiments/ogbench/benchmark.py).
#   bash experiments/ogbench/puzzle-3x3.sh                        # EPISODES=150 SEEDS="0 1 2" WORKERS=2
#   EPISODES=1000 bash experiments/ogbench/puzzle-3x3.sh train.baseline.max_steps=20000   # overrides go to every run
set -euo pipefail
cd "$(dirname "$0")/../.."
export MUJOCO_GL=egl HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
$PY -m hirl.data.ogbench.generate --env puzzle-3x3-v0 --episodes "${EPISODES:-150}" --workers "${WORKERS:-2}" \
  --out runs/data/ogbench/puzzle-3x3-play --resume
# shellcheck disable=SC2086
$PY experiments/ogbench/benchmark.py --envs puzzle-3x3 --seeds ${SEEDS:-0 1 2} --out "${OUT:-runs/ogbench}" "$@"
