"""DIAYN on hirl/Maze-v0 (medium layout): state coverage of the discovered skills vs a random policy vs flat SAC+HER,
and goal reaching by a planner over the discovered skills vs flat SAC+HER, at equal env steps.

Per seed and skill count K:
    DIAYN         SAC + DIAYN reward (xy features), K skills of `horizon` steps from uniformly random start cells,
                  `diayn_steps` env steps; then `outcome_steps` env steps of random skill chains whose segments fit the
                  planner's outcome model (hirl.skills.skill_planner); skills exported to a library (DIR/skills.yaml)
    SAC+HER       hirl's flat baseline learner (hirl.rl.sb3.build_model, AlgoSpec of experiments/maze/rl_flat.yaml),
                  diayn_steps + outcome_steps env steps on random start/goal pairs
    coverage      from the fixed start cell (1, 1): 20 rollouts x 200 steps each; the fraction of the 26 free cells
                  visited (DIAYN: a random skill every `horizon` steps; random: uniform actions; SAC+HER: a random
                  goal cell per rollout)
    downstream    from cell (1, 1) to every other free cell (25 goals x 2 jitters), 400 steps: the skill planner
                  (depth 3) driving the skills through HierarchicalAgent vs the SAC+HER policy

    python experiments/maze/diayn.py --out runs/skills/diayn_maze [--seeds 0 1 2] [--skills 8]
writes OUT/diayn_maze.json (rendered by experiments/maze/skills_results.py).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.fileio import atomic_write_json
from hirl.hierarchy import FixedInterval, HierarchicalAgent
from hirl.hierarchy.rollout import run_episode
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.rl.config import AlgoSpec
from hirl.rl.sb3 import build_model
from hirl.skills.coverage import VisitCounter, maze_cell_fn
from hirl.skills.diayn import DiaynEnv, DiaynLowLevel, diayn_library, save_diayn, train_diayn
from hirl.skills.skill_planner import fit_outcome_model, planner_agent
from hirl.types import Command, Subgoal

START = (1, 1)
LAYOUT = "medium"


def maze(steps: int, continuing: bool = False) -> gym.Env:
    return gym.make("hirl/Maze-v0", layout=LAYOUT, continuing=continuing, max_episode_steps=steps)


def coverage(policy: str, act: Any, seed: int, rollouts: int = 20, steps: int = 200, horizon: int = 50,
             n_skills: int = 8, goal_fn: Any = None) -> float:
    env = VisitCounter(maze(steps, continuing=True), None)  # type: ignore[arg-type]
    env.cell_fn = maze_cell_fn(env)
    rng = np.random.default_rng(seed)
    base: Any = env.unwrapped
    free = base.free_cells()
    for i in range(rollouts):
        goal = tuple(free[rng.integers(len(free))]) if policy == "sac_her" else None
        opts: dict[str, Any] = {"start_cell": START}
        if goal is not None and goal != START:
            opts["goal_cell"] = goal
        obs, _ = env.reset(seed=seed * 1000 + i, options=opts)
        z = int(rng.integers(n_skills))
        for t in range(steps):
            if policy == "diayn" and t % horizon == 0:
                z = int(rng.integers(n_skills))
            obs, _, term, trunc, _ = env.step(act(obs, z, rng))
            if term or trunc:
                break
    return len(env.visited) / len(free)


def downstream(agent_fn: Any, seed: int) -> float:
    env = maze(400)
    base: Any = env.unwrapped
    free = [c for c in base.free_cells() if tuple(c) != START]
    wins, n = 0, 0
    for j in range(2):
        for i, goal in enumerate(free):
            agent = agent_fn()
            r = run_episode(env, agent, lambda info: Command("reach the goal"), seed=seed * 100 + 50 * j + i,
                            options={"start_cell": START, "goal_cell": tuple(goal)})
            wins, n = wins + int(r.success), n + 1
    return wins / n


def one(seed: int, k: int, out: Path, diayn_steps: int, outcome_steps: int, horizon: int, baseline: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    env = DiaynEnv(maze(10_000, continuing=True), k, "observation", [0, 1], horizon, feature_scale=[4.0, 4.0])
    model, disc, cb = train_diayn(env, diayn_steps, seed)
    directory = save_diayn(out / f"seed{seed}_k{k}", model, disc, env)
    library = diayn_library(directory, "hirl/Maze-v0")
    library.save(directory / "skills.yaml")
    low = DiaynLowLevel.load(directory)
    diayn_s = time.perf_counter() - t0
    omodel = fit_outcome_model(maze(10 * horizon, continuing=True), low, k, horizon, outcome_steps, seed)

    def diayn_act(obs: Any, z: int, rng: Any) -> np.ndarray:
        return low.act(obs, Subgoal("state", np.eye(k)[z]))

    def agent() -> HierarchicalAgent:
        return planner_agent(library, omodel, low, depth=3)

    res: dict[str, Any] = {
        "seed": seed, "skills": k, "horizon": horizon, "diayn_steps": diayn_steps, "outcome_steps": outcome_steps,
        "diayn_seconds": round(diayn_s, 1), "discriminator_accuracy_last": cb.accuracy[-1][1] if cb.accuracy else None,
        "coverage": {"diayn": coverage("diayn", diayn_act, seed, horizon=horizon, n_skills=k),
                     "random": coverage("random", lambda o, z, rng: rng.uniform(-1, 1, 2).astype(np.float32), seed)},
        "downstream": {"diayn_planner": downstream(agent, seed)},
    }
    if baseline is not None:
        her, her_s = baseline
        res["coverage"]["sac_her"] = coverage("sac_her", lambda o, z, rng: her.predict(o, deterministic=True)[0], seed)

        def her_agent() -> HierarchicalAgent:
            return HierarchicalAgent(ScriptedHighLevel(lambda o, c: Subgoal("state", o["desired_goal"])),
                                     ScriptedLowLevel(lambda o, g: her.predict(o, deterministic=True)[0]),
                                     FixedInterval(10**6))

        res["downstream"]["sac_her"] = downstream(her_agent, seed)
        res["sac_her_steps"], res["sac_her_seconds"] = diayn_steps + outcome_steps, her_s
    print(res, flush=True)
    return res


def train_her(seed: int, steps: int) -> tuple[Any, float]:
    t0 = time.perf_counter()
    spec = AlgoSpec(device="cpu")
    model = build_model(spec, maze(300), seed)
    model.learn(total_timesteps=steps)
    return model, round(time.perf_counter() - t0, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/skills/diayn_maze")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--skills", type=int, nargs="+", default=[8])
    p.add_argument("--diayn-steps", type=int, default=40_000)
    p.add_argument("--outcome-steps", type=int, default=10_000)
    p.add_argument("--horizon", type=int, default=50)
    p.add_argument("--no-baseline", action="store_true", help="skip SAC+HER (e.g. a second skill count at a budget "
                   "whose baseline was already run)")
    a = p.parse_args()
    out = Path(a.out)
    rows = []
    for seed in a.seeds:
        baseline = None if a.no_baseline else train_her(seed, a.diayn_steps + a.outcome_steps)
        for i, k in enumerate(a.skills):
            rows.append(one(seed, k, out, a.diayn_steps, a.outcome_steps, a.horizon, baseline if i == 0 else None))
        atomic_write_json(out / "diayn_maze.json", {"layout": LAYOUT, "start_cell": list(START), "rows": rows,
                                                    "command": "python " + " ".join(sys.argv)})


if __name__ == "__main__":
    main()
