#!/usr/bin/env bash
# OGBench pointmaze-large-navigate-v0 through hirl: the dataset with OGBench's oracles (hirl.data.ogbench.generate; EPISODES of 1001
# steps: 1000 is what RESULTS.md used, OGBench publishes 1000), then every method of experiments/ogbench/pointmaze-large.yaml
# for SEEDS on that one dataset, and RESULTS.md / RESULTS.json updated (experiments/ogbench/benchmark.py).
#   bash experiments/ogbench/pointmaze-large.sh                        # EPISODES=1000 SEEDS="0 1 2" WORKERS=2
#   EPISODES=1000 bash experiments/ogbench/pointmaze-large.sh train.baseline.max_steps=20000   # overrides go to every run
set -euo pipefail
cd "$(dirname "$0")/../.."
export MUJOCO_GL=egl HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
$PY -m hirl.data.ogbench.generate --env pointmaze-large-v0 --episodes "${EPISODES:-1000}" --workers "${WORKERS:-2}" \
  --out runs/data/ogbench/pointmaze-large-navigate --resume
# shellcheck disable=SC2086
$PY experiments/ogbench/benchmark.py --envs pointmaze-large --seeds ${SEEDS:-0 1 2} --out "${OUT:-runs/ogbench}" "$@"
