"""What rollout evaluation during training costs (docs/imitation.md "Tracking"), in one run:

1. one rollout evaluation: 5 Tabletop chains of 5 by the scripted expert (full-length, successful episodes), without
   and with one filmed episode (96 px, every 4th control step, annotated) and its GIF;
2. a tiny imitation run (20 demonstrations, hier_language: low level 200 steps, high level 100, hash text encoder)
   trained three times: rollouts off (none: the run is shorter than the default rollout_every) / 5 episodes every
   100 steps / the same with 1 video.

    python experiments/tracking_cost.py --out runs/tracking_cost          # writes OUT/tracking_cost.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def one_evaluation() -> dict[str, Any]:
    from hirl.hierarchy import HierarchicalAgent
    from hirl.hierarchy.replan import ReplanConfig, build_replan_rule
    from hirl.integrations import adapter
    from hirl.tracking import gif_bytes, rollouts

    ad, out = adapter("hirl/Tabletop-v0"), {}
    for videos in (0, 1):
        env = ad.make(render=videos > 0, width=96, height=96)
        rule = build_replan_rule(ReplanConfig(detector="chain_progress", timeout=300), ad.detector_extra(env))
        agent = HierarchicalAgent(*ad.expert(env, 0.0, 0), rule)
        t0 = time.perf_counter()
        r = rollouts(env, agent, ad.command, episodes=5, seed=100_000, options=ad.reset_options(5), videos=videos)
        t1 = time.perf_counter()
        gif = sum(len(gif_bytes(c, r.fps)) for c in r.videos)
        out[f"videos_{videos}"] = {"rollout_seconds": round(t1 - t0, 2), "gif_seconds": round(time.perf_counter() - t1, 2),
                                   "gif_bytes": gif, "frames": [len(c) for c in r.videos],
                                   "control_steps": sum(e.steps for e in r.episodes),
                                   "success_rate": r.metrics["success_rate"]}
        env.close()
    return out


def training(out: Path) -> dict[str, Any]:
    from hirl.data.collect import collect
    from hirl.data.collect_config import CollectConfig
    from hirl.learn.run import train_run
    from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig, TrainingBudgets
    from hirl.learn.trainer import TrainerConfig
    from hirl.runs import RunDir
    from hirl.tracking import TrackingConfig

    data = out / "data"
    if not (data / "data").exists():
        collect(CollectConfig(env="hirl/Tabletop-v0", episodes=20, workers=1, seed=3), data, progress=False)
    base = TrainerConfig(max_steps=200, batch_size=64, eval_every=100, checkpoint_every=100, progress=False)
    res = {}
    for name, low in [("off", base), ("every_100_5_episodes", replace(base, rollout_every=100)),
                      ("every_100_5_episodes_1_video", replace(base, rollout_every=100, tracking=TrackingConfig(videos=1)))]:
        cfg = RunConfig(dataset=str(data), collect=CollectSpec(episodes=20, seed=3), agents=["hier_language"],
                        text_encoder="hash", train=TrainingBudgets(low=low, high=replace(low, max_steps=100)), eval=EvalSpec())
        run = out / name
        t0 = time.perf_counter()
        summary = train_run(cfg, RunDir(run), progress=False)
        res[name] = {"seconds": round(time.perf_counter() - t0, 1),
                     "components": {c: v["seconds"] for c, v in summary["components"].items()}}
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="working folder (dataset, runs) and tracking_cost.json")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    res = {"command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.node(),
           "cpus": os.cpu_count(), "load_average_start": [round(x, 2) for x in load],
           "one_evaluation": one_evaluation(), "training": training(args.out)}
    res["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    (args.out / "tracking_cost.json").write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
