"""The maze's RESULTS-skills page (DIAYN skills vs a random policy vs flat SAC+HER, curriculum studies), gathered from
diayn.py's outputs (beside this file) and rendered from its JSON by hirl.benchmarks.skills_report:

    python experiments/maze/skills_results.py gather --diayn runs/skills/diayn_maze/diayn_maze.json \
        runs/skills/diayn_maze_k16/diayn_maze.json runs/skills/diayn_maze_long/diayn_maze.json
    python experiments/maze/skills_results.py curriculum runs/curriculum/maze/curriculum.json \
        runs/curriculum/maze_far/curriculum.json   # experiments/curriculum_benchmark.py outputs into the page's JSON
    python experiments/maze/skills_results.py render      # re-render the page from its committed JSON
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hirl.benchmarks.skills_report import SkillsPage, invocation, main, mean_std, ms

CURRICULUM_WHAT = (
    "The goal-conditioned RL low level (SAC + HER, stage low, `low.curriculum_schedule`) on the medium maze: "
    "`staged` samples goals within a radius of the start that steps from `curriculum_start` to `curriculum_end` "
    "in 3 stages (1, 2, 3 m in study 1; 1, 3, 5 m in study 2; equal thirds of the first half of the budget), "
    "each stage continuing from the last one's policy; `linear` grows the radius continuously (the default); "
    "`shuffled` samples goals up to the full radius from the first step. Learning curve: goal reaching at the FULL "
    "radius (eval.mode goals, 30 episodes at the same seeds for every run).")


def build_maze(diayn: list[Path]) -> dict[str, Any]:
    """The page's JSON from diayn.py outputs: their commands and rows, and per budget (DIAYN + outcome env steps) the
    coverage and goal reaching of DIAYN + planner (per K), flat SAC+HER and the random policy, mean ± std over seeds."""
    files = [json.loads(f.read_text()) for f in diayn]
    rows = [r for d in files for r in d["rows"]]
    out: dict[str, Any] = {"commands": [d["command"] for d in files], "layout": files[0]["layout"],
                           "start_cell": files[0]["start_cell"], "rows": rows, "summary": {}}
    for budget in sorted({r["diayn_steps"] + r["outcome_steps"] for r in rows}):
        group = [r for r in rows if r["diayn_steps"] + r["outcome_steps"] == budget]
        for k in sorted({r["skills"] for r in group}):
            g = [r for r in group if r["skills"] == k]
            out["summary"][f"DIAYN K={k} + planner, {budget} env steps"] = {
                "budget": budget, "coverage": mean_std([r["coverage"]["diayn"] for r in g]),
                "downstream": mean_std([r["downstream"]["diayn_planner"] for r in g])}
        base = [r for r in group if "sac_her" in r["coverage"]]
        out["summary"][f"flat SAC+HER, {budget} env steps"] = {
            "budget": budget, "coverage": mean_std([r["coverage"]["sac_her"] for r in base]),
            "downstream": mean_std([r["downstream"]["sac_her"] for r in base])}
        by_seed = {r["seed"]: r["coverage"]["random"] for r in group}  # the same rollouts whatever K
        out["summary"][f"random policy (no training; seeds of the {budget}-step runs)"] = {
            "budget": budget, "coverage": mean_std(list(by_seed.values()))}
    return out


def render_maze(r: dict[str, Any]) -> str:
    """The page's Markdown before any curriculum section: commands, summary, per-run table, findings."""
    row0 = r["rows"][0]
    lines = ["# Maze: DIAYN skills vs a random policy vs flat SAC+HER", "",
             "Rendered by `experiments/maze/skills_results.py` from `RESULTS-skills.json` (same directory). Commands:", ""]
    lines += [f"    {c}" for c in r["commands"]]
    lines += ["", f"Layout `{r['layout']}` (26 free cells). DIAYN: SB3 SAC with the discriminator reward "
              "log q(z|xy) - log p(z), "
              f"skills of {row0['horizon']} steps from random start cells, then skill rollouts for the planner's outcome "
              "model; flat SAC+HER: hirl's flat learner (experiments/maze/rl_flat.yaml's settings) with the same total env "
              f"steps. Coverage: fraction of free cells visited by 20 rollouts x 200 steps from cell {tuple(r['start_cell'])} "
              "(DIAYN: a random skill every horizon; SAC+HER: a random goal cell per rollout). Downstream: reach each other "
              "free cell from there (50 episodes, 400 steps) with the skill planner (depth 3) over the discovered skills vs "
              "the SAC+HER policy.", "",
              "| agent | coverage | downstream success |", "|---|---|---|"]
    for name, s in r["summary"].items():
        lines.append(f"| {name} | {ms(s['coverage'])} | {ms(s['downstream']) if 'downstream' in s else '-'} |")
    lines += ["", "Per run:", "", "| seed | skills | DIAYN steps | outcome steps | coverage DIAYN | random | SAC+HER | "
              "downstream planner | SAC+HER | discriminator accuracy (last; chance 1/K) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["rows"]:
        c, dn = row["coverage"], row["downstream"]
        acc = row["discriminator_accuracy_last"]
        her_c = f"{c['sac_her']:.3f}" if "sac_her" in c else "-"
        her_d = f"{dn['sac_her']:.2f}" if "sac_her" in dn else "-"
        lines.append(f"| {row['seed']} | {row['skills']} | {row['diayn_steps']} | {row['outcome_steps']} | "
                     f"{c['diayn']:.3f} | {c['random']:.3f} | {her_c} | {dn['diayn_planner']:.2f} | {her_d} | "
                     f"{acc if acc is None else round(acc, 3)} |")
    lines += ["", "## Findings", ""]
    diayn = {k: v for k, v in r["summary"].items() if k.startswith("DIAYN")}
    her = {k: v for k, v in r["summary"].items() if k.startswith("flat SAC+HER")}
    rnd = {k: v for k, v in r["summary"].items() if k.startswith("random")}
    for dk, dv in diayn.items():
        hk, hv = next((k, v) for k, v in her.items() if v["budget"] == dv["budget"])
        rv = next(v for v in rnd.values() if v["budget"] == dv["budget"])
        better = dv["coverage"]["mean"] > max(rv["coverage"]["mean"], hv["coverage"]["mean"])
        lines.append(f"- {dk}: coverage {dv['coverage']['mean']:.2f} vs random {rv['coverage']['mean']:.2f} and "
                     f"{hk} {hv['coverage']['mean']:.2f} ({'above both' if better else 'not above both'}); goal reaching "
                     f"{dv['downstream']['mean']:.2f} vs {hv['downstream']['mean']:.2f} for SAC+HER.")
    lines.append("- At these budgets (DIAYN papers train for millions of steps) the discriminator tells the skills apart "
                 "only partly (accuracy in the per-run table, chance 1/K), the skills move a fraction of a cell to a few "
                 "cells and often into the walls around the start cell, so the planner's chains of them rarely reach a "
                 "goal; the claim that discovered skills + a high level beat flat SAC+HER at equal steps is not "
                 "shown here.")
    return "\n".join(lines) + "\n"


def gather(a: argparse.Namespace) -> dict[str, Any]:
    """The page's JSON from the diayn.py outputs named on the command line (this command recorded last)."""
    data = build_maze(a.diayn)
    data["commands"].append(invocation())
    return data


def add_gather_arguments(p: argparse.ArgumentParser) -> None:
    """`gather`'s inputs: diayn.py output files."""
    p.add_argument("--diayn", type=Path, nargs="+", required=True, help="OUT/diayn_maze.json files of diayn.py runs")


PAGE = SkillsPage(Path(__file__).resolve().parent / "RESULTS-skills", render_maze, CURRICULUM_WHAT)

if __name__ == "__main__":
    main(PAGE, add_gather_arguments, gather, __doc__.splitlines()[0])
