"""DIAYN on Tabletop's gripper: K skills distinguished by the gripper position (features obs["observation"][0:3]),
SAC + DIAYN reward in free play (goal task "play"), exported to a skill library; coverage = the fraction of 5 cm
voxels of the gripper workspace visited by 20 rollouts x 200 steps from reset states (a random skill every `horizon`
steps) vs a uniformly random policy with the same steps.

    python experiments/skills/diayn_tabletop.py --out /work/runs_h14/diayn_tt [--seeds 0 1 2] [--steps 20000]
writes OUT/diayn_tabletop.json (rendered into experiments/tabletop/RESULTS-skills.md).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from hirl.fileio import atomic_write_json
from hirl.integrations import adapter
from hirl.skills.coverage import VisitCounter, voxel_fn
from hirl.skills.diayn import DiaynEnv, DiaynLowLevel, diayn_library, save_diayn, train_diayn
from hirl.types import Subgoal

VOXEL = 0.05  # voxel edge (m)
WORKSPACE_VOXELS = 15 * 20 * 7  # voxels of the gripper target box WORK_LO..WORK_HI (0.75 x 1.0 x 0.325 m) at 5 cm


def tabletop() -> Any:
    return adapter("hirl/Tabletop-v0").make(goal_task="play")


def coverage(act: Any, seed: int, k: int, horizon: int, rollouts: int = 20, steps: int = 200) -> int:
    env = VisitCounter(tabletop(), voxel_fn("observation", [0, 1, 2], VOXEL))
    rng = np.random.default_rng(seed)
    for i in range(rollouts):
        obs, _ = env.reset(seed=seed * 1000 + i)
        z = 0
        for t in range(steps):
            if t % horizon == 0:
                z = int(rng.integers(k))
            obs, *_ = env.step(act(obs, z, rng))
    return len(env.visited)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/work/runs_h14/diayn_tt")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--skills", type=int, default=8)
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--horizon", type=int, default=50)
    a = p.parse_args()
    out, rows = Path(a.out), []
    for seed in a.seeds:
        t0 = time.perf_counter()
        env = DiaynEnv(tabletop(), a.skills, "observation", [0, 1, 2], a.horizon, feature_scale=[0.2, 0.2, 0.1])
        model, disc, cb = train_diayn(env, a.steps, seed)
        directory = save_diayn(out / f"seed{seed}", model, disc, env)
        diayn_library(directory, "hirl/Tabletop-v0").save(directory / "skills.yaml")
        low = DiaynLowLevel.load(directory)
        k = a.skills

        def skill_act(o: Any, z: int, r: Any, low: DiaynLowLevel = low, k: int = k) -> np.ndarray:
            return low.act(o, Subgoal("state", np.eye(k)[z]))

        row = {"seed": seed, "skills": k, "steps": a.steps, "seconds": round(time.perf_counter() - t0, 1),
               "discriminator_accuracy_last": cb.accuracy[-1][1] if cb.accuracy else None,
               "voxels_diayn": coverage(skill_act, seed, k, a.horizon),
               "voxels_random": coverage(lambda o, z, r: r.uniform(-1, 1, 4).astype(np.float32), seed, k, a.horizon),
               "workspace_voxels": WORKSPACE_VOXELS}
        rows.append(row)
        print(row, flush=True)
        atomic_write_json(out / "diayn_tabletop.json", {"voxel_m": VOXEL, "rows": rows, "command":
                          f"python experiments/skills/diayn_tabletop.py --out {a.out} --seeds {' '.join(map(str, a.seeds))} "
                          f"--skills {a.skills} --steps {a.steps} --horizon {a.horizon}"})


if __name__ == "__main__":
    main()
