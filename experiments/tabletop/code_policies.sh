#!/usr/bin/env bash
# The two example code policies (examples/skills/) on their unseen Tabletop goal tasks, over each benchmark seed's
# trained language low level (code:FILE) and over the scripted expert's low level (code_expert:FILE), 50 episodes each.
# Usage: bash experiments/tabletop/code_policies.sh [RUNS_ROOT=runs/bench/tabletop] [OUT=runs/skills/code] [EPISODES=50]
# Then: code_failures.py, and `skills_results.py gather --code-root OUT` (writes experiments/tabletop/RESULTS-skills.{json,md})
set -euo pipefail
ROOT=${1:-runs/bench/tabletop}
OUT=${2:-runs/skills/code}
EPISODES=${3:-50}
cd "$(dirname "$0")/../.."
for seed in 0 1 2; do
  for task in tower all_in_drawer; do
    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/hirl eval "$ROOT/seed$seed" --episodes "$EPISODES" \
      --agents "code:examples/skills/$task.py" "code_expert:examples/skills/$task.py" \
      env_kwargs.goal_task="$task" eval.videos=0 --out "$OUT/seed$seed/$task" > /dev/null
    echo "seed $seed $task done"
  done
done
