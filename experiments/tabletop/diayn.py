"""DIAYN on Tabletop's gripper: K skills distinguished by the gripper position (features obs["observation"][0:3]),
SAC + DIAYN reward in free play (goal task "play"), exported to a skill library; coverage = the fraction of 5 cm
voxels of the gripper workspace visited by 20 rollouts x 200 steps from reset states (a random skill every `horizon`
steps) vs a uniformly random policy with the same steps.

    python experiments/tabletop/diayn.py --out runs/skills/diayn_tt [--seeds 0 1 2] [--steps 20000]
writes OUT/diayn_tabletop.json (rendered into experiments/tabletop/RESULTS-skills.md).

--downstream: a high level over those skills (loaded from SKILLS_DIR/seedN, not retrained) solving goal tasks vs flat
SAC+HER at equal env steps, per seed:
    planner    SkillOutcomeModel fitted on `outcome_steps` env steps of random skill chains (4 skills of the skills'
               horizon per free-play episode; planner state = gripper xyz = obs["observation"][0:3]), then the skill
               planner (depth 3, hirl.skills.skill_planner) driving the skills through HierarchicalAgent; --commit C:
               each chosen skill runs C steps (default: its horizon) before the next choice, the model fitted on the
               same chains cut into C-step pieces; its prediction error on `heldout_steps` of other chains is recorded
    SAC+HER    `hirl train experiments/tabletop/rl_low_gripper.yaml` (stage low: its AlgoSpec, goal curriculum and
               50-step episodes) for diayn_steps (the skills' training steps, from diayn.json's run) + outcome_steps env
               steps, through hirl.rl.stages.train_rl
    goals      the same `goals` episodes for both (and for a proportional controller on the true goal offset, as a
               reachability reference): stage low's goal-reaching env of that config at the curriculum's full radius
               (gripper xyz goals from the workspace grid within 0.5 m of the start, +-2 cm), reached within
               `tolerance` m in `episode_steps` control steps, reset seeds 200000 + 1000 * seed + i, in free play
               (goal_task play, as the skills were trained: no chain subtask ends an episode early); run_episode

    python experiments/tabletop/diayn.py --downstream --skills-dir runs/skills/diayn_tt \\
        --out runs/skills/diayn_tt_down [--seeds 0 1 2] [--outcome-steps 10000] [--goals 50] [--commit 50 10]
writes OUT/diayn_tabletop_downstream.json (rendered into experiments/tabletop/RESULTS-skills.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hirl.config import load_config
from hirl.fileio import atomic_write_json
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.policies.base import LowLevelPolicy
from hirl.rl.config import RLRunConfig
from hirl.rl.sb3 import load_model
from hirl.rl.sb3_policies import SB3FlatAgent
from hirl.rl.stages import train_rl
from hirl.rl.task import evaluation_env
from hirl.skills.coverage import VisitCounter, voxel_fn
from hirl.skills.diayn import DiaynEnv, DiaynLowLevel, diayn_library, save_diayn, train_diayn
from hirl.skills.skill_planner import SkillOutcomeModel, fit_outcome_model, planner_agent
from hirl.types import Command, Observation, Subgoal

VOXEL = 0.05  # voxel edge (m)
WORKSPACE_VOXELS = 15 * 20 * 7  # voxels of the gripper target box WORK_LO..WORK_HI (0.75 x 1.0 x 0.325 m) at 5 cm
GRIPPER_CONFIG = Path(__file__).resolve().parent / "rl_low_gripper.yaml"  # SAC+HER: stage low
GOAL_SEED = 200_000  # goal episode i of seed s resets with GOAL_SEED + 1000 * s + i (disjoint from eval.seed + i)


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


# ------------------------------------------------------------------------------------------------- downstream
class ObsPrefix(LowLevelPolicy):
    """A low level trained on the raw Tabletop observation run in the goal env, whose obs[key] (D + extras,) is
    GoalComponents' raw observation (D,) with the other entries (touch, velocity) appended: it sees the first n."""

    def __init__(self, inner: LowLevelPolicy, key: str, n: int) -> None:
        self.inner, self.key, self.n = inner, key, int(n)

    def reset(self) -> None:
        self.inner.reset()

    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        if not isinstance(obs, Mapping):
            raise TypeError("ObsPrefix needs Dict observations")
        return self.inner.act({self.key: np.asarray(obs[self.key])[: self.n]}, subgoal)


