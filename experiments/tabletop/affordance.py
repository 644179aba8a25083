"""SayCan-style affordance high level vs the run's learned language high level on commands outside the training
chains, over each benchmark seed's frozen language low level.

Per seed: (1) free-play skill outcomes of the run's low level (hirl.skills.outcomes; random skills, half among the
admissible ones, each ended by its predicate or after 120 steps; cached in OUT/seedN/outcomes_PLAY.npz for reruns),
(2) an AffordanceModel fitted (early-stopped on its own held-out fifth) on 80 % of them (accuracy on the other 20 %
reported), (3) both high
levels evaluated through hirl.eval.evaluate.evaluate_agent on
    paraphrased   5-subtask chains commanded in held-out paraphrases with varied connectors
                  ("first open up the drawer, after that take the red block; ...")
    unseen        the goal task all_in_drawer, commanded "put every block in the drawer and close it" (the drawer starts
                  closed and the command never says to open it)
Both high levels get the same command steps (hirl.skills.saycan.split_command) as Command.subtasks.

    python experiments/tabletop/affordance.py --runs runs/bench/tabletop --out runs/skills/aff [--episodes 30] [--play 120]
writes OUT/affordance.json (then `experiments/tabletop/skills_results.py gather` renders RESULTS-skills).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from hirl.eval.evaluate import evaluate_agent
from hirl.fileio import atomic_write_json
from hirl.integrations import adapter
from hirl.runs import AgentContext, RunDir, load_agent
from hirl.runs.kinds import run_kind
from hirl.skills.affordance import AffordanceModel
from hirl.skills.library import SkillLibrary
from hirl.skills.outcomes import collect_outcomes
from hirl.skills.saycan import block_objects, split_command
from hirl.types import Command

OBS_KEYS = ("observation", "touch")
CONNECTORS = (", then ", ", after that ", " and then ", "; ", ", next ")
UNSEEN = "put every block in the drawer and close it"


def paraphrased_command(adapter_: Any, objects: list[str]) -> Any:
    def command(info: dict[str, Any]) -> Command:
        task = list(info["task"])
        rng = np.random.default_rng(zlib.crc32(" | ".join(task).encode()))  # the same connectors in every run
        parts = [(adapter_.paraphrase_split(t)[1] or [t])[0] for t in task]
        text = "first " + parts[0] + "".join(str(rng.choice(CONNECTORS)) + p for p in parts[1:])
        return Command(text, tuple(split_command(text, objects)))
    return command


def fixed_command(text: str, objects: list[str]) -> Any:
    return lambda info: Command(text, tuple(split_command(text, objects)))


def veto_stats(history: list[dict[str, Any]]) -> dict[str, Any]:
    vetoes = [h for h in history if h["veto"]]
    outside = sum(1 for h in vetoes if h.get("vetoed_outside_initiation"))
    return {"proposals": len(history), "vetoes": len(vetoes), "vetoed_outside_initiation": outside,
            "vetoed_inside_initiation": len(vetoes) - outside,
            "veto_precision": round(outside / len(vetoes), 3) if vetoes else None,
            "vetoed_skills": dict(Counter(h["most_relevant"] for h in vetoes).most_common(8))}


def one_seed(run_path: Path, out: Path, episodes: int, play: int, seed_index: int) -> dict[str, Any]:
    run = RunDir(run_path).require()
    kind = run_kind(run.kind())
    cfg = kind.load_config(run)
    ad = adapter(cfg.env)
    encoder = kind.text_encoder(cfg)
    env = ad.make(goal_task="play")
    ctx = AgentContext(run, cfg, kind, env, seed=cfg.seed, text_encoder=encoder)
    library = SkillLibrary.for_env(cfg.env, timeout=120)
    t0 = time.perf_counter()
    cache = out / run_path.name / f"outcomes_{play}.npz"  # reused by a rerun (numpy arrays only: no pickle)
    # the largest cached collection of at most `play` episodes is extended by the missing ones (episode i: seed base + i)
    have = max([int(p.stem.split("_")[1]) for p in cache.parent.glob("outcomes_*.npz")
                if int(p.stem.split("_")[1]) <= play], default=0) if cache.parent.is_dir() else 0
    data: dict[str, np.ndarray] = {"obs": np.zeros((0, 55), np.float32), "skill": np.zeros(0, np.int64),
                                   "success": np.zeros(0, bool)}
    if have:
        with np.load(cache.parent / f"outcomes_{have}.npz", allow_pickle=False) as z:
            data = {k: z[k] for k in ("obs", "skill", "success")}
    if have < play:
        more = collect_outcomes(env, ctx.policy("low_language"), library, play - have,
                                50_000 + 1000 * seed_index + have, OBS_KEYS)
        data = {k: np.concatenate([data[k], more[k]]) for k in data}
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, obs=data["obs"], skill=data["skill"], success=data["success"])
    collect_s = time.perf_counter() - t0
    env.close()
    n = len(data["success"])
    order = np.random.default_rng(seed_index).permutation(n)
    tr, va = order[: int(0.8 * n)], order[int(0.8 * n):]
    model = AffordanceModel(library.names, OBS_KEYS, data["obs"].shape[1])
    fit = model.fit(data["obs"][tr], data["skill"][tr], data["success"][tr], seed=seed_index)
    model.eval()
    import torch

    with torch.no_grad():
        logits = model(torch.as_tensor(data["obs"][va]), torch.as_tensor(data["skill"][va])).numpy()
    val_acc = float(((logits > 0) == data["success"][va]).mean())
    base_acc = float(max(data["success"][va].mean(), 1 - data["success"][va].mean()))
    model_dir = model.save(out / run_path.name / "affordance")
    objects = block_objects(library)
    result: dict[str, Any] = {
        "run": str(run_path), "outcomes": n, "outcome_success_rate": round(float(data["success"].mean()), 3),
        "collect_seconds": round(collect_s, 1), "train": fit, "val_accuracy": round(val_acc, 3),
        "val_majority_baseline": round(base_acc, 3), "eval": {}}
    settings: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "paraphrased": (paraphrased_command(ad, objects), lambda k: {"chain_length": k}, {}),
        "unseen": (fixed_command(UNSEEN, objects), lambda k: {"goal_task": "all_in_drawer"}, {"goal_task": "all_in_drawer"}),
    }
    for setting, (command_fn, options_fn, env_kwargs) in settings.items():
        result["eval"][setting] = {}
        for name in (f"affordance:{model_dir}", "hier_language"):
            env = ad.make(**env_kwargs)
            agent = load_agent(run, name, env, text_encoder=encoder)
            high = agent.high  # before evaluate_agent's latency probe wraps it
            metrics, _ = evaluate_agent(agent, env, command_fn, episodes, 5, cfg.eval.seed, 0, 4, out, name.split(":")[0],
                                        options_fn)
            row = {k: metrics[k] for k in ("success_rate", "avg_chain_length")}
            if name.startswith("affordance"):
                row["veto"] = veto_stats(high.history)
                row["example_steps"] = high.steps
            result["eval"][setting][name.split(":")[0]] = row
            env.close()
            print(run_path.name, setting, name.split(":")[0], row["success_rate"], row["avg_chain_length"], flush=True)
    return result


def oracle(out: Path, runs: Path, episodes: int) -> None:
    """Add the oracle ablation (relevance x PreconditionAffordance, the env's preconditions as the affordance) to
    OUT/affordance.json, on the same commands and episodes."""
    from hirl.skills.affordance import PreconditionAffordance
    from hirl.skills.recipes import SkillAgent
    from hirl.skills.saycan import AffordanceHighLevel

    path = out / "affordance.json"
    data = json.loads(path.read_text())
    for name, res in data["seeds"].items():
        run = RunDir(runs / name).require()
        kind = run_kind(run.kind())
        cfg = kind.load_config(run)
        ad = adapter(cfg.env)
        encoder = kind.text_encoder(cfg)
        library = SkillLibrary.for_env(cfg.env, timeout=300)
        objects = block_objects(library)
        settings: dict[str, tuple[Any, Any, dict[str, Any]]] = {
            "paraphrased": (paraphrased_command(ad, objects), lambda k: {"chain_length": k}, {}),
            "unseen": (fixed_command(UNSEEN, objects), lambda k: {"goal_task": "all_in_drawer"},
                       {"goal_task": "all_in_drawer"})}
        for setting, (command_fn, options_fn, env_kwargs) in settings.items():
            env = ad.make(**env_kwargs)
            assert ad.can_start is not None and encoder is not None
            high = AffordanceHighLevel(library, PreconditionAffordance(ad.can_start), encoder, admissible=ad.can_start)
            ctx = AgentContext(run, cfg, kind, env, seed=cfg.seed, text_encoder=encoder)
            agent = SkillAgent(high, ctx.policy("low_language"), library.termination(env, 300))
            metrics, _ = evaluate_agent(agent, env, command_fn, episodes, 5, cfg.eval.seed, 0, 4, out, "oracle", options_fn)
            res["eval"][setting]["affordance_oracle"] = {k: metrics[k] for k in ("success_rate", "avg_chain_length")}
            res["eval"][setting]["affordance_oracle"]["veto"] = veto_stats(high.history)
            env.close()
            print(name, setting, "affordance_oracle", metrics["success_rate"], metrics["avg_chain_length"], flush=True)
    data["command_oracle"] = "python " + " ".join(sys.argv)
    atomic_write_json(path, data)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs/bench/tabletop")
    p.add_argument("--out", default="runs/skills/aff")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--episodes", type=int, default=30)
    p.add_argument("--play", type=int, default=120)
    p.add_argument("--oracle", action="store_true",
                   help="only add the precondition-affordance ablation to OUT/affordance.json")
    a = p.parse_args()
    out = Path(a.out)
    if a.oracle:
        oracle(out, Path(a.runs), a.episodes)
        return
    results = {f"seed{s}": one_seed(Path(a.runs) / f"seed{s}", out, a.episodes, a.play, s) for s in a.seeds}
    atomic_write_json(out / "affordance.json", {"episodes": a.episodes, "play_episodes": a.play, "seeds": results,
                                                "command": "python " + " ".join(sys.argv)})
    print(json.dumps({k: v["eval"] for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
