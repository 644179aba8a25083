#!/usr/bin/env bash
# Unseen phrasings over seeds and recipes (experiments/tabletop/RESULTS-paraphrase.md): per seed, the demo config's
# language hierarchy on its seed's 600 demonstrations, trained without (base) and with instruction augmentation
# (aug, the demo config's since: 32 templated variants per instruction for the low level, command augmentation 0.5
# for the high level); each
# evaluated on EPISODES chains with the held-out paraphrases and experiments/tabletop/instruction_map.tsv; then collected.
#   bash experiments/tabletop/paraphrase_benchmark.sh [SEED ...]          (default: 0 1 2 3 4; EPISODES default 200)
# Every step resumes: a finished training (train_summary.json) or evaluation (report.json) is kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
hirl=${HIRL:-$( [ -x .venv/bin/hirl ] && echo .venv/bin/hirl || echo hirl )}
py=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
seeds=${*:-0 1 2 3 4}
episodes=${EPISODES:-200}
export MUJOCO_GL=${MUJOCO_GL:-egl} HF_HUB_OFFLINE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
reports=()
for s in $seeds; do
  for recipe in base aug; do
    run=runs/bench/para-$recipe-s$s
    extra=(instruction_variants=0 networks.high_language.command_augment=0.0)  # base: no instruction augmentation
    [ "$recipe" = aug ] && extra=(instruction_variants=32 networks.high_language.command_augment=0.5)  # the demo's
    [ -f "$run/train_summary.json" ] || "$hirl" train hirl/configs/demo.yaml --out "$run" seed="$s" collect.seed="$s" \
      dataset="runs/data/para-seed$s" 'agents=[hier_language]' train.low.rollout_every=0 train.high.rollout_every=0 \
      "${extra[@]}"
    out=runs/paraphrase/$recipe-s$s
    [ -f "$out/report.json" ] || "$hirl" eval "$run" --agents oracle_high oracle_high_paraphrase \
      oracle_high_paraphrase_grounded hier_language hier_language_paraphrase hier_language_paraphrase_grounded \
      --episodes "$episodes" --out "$out" --instruction-map experiments/tabletop/instruction_map.tsv --ground eval.videos=0
    reports+=("$recipe=$out/report.json")
  done
done
"$py" experiments/tabletop/paraphrase_benchmark.py collect "${reports[@]}"
