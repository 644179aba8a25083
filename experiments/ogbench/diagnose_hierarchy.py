"""Where hirl's state-subgoal hierarchy loses on OGBench data: its high level's subgoal error against the trivial
"stay where you are" prediction, and its low level's action error on the true subgoal, on the predicted one, and
GCBC's, all on one fixed batch of training transitions relabelled as in training.

    python experiments/ogbench/diagnose_hierarchy.py RUN --k 25 [--hier gc_hier_state_cpu] [--gcbc gcbc_cpu]

RUN is a trained run of experiments/ogbench/*.yaml (its config names the dataset). Prints one JSON line."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from hirl.config import load_config
from hirl.data import load_dataset
from hirl.data.tables import build_tables
from hirl.learn.offline_gc.sampling import GoalSampler
from hirl.policies.offline_gc.goal_sampling import GoalSampling
from hirl.policies.offline_gc.gcbc import GCBC, GCHierState
from hirl.learn.run_config import RunConfig
from hirl.plugins import import_plugins


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("--k", type=int, required=True, help="the hierarchy's subgoal horizon (25 mazes, 10 manipulation)")
    p.add_argument("--hier", default="gc_hier_state_cpu")
    p.add_argument("--gcbc", default="gcbc_cpu")
    p.add_argument("--batch", type=int, default=4096)
    a = p.parse_args()
    import_plugins(["hirl.learn.gc_plugin"], "diagnose")
    torch.set_num_threads(1)
    cfg = load_config(RunConfig, a.run / "config.yaml")
    t = build_tables(load_dataset(cfg.dataset, obs_keys=tuple(cfg.obs_keys)), tuple(cfg.obs_keys))
    b = GoalSampler(t, a.batch, GoalSampling(subgoal_steps=a.k))(0, np.random.default_rng(0))
    hier, gcbc = GCHierState.load(a.run / "models" / a.hier), GCBC.load(a.run / "models" / a.gcbc)

    def sq(x: torch.Tensor, y: torch.Tensor) -> float:  # mean over the batch of the squared L2 distance
        return round(float(((x - y) ** 2).sum(-1).mean()), 4)

    with torch.no_grad():
        pred, n = hier.high(b["obs"], b["actor_goal"]), hier.goal_norm
        out = {
            "run": str(a.run), "k": a.k,
            "high_error_normalised": sq(n(pred), n(b["high_target"])),
            "stay_error_normalised": sq(n(b["obs"]), n(b["high_target"])),
            "low_action_error_true_subgoal": sq(hier.low(b["obs"], b["high_target"]), b["action"]),
            "low_action_error_predicted_subgoal": sq(hier.low(b["obs"], pred), b["action"]),
            "gcbc_action_error": sq(gcbc(b["obs"], b["actor_goal"]), b["action"]),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
