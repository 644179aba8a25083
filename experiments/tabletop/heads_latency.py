"""Control-step latency of a trained agent split by whether the step ran its action head's network (chunked heads
run it every `execute` steps, or every step when ensembling), on the run's evaluation chains.

    python experiments/tabletop/heads_latency.py runs/heads/chunk --agent oracle_high --episodes 10
    python experiments/tabletop/heads_latency.py runs/heads/chunk --agent oracle_high head.execution=ensemble

Prints one JSON object: p50 / p99 in ms of every control step; of the steps that ran the network on the subgoal it
already had (the head's own cost); of the steps that started a new subgoal (they also embed the new instruction:
a MiniLM pass for language subgoals, ~5-30 ms on a loaded CPU, once per subgoal); of the other steps (a pending
action popped); and the fraction of steps that ran the network. (hirl eval's report.json has the same all-steps
numbers as control_step_ms.)
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from hirl.hierarchy.rollout import AgentWrapper, run_episode
from hirl.runs import load_agent, run_kind
from hirl.runs.rundir import as_run_dir
from hirl.types import Observation


class StepTimer(AgentWrapper):
    """Times every act(); `predicted` of the low level (hierarchies) or of the agent itself (baselines) tells whether
    the step ran the head's network."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.policy = getattr(inner, "low", inner)
        self.ms: list[float] = []
        self.ran: list[bool] = []
        self.new_goal: list[bool] = []

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        before = self.inner.subgoal
        t0 = time.perf_counter()
        action = self.inner.act(obs, info)
        self.ms.append((time.perf_counter() - t0) * 1e3)
        self.ran.append(bool(getattr(self.policy, "predicted", True)))
        self.new_goal.append(self.inner.subgoal is not before)
        return action


def percentiles(ms: np.ndarray) -> dict[str, float] | None:
    if not len(ms):
        return None
    return {"p50": round(float(np.percentile(ms, 50)), 3), "p99": round(float(np.percentile(ms, 99)), 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="run directory of a trained imitation run")
    p.add_argument("--agent", default="oracle_high", help="agent to time (default: oracle_high)")
    p.add_argument("--episodes", type=int, default=10, help="evaluation chains to time (seeds: the run's eval seed + i)")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides of the run's config, e.g. head.execution=ensemble")
    args = p.parse_intermixed_args()
    run = as_run_dir(args.run).require()
    kind = run_kind(run.kind())
    cfg = kind.load_config(run, args.overrides)
    setup = kind.eval_setup(cfg)
    env = kind.make_env(cfg)
    agent = load_agent(run, args.agent, env, cfg=cfg)
    run_episode(env, agent, setup.command, seed=setup.seed, options=setup.options(1))  # warm-up (first calls), untimed
    timer = StepTimer(agent)
    for i in range(args.episodes):
        run_episode(env, timer, setup.command, seed=setup.seed + i, options=setup.options(setup.chain_length))
    ms, ran, new = np.asarray(timer.ms), np.asarray(timer.ran), np.asarray(timer.new_goal)
    print(json.dumps({"run": str(run.path), "agent": args.agent, "overrides": args.overrides, "episodes": args.episodes,
                      "steps": len(ms), "inference_fraction": round(float(ran.mean()), 4),
                      "all_steps_ms": percentiles(ms), "inference_steps_ms": percentiles(ms[ran & ~new]),
                      "new_subgoal_steps_ms": percentiles(ms[new]), "other_steps_ms": percentiles(ms[~ran & ~new])}))


if __name__ == "__main__":
    main()
