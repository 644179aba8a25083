"""What each part of the generated-state-subgoal high levels bought, on one seed: RESULTS-subgoals-ablation.{json,md}.

Every row is one agent of one evaluation report (100 chains, the same demonstrations, the same evaluation chains, so
rows are paired): the benchmark runs of experiments/tabletop/RESULTS-subgoals.md with successive versions of the code
(named in each row), kept under
--runs. `collect` reads the reports into the JSON; `render` writes the Markdown from the JSON only.

    python experiments/tabletop/subgoal_ablation.py collect --runs runs/bench
    python experiments/tabletop/subgoal_ablation.py render
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hirl.fileio import atomic_write_json, atomic_write_text

HERE = Path(__file__).resolve().parent
JSON, MD = HERE / "RESULTS-subgoals-ablation.json", HERE / "RESULTS-subgoals-ablation.md"
BEFORE_RESIDUAL = " (code before the residual option)"  # which version of the code made a row
BEFORE_PROGRESS = " (code before the progress option)"
BENCH = ("python experiments/benchmark.py experiments/tabletop/hierarchical.yaml --seeds 0 --replan-agent none "
         "'agents=[hier_state,hier_image,hier_state_ahead,hier_state_snap,hier_state_ahead_snap]'")
LOWRES = ("hirl train runs/bench/tabletop-subgoals/seed0/config.yaml --out runs/bench/tabletop-lowres-s0 "
          "'agents=[hier_state]' networks.low_state.goal_residual=true && hirl eval runs/bench/tabletop-lowres-s0 "
          "--agents oracle_state hier_state --episodes 100 --out runs/bench/tabletop-lowres-s0/eval eval.videos=0")
LOWRES_NOISE = ("as the goal_residual row with --out runs/bench/tabletop-lowres-noise{n}-s0 and "
                "networks.low_state.goal_noise={n} (high_state copied from runs/bench/tabletop-lowres-s0)")
LOWRES_NOISE_V3 = ("hirl train runs/bench/tabletop-subgoals/seed{s}/config.yaml "
                   "--out runs/bench/tabletop-lowres-noise{n}-s{s} "
                   "'agents=[hier_state]' networks.low_state.goal_residual=true networks.low_state.goal_noise={n} "
                   "(high_state copied from runs/bench/tabletop-subgoals-v3/seed{s}) && hirl eval "
                   "runs/bench/tabletop-lowres-noise{n}-s{s} --agents hier_state oracle_state --episodes 100 --out "
                   "runs/bench/tabletop-lowres-noise{n}-s{s}/eval eval.videos=0")
AHEAD_LOWRES = ("hirl train runs/bench/tabletop-subgoals/seed0/config.yaml --out runs/bench/tabletop-ahead-lowres-s0 "
                "'agents=[hier_state_ahead]' 'networks={}' networks.low_state_ahead.goal_residual=true "
                "networks.low_state_ahead.goal_noise=0.3 (high_state_ahead copied from runs/bench/tabletop-subgoals-v3/seed0) "
                "&& hirl eval runs/bench/tabletop-ahead-lowres-s0 --agents hier_state_ahead oracle_state_ahead "
                "--episodes 100 --out runs/bench/tabletop-ahead-lowres-s0/eval eval.videos=0")
IMGSTATE = ("hirl train runs/bench/tabletop-subgoals-v3/seed0/config.yaml --out runs/bench/{out} "
            "'agents=[hier_image_state]' 'networks={{low_state: {{goal_residual: true, goal_noise: 0.3}}{extra}}}' "
            "(low_state and high_image copied from runs/bench/tabletop-subgoals-v3/seed0) && hirl eval runs/bench/{out} "
            "--agents hier_image_state oracle_image_state --episodes 100 --out runs/bench/{out}/eval eval.videos=0")
READER = ("hirl train experiments/tabletop/hierarchical.yaml --out runs/bench/{out} dataset={data} "
          "collect.image_size={px} 'agents=[hier_image_state]' networks.low_state.goal_residual=true "
          "networks.low_state.goal_noise=0.3 {extra} ({copied} copied from runs/bench/tabletop-imgstate-res-s0) && "
          "hirl eval runs/bench/{out} --agents {agents} --episodes 100")
DATA32 = "runs/bench/tabletop-subgoals-v3/data/seed0"
DATA64 = "runs/bench/tabletop-img64/data/seed0"  # the same 600 chains with 64x64 frames: see IMG64_DATA
IMG64_DATA = ("hirl collect --env hirl/Tabletop-v0 --episodes 600 --seed 0 --workers 1 --image-every 5 --image-size 64 "
              "--noise 0.05 --chain-length 5 --out runs/bench/tabletop-img64/data/seed0")
KP_SHIFT = "networks.frame_state.keypoints=32 networks.frame_state.shift={s}"
RES = "networks.frame_state.residual=true"
ORACLE64 = ("train.image.max_steps=1 train.image.eval_every=1 train.image.checkpoint_every=1 (the generator is not "
            "used by oracle_image_state)")


def reader(out: str, px: int, extra: str, agents: str = "oracle_image_state") -> str:
    """How a frame_state variant's row was made (the 64x64 rows first need IMG64_DATA's collection)."""
    data = DATA64 if px == 64 else DATA32
    copied = "low_state" if px == 64 else "low_state and high_image"
    how = READER.format(out=out, data=data, px=px, extra=extra, copied=copied, agents=agents)
    return how + (f"; data: {IMG64_DATA}" if px == 64 else "")


# (group, agent, what changed, report under --runs, how it was made)
ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    ("low level alone", "oracle_state", "expert's goal at its subtask's end -> low_state",
     "tabletop-subgoals/seed0/report-v1-absolute.json", f"{BENCH} --out runs/bench/tabletop-subgoals" + BEFORE_RESIDUAL),
    ("low level alone", "oracle_state_ahead", "expert's goal 10 steps ahead -> low_state_ahead",
     "tabletop-subgoals/seed0/report-v1-absolute.json", f"{BENCH} --out runs/bench/tabletop-subgoals" + BEFORE_RESIDUAL),
    ("low level alone", "oracle_image", "expert's camera frame at its subtask's end -> low_image (32x32)",
     "tabletop-subgoals/seed0/report-v1-absolute.json", f"{BENCH} --out runs/bench/tabletop-subgoals" + BEFORE_RESIDUAL),
    ("low level alone", "oracle_state", "low_state reading [goal, goal - achieved goal now] (goal_residual)",
     "tabletop-lowres-s0/eval/report.json", LOWRES),
    ("low level alone", "oracle_state", "+ goal noise 0.1 std in training (goal_noise)",
     "tabletop-lowres-noise0.1-s0/eval/report.json", LOWRES_NOISE.format(n=0.1)),
    ("low level alone", "oracle_state", "+ goal noise 0.3 std in training (goal_noise)",
     "tabletop-lowres-noise0.3-s0/eval/report.json", LOWRES_NOISE.format(n=0.3)),
    ("low level alone", "oracle_state", "goal noise 0.2 std instead of 0.3",
     "tabletop-lowres-noise0.2-s0/eval/report.json", LOWRES_NOISE_V3.format(n=0.2, s=0)),
    ("image goal read as state", "oracle_image_state", "expert's frame -> frame_state (32x32 CNN) -> low_state",
     "tabletop-imgstate-s0/eval/report.json", IMGSTATE.format(out="tabletop-imgstate-s0", extra="")),
    ("image goal read as state", "oracle_image_state", "frame_state read against the achieved goal now (residual)",
     "tabletop-imgstate-res-s0/eval/report.json",
     IMGSTATE.format(out="tabletop-imgstate-res-s0", extra=", frame_state: {residual: true}")),
    ("image goal read as state", "hier_image_state", "high_image's frame -> frame_state -> low_state",
     "tabletop-imgstate-s0/eval/report.json", IMGSTATE.format(out="tabletop-imgstate-s0", extra="")),
    ("image goal read as state", "hier_image_state", "frame_state read against the achieved goal now (residual)",
     "tabletop-imgstate-res-s0/eval/report.json",
     IMGSTATE.format(out="tabletop-imgstate-res-s0", extra=", frame_state: {residual: true}")),
    ("image goal read as state", "oracle_image_state", "residual reader trained on frames shifted by up to 2 px",
     "reader32-shift2-s0/eval/report.json", reader("reader32-shift2-s0", 32, f"{RES} networks.frame_state.shift=2",
                                                   "hier_image_state oracle_image_state")),
    ("image goal read as state", "oracle_image_state", "+ a spatial softmax of 32 keypoints",
     "reader32-kp32shift2-s0/eval/report.json", reader("reader32-kp32shift2-s0", 32, f"{RES} {KP_SHIFT.format(s=2)}",
                                                       "hier_image_state oracle_image_state")),
    ("image goal read as state", "oracle_image_state", "64x64 frames, residual, 32 keypoints, shift 4 px, 6k steps",
     "img64o-kp32shift4-s0/eval/report.json",
     reader("img64-kp32shift4-s0", 64, f"{RES} {KP_SHIFT.format(s=4)}") + " (evaluated from a copy with its "
     "low_state and frame_state: runs/bench/img64o-kp32shift4-s0)"),
    ("image goal read as state", "oracle_image_state", "64x64, absolute (not residual), keypoints, shift, 10k steps",
     "img64o-abs-kp32shift4-10k-s0/eval/report.json",
     reader("img64o-abs-kp32shift4-10k-s0", 64, f"{KP_SHIFT.format(s=4)} train.low_image.max_steps=10000 {ORACLE64}")),
    ("image goal read as state", "oracle_image_state", "64x64, residual, keypoints, shift, 10k steps",
     "img64o-res-kp32shift4-10k-s0/eval/report.json",
     reader("img64o-res-kp32shift4-10k-s0", 64, f"{RES} {KP_SHIFT.format(s=4)} train.low_image.max_steps=10000 "
            f"{ORACLE64}")),
    ("image goal read as state", "oracle_image_state", "64x64, residual, keypoints, shift, 20k steps",
     "img64o-res-kp32shift4-20k-s0/eval/report.json",
     reader("img64o-res-kp32shift4-20k-s0", 64, f"{RES} {KP_SHIFT.format(s=4)} train.low_image.max_steps=20000 "
            f"{ORACLE64}")),
    ("image goal read as state, seed 1", "oracle_image_state", "64x64, residual, keypoints, shift, 20k steps",
     "img64o-res-kp32shift4-20k-s1/eval/report.json",
     reader("img64o-res-kp32shift4-20k-s1", 64, f"seed=1 collect.seed=1000 {RES} {KP_SHIFT.format(s=4)} "
            f"train.low_image.max_steps=20000 {ORACLE64}").replace("seed0", "seed1").replace(
                "tabletop-imgstate-res-s0", "tabletop-subgoals-v3/seed1").replace("--seed 0 ", "--seed 1000 ")),
    ("image goal read as state", "hier_image_state", "residual reader trained on frames shifted by up to 2 px",
     "reader32-shift2-s0/eval/report.json", reader("reader32-shift2-s0", 32, f"{RES} networks.frame_state.shift=2",
                                                   "hier_image_state oracle_image_state")),
    ("image goal read as state", "hier_image_state", "+ a spatial softmax of 32 keypoints",
     "reader32-kp32shift2-s0/eval/report.json", reader("reader32-kp32shift2-s0", 32, f"{RES} {KP_SHIFT.format(s=2)}",
                                                       "hier_image_state oracle_image_state")),
    ("image goal read as state", "hier_image_state", "64x64: high_image at 64x64, the 64x64 residual keypoint reader",
     "img64-kp32shift4-s0/eval-best-reader/report.json",
     reader("img64-kp32shift4-s0", 64, f"{RES} {KP_SHIFT.format(s=4)}", "hier_image_state oracle_image_state")
     + " --out runs/bench/img64-kp32shift4-s0/eval-best-reader, its frame_state replaced by the best 64x64 reader's "
     "(runs/bench/img64o-res-kp32shift4-20k-s0)"),
    ("segment-end goal", "hier_state", "regression of the goal (as committed)",
     "tabletop-subgoals/seed0/report-v1-absolute.json", f"{BENCH} --out runs/bench/tabletop-subgoals" + BEFORE_RESIDUAL),
    ("segment-end goal", "hier_state", "+ residual (goal - achieved goal now)",
     "tabletop-subgoals-res/seed0/report-v1-residual.json",
     "same, 'agents=[hier_state,hier_state_snap]' networks.high_state.residual=true --out "
     "runs/bench/tabletop-subgoals-res (code before the progress option)"),
    ("segment-end goal", "hier_state", "+ residual + progress (the command's current subtask)",
     "tabletop-subgoals-res/seed0/report.json",
     "same, + networks.high_state.progress=true"),
    ("segment-end goal", "hier_state", "residual + progress high level, goal_residual low level",
     "tabletop-lowres-s0/eval/report.json", LOWRES),
    ("segment-end goal", "hier_state", "+ goal noise 0.1 std in the low level's training",
     "tabletop-lowres-noise0.1-s0/eval/report.json", LOWRES_NOISE.format(n=0.1)),
    ("segment-end goal", "hier_state", "+ goal noise 0.3 std in the low level's training",
     "tabletop-lowres-noise0.3-s0/eval/report.json", LOWRES_NOISE.format(n=0.3)),
    ("segment-end goal", "hier_state", "goal noise 0.2 std instead of 0.3",
     "tabletop-lowres-noise0.2-s0/eval/report.json", LOWRES_NOISE_V3.format(n=0.2, s=0)),
    ("segment-end goal, seed 1", "hier_state", "goal noise 0.3 std (RESULTS-subgoals.md's seed 1)",
     "tabletop-subgoals-v3/seed1/report.json", "experiments/tabletop/RESULTS-subgoals.md's run, seed 1"),
    ("segment-end goal, seed 1", "hier_state", "goal noise 0.2 std instead of 0.3",
     "tabletop-lowres-noise0.2-s1/eval/report.json", LOWRES_NOISE_V3.format(n=0.2, s=1)),
    ("segment-end goal, seed 1", "oracle_state", "goal noise 0.3 std (RESULTS-subgoals.md's seed 1)",
     "tabletop-subgoals-v3/seed1/report.json", "experiments/tabletop/RESULTS-subgoals.md's run, seed 1"),
    ("segment-end goal, seed 1", "oracle_state", "goal noise 0.2 std instead of 0.3",
     "tabletop-lowres-noise0.2-s1/eval/report.json", LOWRES_NOISE_V3.format(n=0.2, s=1)),
    ("segment-end goal", "hier_state_snap", "regression snapped to dataset futures (absolute)",
     "tabletop-subgoals/seed0/report-v1-absolute.json", f"{BENCH} --out runs/bench/tabletop-subgoals" + BEFORE_RESIDUAL),
    ("segment-end goal", "hier_state_snap", "residual + progress, snapped to residual dataset futures",
     "tabletop-subgoals-res/seed0/report.json", "as the residual + progress row"),
    ("10 steps ahead", "hier_state_ahead", "regression of the goal 10 steps ahead (absolute)",
     "tabletop-subgoals/seed0/report-v1-absolute.json", f"{BENCH} --out runs/bench/tabletop-subgoals" + BEFORE_RESIDUAL),
    ("10 steps ahead", "hier_state_ahead", "+ residual",
     "tabletop-subgoals/seed0/report-v2-residual.json", f"{BENCH} --out runs/bench/tabletop-subgoals" + BEFORE_PROGRESS),
    ("10 steps ahead", "hier_state_ahead", "+ residual, asked every step (subgoals.replan_every=1)",
     "tabletop-subgoals/seed0/eval-every1/report.json",
     "hirl eval runs/bench/tabletop-subgoals/seed0 --agents hier_state_ahead hier_state_ahead_snap --episodes 100 "
     "--out runs/bench/tabletop-subgoals/seed0/eval-every1 eval.videos=0 subgoals.replan_every=1" + BEFORE_PROGRESS),
    ("10 steps ahead", "hier_state_ahead", "+ residual + progress",
     "tabletop-subgoals/seed0/report.json", "experiments/tabletop/RESULTS-subgoals.md's run, seed 0"),
    ("10 steps ahead", "hier_state_ahead", "residual + progress; low_state_ahead with goal_residual + goal_noise 0.3",
     "tabletop-ahead-lowres-s0/eval/report.json", AHEAD_LOWRES),
    ("10 steps ahead", "oracle_state_ahead", "low_state_ahead with goal_residual + goal_noise 0.3",
     "tabletop-ahead-lowres-s0/eval/report.json", AHEAD_LOWRES),
    ("10 steps ahead", "hier_state_ahead_snap", "residual + progress, snapped to residual dataset futures",
     "tabletop-subgoals/seed0/eval-snap/report.json",
     "hirl eval runs/bench/tabletop-subgoals/seed0 --agents hier_state_ahead_snap --episodes 100 "
     "--out runs/bench/tabletop-subgoals/seed0/eval-snap eval.videos=0"),
)


def collect(runs: Path) -> dict[str, Any]:
    rows = []
    for group, agent, change, report, how in ROWS:
        path = runs / report
        if not path.is_file():
            print(f"{path}: not there, row skipped ({agent}: {change})", file=sys.stderr)
            continue
        m = json.loads(path.read_text())["policies"][agent]
        rows.append({"group": group, "agent": agent, "change": change, "how": how,
                     "avg_chain_length": round(m["avg_chain_length"], 2), "success_rate": round(m["success_rate"], 2),
                     "subgoal_reach_rate": m.get("subgoal_reach_rate"),
                     "state_subgoal_reach_rate": m.get("state_subgoal_reach_rate"),
                     "high_level_queries_per_episode": round(m["high_level_queries_per_episode"], 1),
                     "episodes": m["episodes"]})
    return {"seed": 0, "command": "python experiments/tabletop/subgoal_ablation.py collect --runs runs/bench", "rows": rows}


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def render(res: dict[str, Any]) -> str:
    lines = ["# Generated state subgoals on Tabletop: what each part bought (seed 0; the groups marked seed 1: seed 1)", "",
             f"Generated by `python experiments/tabletop/subgoal_ablation.py render` from `{JSON.name}` (collected by "
             f"`{res['command']}`). Seed 0 (and, where a group says so, seed 1), 100 evaluation chains per row, "
             "the same 600 demonstrations and the same chains in every row of a seed (paired). "
             "3-seed numbers of the final agents: `RESULTS-subgoals.md`.", "",
             "| what | agent | change | avg chain | success | subgoal reach | state subgoal reach | HL queries/ep |",
             "|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        lines.append(f"| {r['group']} | {r['agent']} | {r['change']} | {r['avg_chain_length']:.2f} | "
                     f"{r['success_rate']:.2f} | {_f(r['subgoal_reach_rate'])} | {_f(r['state_subgoal_reach_rate'])} | "
                     f"{r['high_level_queries_per_episode']:.1f} |")
    lines += ["", "How each row was made (the benchmark command, its `--out` and the commit):", ""]
    lines += [f"- {r['group']}, `{r['agent']}`, {r['change']}: `{r['how']}`" for r in res["rows"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("collect", "render"))
    p.add_argument("--runs", type=Path, default=Path("runs/bench"), help="folder holding the benchmark runs")
    args = p.parse_args(argv)
    if args.mode == "collect":
        atomic_write_json(JSON, collect(args.runs))
    atomic_write_text(MD, render(json.loads(JSON.read_text())))
    print(MD.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
