"""Where the code policies fail over the learned low level: the failed episodes of `hirl eval` (code:FILE) re-run with
the agent's trace kept, counting each skill attempt that ran out of time (the low level failed a skill it was allowed
to start) and each refused proposal; and how many training chains contain each task (none may).

    python experiments/tabletop/code_failures.py --runs runs/bench/tabletop --out-root runs/skills/code
writes OUT_ROOT/failures.json.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import h5py

from hirl.fileio import atomic_write_json
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.runs import RunDir, load_agent
from hirl.runs.kinds import run_kind

TASKS = ("tower", "all_in_drawer")


def training_chains_containing(dataset: Path) -> dict[str, int]:
    """Chains of a dataset that contain each task: tower = a stack onto a block that was itself stacked before (3 high);
    all_in_drawer = open the drawer, then all three places, then close it (in that order, other subtasks between)."""
    counts = {t: 0 for t in TASKS}
    with h5py.File(dataset / "data" / "main_data.hdf5", "r") as f:
        for key in f:
            task = json.loads(f[key].attrs["task"])
            stacked_on: set[str] = set()
            for t in task:
                if t.startswith("stack the "):
                    a, b = t.split()[2], t.split()[-2]
                    if b in stacked_on:
                        counts["tower"] += 1
                        break
                    stacked_on.add(a)
            if "open the drawer" in task:
                rest = task[task.index("open the drawer") + 1:]
                places = [i for i, t in enumerate(rest) if t.endswith("in the drawer")]
                if len(places) == 3 and "close the drawer" in rest[places[-1]:]:
                    counts["all_in_drawer"] += 1
    return counts


def failures(run: Path, report: dict[str, Any], task: str) -> dict[str, Any]:
    name = f"code:examples/skills/{task}.py"
    rd = RunDir(run).require()
    cfg = run_kind(rd.kind()).load_config(rd, [f"env_kwargs.goal_task={task}"])
    env = adapter(cfg.env).make(goal_task=task)
    agent = load_agent(rd, name, env, cfg=cfg)
    expert = {e["seed"]: e["success"] for e in report["policies"][f"code_expert:examples/skills/{task}.py"]["episodes_detail"]}
    failed = [e["seed"] for e in report["policies"][name]["episodes_detail"] if not e["success"]]
    timeouts: Counter[str] = Counter()  # skill -> attempts that ran out of their timeout
    cut: Counter[str] = Counter()  # skill running when the episode's step budget ended
    refusals = 0
    for seed in failed:
        run_episode(env, agent, adapter(cfg.env).command, seed=seed)
        prev = None
        for e in agent.trace:
            if e.reason == "timeout" and prev is not None:
                timeouts[prev] += 1
            prev = e.subgoal.text
            refusals += len(e.refused)
        cut[agent.trace[-1].subgoal.text] += 1
    env.close()
    return {"failed": len(failed), "failed_where_expert_low_succeeded": sum(1 for s in failed if expert.get(s)),
            "skill_timeouts": dict(timeouts.most_common()), "running_at_budget_end": dict(cut.most_common()),
            "refused_proposals": refusals}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs/bench/tabletop")
    p.add_argument("--out-root", default="runs/skills/code")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a = p.parse_args()
    root, out = Path(a.runs), Path(a.out_root)
    result: dict[str, Any] = {"training_chains": {}, "failures": {}}
    for s in a.seeds:
        cfg = run_kind(RunDir(root / f"seed{s}").kind()).load_config(RunDir(root / f"seed{s}"))
        result["training_chains"][f"seed{s}"] = training_chains_containing(Path(cfg.dataset))
        for task in TASKS:
            report = json.loads((out / f"seed{s}" / task / "report.json").read_text())
            result["failures"][f"seed{s}/{task}"] = failures(root / f"seed{s}", report, task)
            print(s, task, result["failures"][f"seed{s}/{task}"], flush=True)
    result["command"] = f"python experiments/tabletop/code_failures.py --runs {a.runs} --out-root {a.out_root}"
    atomic_write_json(out / "failures.json", result)


if __name__ == "__main__":
    main()