class GoalController:
    """Reference Agent: a proportional gripper controller on the true goal offset, a = clip((g - x) / 0.025), gripper
    open (the one RESULTS-rl.md reports on stage low's goals)."""

    step_count = num_queries = num_replans = 0
    subgoal = None

    def reset(self, command: Command | None = None) -> None:
        self.step_count = 0

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        assert isinstance(obs, Mapping)
        self.step_count += 1
        return np.append(np.clip((obs["desired_goal"] - obs["achieved_goal"]) / 0.025, -1, 1), 0.0).astype(np.float32)


def gripper_config(*overrides: str) -> RLRunConfig:
    return load_config(RLRunConfig, GRIPPER_CONFIG, list(overrides))


def distances(out: list[float]) -> Any:
    """A run_episode transition hook appending ||achieved_goal - desired_goal|| of each next observation to out."""

    def hook(t: int, agent: Any, obs: Any, action: Any, reward: float, next_obs: Any, terminated: bool,
             truncated: bool, info: Any) -> None:
        out.append(float(np.linalg.norm(next_obs["achieved_goal"] - next_obs["desired_goal"])))

    return hook


def goal_episodes(make_agent: Any, seed: int, n: int, tolerance: float, steps: int) -> dict[str, Any]:
    """n goal-reaching episodes (the same for every agent of a seed): success rate, final / closest distance (m)."""
    env = evaluation_env(gripper_config("eval.mode=goals", f"low.epsilon={tolerance}", f"low.episode_steps={steps}",
                                        "env_kwargs.goal_task=play"))  # play: no chain subtask ends the episode early
    command = adapter("hirl/Tabletop-v0").command
    eps: list[dict[str, Any]] = []
    for i in range(n):
        first: list[Any] = []
        dist: list[float] = []

        def start(t: int, agent: Any, obs: Any, info: Any, first: list[Any] = first) -> None:
            if t == 0:
                first.append(obs)

        r = run_episode(env, make_agent(env), command, seed=GOAL_SEED + 1000 * seed + i, on_step=start,
                        on_transition=distances(dist))
        o = first[0]
        eps.append({"success": r.success, "steps": r.steps, "subgoals": r.subgoals, "final_distance": round(dist[-1], 4),
                    "min_distance": round(min(dist), 4), "goal": np.round(o["desired_goal"], 4).tolist(),
                    "start_distance": round(float(np.linalg.norm(o["desired_goal"] - o["achieved_goal"])), 4)})
    env.close()
    return {"success_rate": round(float(np.mean([e["success"] for e in eps])), 3),
            "mean_final_distance": round(float(np.mean([e["final_distance"] for e in eps])), 4),
            "mean_min_distance": round(float(np.mean([e["min_distance"] for e in eps])), 4), "episodes": eps}


def downstream_seed(a: argparse.Namespace, seed: int) -> dict[str, Any]:
    directory = Path(a.skills_dir) / f"seed{seed}"
    meta = json.loads((directory / "diayn.json").read_text())
    k, horizon = int(meta["n_skills"]), int(meta["horizon"])
    trained = json.loads((Path(a.skills_dir) / "diayn_tabletop.json").read_text())["rows"]
    diayn_steps = a.diayn_steps if a.diayn_steps is not None else next(int(r["steps"]) for r in trained if r["seed"] == seed)
    low = DiaynLowLevel.load(directory, device="cpu")
    library = diayn_library(directory)  # no env id: the skills' detectors are "never" (they end by their timeout)
    shape = low.model.observation_space.shape
    assert shape is not None
    raw_dim = int(shape[0]) - k  # the raw Tabletop observation (D,) the skills read, before their one-hot skill
    skills = ObsPrefix(low, str(meta["obs_key"]), raw_dim)

    def gripper(o: Observation) -> np.ndarray:  # the planner state: gripper xyz (3,), DIAYN's features
        assert isinstance(o, Mapping)
        return np.asarray(o["observation"][0:3], dtype=np.float64)

    agents: dict[str, Any] = {}
    for commit in a.commit or [horizon]:
        t0 = time.perf_counter()
        omodel = fit_outcome_model(tabletop(), low, k, horizon, a.outcome_steps, seed, state=gripper, segment=commit)
        outcome_s = time.perf_counter() - t0
        held = fit_outcome_model(tabletop(), low, k, horizon, a.heldout_steps, seed + 1000, state=gripper, segment=commit)
        t0 = time.perf_counter()
        def agent(env: Any, m: SkillOutcomeModel = omodel, c: int = commit) -> Any:
            return planner_agent(library, m, skills, a.depth, commit=c)

        res = goal_episodes(agent, seed, a.goals, a.tolerance, a.episode_steps)
        name = "planner" if commit == horizon else f"planner_replan{commit}"
        agents[name] = {**res, "commit": commit, "outcome_segments": len(omodel),
                        "outcome_model_heldout": {n: round(v, 4) for n, v in omodel.heldout_error(held).items()},
                        "seconds": {"outcome_model": round(outcome_s, 1), "eval": round(time.perf_counter() - t0, 1)}}

    budget = diayn_steps + a.outcome_steps
    t0 = time.perf_counter()
    summary = train_rl(gripper_config(f"seed={seed}", f"steps={budget}", "eval.every=0", "progress=false",
                                      f"checkpoint_every={budget}", "algo.device=cpu"), Path(a.out) / f"sac_her_seed{seed}")
    her_s = time.perf_counter() - t0
    her_model = load_model(Path(summary["model"]), device="cpu")
    agents["sac_her"] = goal_episodes(lambda env: SB3FlatAgent(her_model), seed, a.goals, a.tolerance, a.episode_steps)
    agents["p_controller"] = goal_episodes(lambda env: GoalController(), seed, a.goals, a.tolerance, a.episode_steps)
    row = {"seed": seed, "skills": k, "horizon": horizon, "skills_dir": str(directory), "diayn_steps": diayn_steps,
           "outcome_steps": a.outcome_steps, "heldout_steps": a.heldout_steps, "depth": a.depth, "goals": a.goals,
           "tolerance_m": a.tolerance, "episode_steps": a.episode_steps, "agents": agents,
           "sac_her_steps": summary["env_steps"], "sac_her_stage_eval_success": summary["final_success_rate"],
           # this process's seconds (~0 when the run directory already held the trained stage) and the trainer's own
           "seconds": {"sac_her_train": round(her_s, 1), "sac_her_train_reported": summary["train_seconds"]}}
    print({k_: v for k_, v in row.items() if k_ != "agents"},
          {n: (v["success_rate"], v["mean_final_distance"], v.get("outcome_model_heldout")) for n, v in agents.items()},
          flush=True)
    return row


def downstream(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description="DIAYN gripper skills + planner vs flat SAC+HER on gripper goals")
    p.add_argument("--downstream", action="store_true", required=True)
    p.add_argument("--skills-dir", default="runs/skills/diayn_tt", help="the coverage run's OUT (seedN/diayn.json ...)")
    p.add_argument("--out", default="runs/skills/diayn_tt_down")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--diayn-steps", type=int, default=None,
                   help="DIAYN's share of the SAC+HER budget (default: the skills' own steps, SKILLS_DIR/diayn_tabletop.json)")
    p.add_argument("--outcome-steps", type=int, default=10_000)
    p.add_argument("--goals", type=int, default=50)
    p.add_argument("--tolerance", type=float, default=0.05)
    p.add_argument("--episode-steps", type=int, default=300)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--commit", type=int, nargs="+", help="planner variants: control steps each chosen skill runs before "
                   "the next choice, its outcome model fitted on pieces that long (default: the skills' horizon)")
    p.add_argument("--heldout-steps", type=int, default=2000, help="env steps of other skill chains the outcome model's "
                   "prediction error is measured on")
    a = p.parse_args(argv)
    out, rows = Path(a.out), []
    for seed in a.seeds:
        t0 = time.perf_counter()
        row = downstream_seed(a, seed)
        row["seconds"]["total"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        atomic_write_json(out / "diayn_tabletop_downstream.json", {
            "rows": rows, "command": "python experiments/tabletop/diayn.py " + " ".join(argv)})


def main() -> None:
    if "--downstream" in sys.argv[1:]:
        downstream(sys.argv[1:])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/skills/diayn_tt")
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
                          f"python experiments/tabletop/diayn.py --out {a.out} --seeds {' '.join(map(str, a.seeds))} "
                          f"--skills {a.skills} --steps {a.steps} --horizon {a.horizon}"})


if __name__ == "__main__":
    main()
