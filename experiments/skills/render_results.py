"""RESULTS-skills pages: gather the raw outputs of the skills experiments into one results JSON per env and render the
Markdown page FROM that JSON (the page never holds a number the JSON does not).

    python experiments/skills/render_results.py tabletop --code-root runs/skills/code \
        --affordance runs/skills/aff/affordance_play50.json runs/skills/aff/affordance.json \
        --diayn runs/skills/diayn_tt/diayn_tabletop.json \
        --diayn-downstream runs/skills/diayn_tt_down/diayn_tabletop_downstream.json
    python experiments/skills/render_results.py maze --diayn runs/skills/diayn_maze/diayn_maze.json \
        runs/skills/diayn_maze_k16/diayn_maze.json runs/skills/diayn_maze_long/diayn_maze.json
    python experiments/skills/render_results.py curriculum tabletop runs/curriculum/tt/curriculum.json \
        runs/curriculum/tt24k/curriculum.json   # experiments/curriculum_benchmark.py outputs into a page's JSON
    python experiments/skills/render_results.py render      # re-render both pages from their committed JSON
"""
from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
from pathlib import Path
from typing import Any

EXPERIMENTS = Path(__file__).resolve().parents[1]
PAGES = {"tabletop": EXPERIMENTS / "tabletop" / "RESULTS-skills", "maze": EXPERIMENTS / "maze" / "RESULTS-skills"}
TASKS = {"tower": ("examples/skills/tower.py", "stack all three blocks"),
         "all_in_drawer": ("examples/skills/all_in_drawer.py", "put every block in the drawer and close it")}


def mean_std(xs: list[float]) -> dict[str, float]:
    return {"mean": round(statistics.fmean(xs), 3), "std": round(statistics.pstdev(xs), 3) if len(xs) > 1 else 0.0,
            "n": len(xs)}


def ms(d: dict[str, float]) -> str:
    return f"{d['mean']:.2f} ± {d['std']:.2f} (n={d['n']})"


# ---------------------------------------------------------------------------------------------------- tabletop
def build_tabletop(code_root: Path, affordance: list[Path] | None, diayn: Path | None,
                   diayn_downstream: Path | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code_policies": {}, "commands": {
        "code_policies": "bash experiments/skills/code_policies.sh runs/bench/tabletop runs/skills/code 50",
        "failures": "python experiments/skills/code_failures.py --runs runs/bench/tabletop --out-root runs/skills/code"}}
    failures = json.loads((code_root / "failures.json").read_text())
    seeds = sorted(p.name for p in code_root.iterdir() if p.name.startswith("seed"))
    for task, (path, text) in TASKS.items():
        learned, expert, per_seed = [], [], {}
        agg_fail: dict[str, Any] = {"failed": 0, "failed_where_expert_low_succeeded": 0, "refused_proposals": 0,
                                    "skill_timeouts": {}}
        for s in seeds:
            rep = json.loads((code_root / s / task / "report.json").read_text())["policies"]
            a, b = rep[f"code:{path}"]["success_rate"], rep[f"code_expert:{path}"]["success_rate"]
            learned.append(a)
            expert.append(b)
            per_seed[s] = {"learned_low": a, "expert_low": b, "episodes": len(rep[f"code:{path}"]["episodes_detail"]),
                           "training_chains_containing_task": failures["training_chains"][s][task]}
            f = failures["failures"][f"{s}/{task}"]
            for k in ("failed", "failed_where_expert_low_succeeded", "refused_proposals"):
                agg_fail[k] += f[k]
            for skill, n in f["skill_timeouts"].items():
                agg_fail["skill_timeouts"][skill] = agg_fail["skill_timeouts"].get(skill, 0) + n
        m_l, m_e = mean_std(learned), mean_std(expert)
        ratio = round(m_l["mean"] / m_e["mean"], 3) if m_e["mean"] else None
        share = round(agg_fail["failed_where_expert_low_succeeded"] / agg_fail["failed"], 3) if agg_fail["failed"] else None
        out["code_policies"][task] = {"file": path, "command": text, "per_seed": per_seed, "learned_low": m_l,
                                      "expert_low": m_e, "ratio": ratio, "goal_ratio": 0.8,
                                      "goal_met": ratio is not None and ratio >= 0.8, "failures": agg_fail,
                                      "low_level_share_of_failures": share}
    if affordance:
        rows: dict[str, Any] = {"agents": [], "paraphrased": {}, "unseen": {}, "model": {}}
        for i, aff_path in enumerate(affordance):
            aff = json.loads(aff_path.read_text())
            play = aff["play_episodes"]
            out["commands"][f"affordance_play{play}"] = aff["command"]
            if "command_oracle" in aff:
                out["commands"]["affordance_oracle"] = aff["command_oracle"]
            first = aff["seeds"][sorted(aff["seeds"])[0]]["eval"]
            present = [a for a in ("affordance", "affordance_oracle", "hier_language") if a in first["unseen"]]
            if i:  # a further file: only its learned-affordance agent, named by its play episodes
                present = ["affordance"]
            names = {a: (f"affordance ({play} play episodes)" if a == "affordance" else a) for a in present}
            rows["agents"] += [names[a] for a in present]
            for setting in ("paraphrased", "unseen"):
                for agent in present:
                    per = [aff["seeds"][s]["eval"][setting][agent] for s in sorted(aff["seeds"])]
                    row: dict[str, Any] = {"success_rate": mean_std([r["success_rate"] for r in per]),
                                           "avg_chain_length": mean_std([r["avg_chain_length"] for r in per])}
                    if agent.startswith("affordance"):
                        vetoes = [r["veto"] for r in per]
                        v = {k: sum(x[k] for x in vetoes) for k in
                             ("proposals", "vetoes", "vetoed_outside_initiation", "vetoed_inside_initiation")}
                        v["veto_precision"] = round(v["vetoed_outside_initiation"] / v["vetoes"], 3) if v["vetoes"] else None
                        row["veto"] = v
                    rows[setting][names[agent]] = row
            rows["model"].update({f"{s} ({play} play episodes)": {k: aff["seeds"][s][k] for k in (
                "outcomes", "outcome_success_rate", "val_accuracy", "val_majority_baseline")} for s in sorted(aff["seeds"])})
            if not i:
                rows["episodes_per_seed"] = aff["episodes"]
                rows["example_steps"] = first["unseen"]["affordance"]["example_steps"]
        out["affordance"] = rows
    if diayn is not None:
        d = json.loads(diayn.read_text())
        out["commands"]["diayn_gripper"] = d["command"]
        out["diayn_gripper"] = {"rows": d["rows"], "voxel_m": d["voxel_m"],
                                "voxels_diayn": mean_std([r["voxels_diayn"] for r in d["rows"]]),
                                "voxels_random": mean_std([r["voxels_random"] for r in d["rows"]])}
    if diayn_downstream is not None:
        out["commands"]["diayn_gripper_downstream"], out["diayn_gripper_downstream"] = build_downstream(diayn_downstream)
    return out


def agent_name(key: str, agent: dict[str, Any]) -> str:
    """The page's name of a downstream agent (planner variants by the steps each chosen skill runs)."""
    if key.startswith("planner"):
        return f"DIAYN skills + planner, a skill choice every {agent['commit']} steps"
    return {"sac_her": "flat SAC+HER", "p_controller": "proportional controller (reference, no learning)"}[key]


def build_downstream(path: Path) -> tuple[str, dict[str, Any]]:
    """(command, section) of diayn_tabletop.py --downstream's output: per-seed rows without the per-episode detail,
    and each agent's success / final distance over seeds."""
    d = json.loads(path.read_text())
    keep = ("seed", "skills", "horizon", "diayn_steps", "outcome_steps", "heldout_steps", "depth", "goals",
            "tolerance_m", "episode_steps", "sac_her_steps", "sac_her_stage_eval_success", "seconds")
    metrics = ("success_rate", "mean_final_distance", "mean_min_distance")
    extra = ("commit", "outcome_segments", "outcome_model_heldout", "seconds")
    rows = [{**{k: r[k] for k in keep}, "agents": {a: {m: v[m] for m in (*metrics, *extra) if m in v}
                                                   for a, v in r["agents"].items()}} for r in d["rows"]]
    summary = {a: {"name": agent_name(a, v), "success_rate": mean_std([r["agents"][a]["success_rate"] for r in rows]),
                   "mean_final_distance": mean_std([r["agents"][a]["mean_final_distance"] for r in rows])}
               for a, v in rows[0]["agents"].items()}
    return d["command"], {"rows": rows, "summary": summary}


def tabletop_findings(r: dict[str, Any]) -> list[str]:
    """What the tables say, written from their numbers (so the text cannot disagree with them)."""
    out = []
    for task, c in r["code_policies"].items():
        top = max(c["failures"]["skill_timeouts"].items(), key=lambda kv: kv[1], default=("-", 0))
        out.append(f"{task}: the code policy reaches {c['learned_low']['mean']:.2f} over the learned low level and "
                   f"{c['expert_low']['mean']:.2f} over the expert's (ratio {c['ratio']}, goal 0.8: "
                   f"{'met' if c['goal_met'] else 'missed'}); {c['low_level_share_of_failures']} of its failures are the "
                   f"low level's, and the skill that runs out of time most often is \"{top[0]}\" ({top[1]} times); "
                   f"{c['failures']['refused_proposals']} proposals were refused." + (
                       " The policy stacks green on blue, then red on green: the second stack goes onto a two-block "
                       "stack, a state no demonstration contains (the chain sampler stacks only onto table blocks)."
                       if task == "tower" else ""))
    if "affordance" in r:
        a = r["affordance"]
        learned = next(x for x in a["agents"] if x.startswith("affordance ("))
        for setting in ("paraphrased", "unseen"):
            row, hl = a[setting][learned], a[setting]["hier_language"]
            text = (f"{setting}: learned affordance {row['success_rate']['mean']:.2f} vs the learned high level "
                    f"{hl['success_rate']['mean']:.2f}")
            if "affordance_oracle" in a[setting]:
                oracle = a[setting]["affordance_oracle"]["success_rate"]["mean"]
                text += f"; with the env's preconditions as the affordance {oracle:.2f}"
            v = row["veto"]
            text += (f". The learned affordance vetoed {v['vetoes']} of {v['proposals']} proposals, "
                     f"{v['vetoed_outside_initiation']} of them rightly (precision {v['veto_precision']}).")
            out.append(text)
        n = [m["outcomes"] for m in a["model"].values()]
        acc = [m["val_accuracy"] for m in a["model"].values()]
        variants = ", ".join(f"{x}: {a['unseen'][x]['success_rate']['mean']:.2f}" for x in a["agents"]
                             if x.startswith("affordance ("))
        out.append(f"The gap to the oracle is the learned affordance: fitted on {min(n)}-{max(n)} skill outcomes per seed "
                   f"(held-out accuracy {min(acc)}-{max(acc)}) it does not learn that placing needs an open drawer from "
                   "the start state, so on the unseen command it tries the places first and they time out (unseen "
                   f"success, {variants}); the command parsing and relevance are the same as the oracle's.")
    if "diayn_gripper_downstream" in r:
        d = r["diayn_gripper_downstream"]
        summ, r0 = d["summary"], d["rows"][0]
        h = summ["sac_her"]["success_rate"]["mean"]
        for key, v in summ.items():
            if not key.startswith("planner"):
                continue
            p = v["success_rate"]["mean"]
            held = [x["agents"][key]["outcome_model_heldout"] for x in d["rows"]]
            wins = sum(x["agents"][key]["success_rate"] > x["agents"]["sac_her"]["success_rate"] for x in d["rows"])
            closest = [x["agents"][key]["mean_min_distance"] for x in d["rows"]]
            out.append(f"Gripper goals, {v['name']}: success {p:.2f} vs {h:.2f} for flat SAC+HER at the same "
                       f"{r0['sac_her_steps']} env steps (higher on {wins} of {len(d['rows'])} seeds; final distance "
                       f"{v['mean_final_distance']['mean']:.3f} vs {summ['sac_her']['mean_final_distance']['mean']:.3f} m, "
                       f"closest approach {min(closest):.3f}-{max(closest):.3f} m: the gripper passes nearer the goals "
                       "than it ends, no skill holds still). "
                       f"Its outcome model's held-out prediction error is {min(x['error'] for x in held):.3f}-"
                       f"{max(x['error'] for x in held):.3f} m against {min(x['displacement'] for x in held):.3f}-"
                       f"{max(x['displacement'] for x in held):.3f} m of skill motion (the error of predicting no motion).")
        out.append(f"The proportional controller reaches {summ['p_controller']['success_rate']['mean']:.2f} of the same "
                   "goals: they are reachable.")
        her_sd = summ["sac_her"]["success_rate"]["std"]
        inside = [v["name"] for k, v in summ.items() if k.startswith("planner")
                  and abs(v["success_rate"]["mean"] - h) <= her_sd + v["success_rate"]["std"]]
        out.append(f"Flat SAC+HER's seed spread at this budget is large (std {her_sd:.2f}; its config is tuned for 60k "
                   "steps, RESULTS-rl.md): " + (f"the difference of {' and of '.join(inside)} to it is within the two "
                   "stds summed (3 seeds)." if inside else "every planner's difference to it exceeds the two stds summed."))
    return out


def render_tabletop(r: dict[str, Any]) -> str:
    lines = ["# Tabletop: skills as options, code policies, affordance-scored selection, gripper DIAYN", "",
             "Rendered by `experiments/skills/render_results.py` from `RESULTS-skills.json` (same directory); the",
             "benchmark runs are `runs/bench/tabletop/seed{0,1,2}` (600 demos, 30k-step MLP language low level). "
             "Commands:", ""]
    lines += [f"    {c}" for c in r["commands"].values()]
    lines += ["", "(code_policies.sh runs, per seed and task, `hirl eval runs/bench/tabletop/seedN --episodes 50 --agents "
              "code:examples/skills/TASK.py code_expert:examples/skills/TASK.py env_kwargs.goal_task=TASK eval.videos=0 "
              "--out runs/skills/code/seedN/TASK`.)"]
    lines += ["", "## Code policies on tasks no training chain contains", "",
              "Success over 50 episodes per seed (`hirl eval RUN --agents code:FILE code_expert:FILE "
              "env_kwargs.goal_task=TASK`): the same code policy over the run's trained language low level and over the "
              "scripted expert's low level. Goal: learned >= 0.8 x expert.", "",
              "| task | command | training chains containing it (of 1800) | learned low level | expert low level | ratio "
              "| goal met |",
              "|---|---|---|---|---|---|---|"]
    for task, c in r["code_policies"].items():
        chains = sum(s["training_chains_containing_task"] for s in c["per_seed"].values())
        lines.append(f"| {task} | {c['command']} | {chains} | {ms(c['learned_low'])} | {ms(c['expert_low'])} | "
                     f"{c['ratio']} | {'yes' if c['goal_met'] else 'no'} |")
    lines += ["", "Per seed (learned / expert low level; training chains of that seed's 600 containing the task):", "",
              "| task | seed | learned low level | expert low level | training chains containing it |",
              "|---|---|---|---|---|"]
    for task, c in r["code_policies"].items():
        for s, row in c["per_seed"].items():
            lines.append(f"| {task} | {s} | {row['learned_low']:.2f} | {row['expert_low']:.2f} | "
                         f"{row['training_chains_containing_task']} |")
    lines += ["", "Failures over the learned low level (all seeds): a failure is the low level's when the same policy "
              "over the expert's low level succeeded on the same episode.", "",
              "| task | failed episodes | low level's (expert low succeeded) | share | refused proposals | skill timeouts |",
              "|---|---|---|---|---|---|"]
    for task, c in r["code_policies"].items():
        f = c["failures"]
        timeouts = ", ".join(f"{k}: {v}" for k, v in sorted(f["skill_timeouts"].items(), key=lambda kv: -kv[1])) or "-"
        lines.append(f"| {task} | {f['failed']} | {f['failed_where_expert_low_succeeded']} | "
                     f"{c['low_level_share_of_failures']} | {f['refused_proposals']} | {timeouts} |")
    if "affordance" in r:
        a = r["affordance"]
        lines += ["", "## Affordance-scored (SayCan-style) vs learned language high level", "",
                  f"{a['episodes_per_seed']} episodes per seed and setting, the run's frozen language low level; the "
                  "affordance model is fitted per seed on free-play episodes of skill outcomes (their number in the "
                  "name); affordance_oracle: the env's preconditions as the affordance. paraphrased: 5-subtask chains "
                  "commanded in held-out paraphrases with varied connectors; "
                  "unseen: \"put every block in the drawer and close it\" from a closed drawer (the command never says to "
                  "open it). Both high levels get the same command steps.", "",
                  "| setting | high level | success rate | avg chain length |", "|---|---|---|---|"]
        for setting in ("paraphrased", "unseen"):
            for agent in a["agents"]:
                row = a[setting][agent]
                lines.append(f"| {setting} | {agent} | {ms(row['success_rate'])} | {ms(row['avg_chain_length'])} |")
        lines += ["", "Vetoes (the most relevant skill not chosen because of its affordance), summed over seeds; a veto "
                  "is right when the env's preconditions say the vetoed skill could not start.", "",
                  "| setting | high level | proposals | vetoes | vetoed skill outside its initiation set | inside "
                  "| precision |",
                  "|---|---|---|---|---|---|---|"]
        for setting in ("paraphrased", "unseen"):
            for agent in [x for x in a["agents"] if x.startswith("affordance")]:
                v = a[setting][agent]["veto"]
                lines.append(f"| {setting} | {agent} | {v['proposals']} | {v['vetoes']} | {v['vetoed_outside_initiation']} | "
                             f"{v['vetoed_inside_initiation']} | {v['veto_precision']} |")
        lines += ["", "Affordance models (outcomes, their success rate, held-out accuracy vs the majority class):", "",
                  "| seed | outcomes | success rate | val accuracy | majority baseline |", "|---|---|---|---|---|"]
        for s, m in a["model"].items():
            lines.append(f"| {s} | {m['outcomes']} | {m['outcome_success_rate']} | {m['val_accuracy']} | "
                         f"{m['val_majority_baseline']} |")
        lines += ["", "Command steps of the unseen command: " + "; ".join(f"\"{s}\"" for s in a["example_steps"]) + "."]
        lines += ["", "Caveat (selection on test): the relevance temperature (0.1) was chosen after looking at seed 0's "
                  "unseen-task episode."]
    if "diayn_gripper" in r:
        d = r["diayn_gripper"]
        lines += ["", "## DIAYN on the gripper", "",
                  f"Distinct {d['voxel_m'] * 100:.0f} cm voxels of gripper positions visited in 20 rollouts x 200 steps "
                  "from reset states (a random discovered skill every horizon steps vs uniformly random actions).", "",
                  "| seed | skills | env steps | discriminator accuracy (last; chance 1/K) | voxels: DIAYN | voxels: random |",
                  "|---|---|---|---|---|---|"]
        for row in d["rows"]:
            acc = row["discriminator_accuracy_last"]
            lines.append(f"| {row['seed']} | {row['skills']} | {row['steps']} | {acc if acc is None else round(acc, 3)} | "
                         f"{row['voxels_diayn']} | {row['voxels_random']} |")
        lines.append(f"| all | | | | {ms(d['voxels_diayn'])} | {ms(d['voxels_random'])} |")
        if "diayn_gripper_downstream" in r:
            lines += ["", "The discovered skills are exported into the skill library format (RUN_OUT/seedN/skills.yaml); "
                      "a planner over them solving gripper goal tasks follows."]
            lines += render_downstream(r["diayn_gripper_downstream"])
        else:
            lines += ["", "The discovered skills are exported into the skill library format (RUN_OUT/seedN/skills.yaml); "
                      "no high level over the gripper skills was evaluated on Tabletop (the planner over discovered "
                      "skills is evaluated on the maze)."]
    lines += ["", "## Findings", ""] + [f"- {t}" for t in tabletop_findings(r)]
    return "\n".join(lines) + "\n"


def render_downstream(d: dict[str, Any]) -> list[str]:
    r0 = d["rows"][0]
    commits = [v["commit"] for k, v in r0["agents"].items() if k.startswith("planner")]
    lines = ["", "### High level over the gripper skills vs flat SAC+HER on gripper goals", "",
             f"The same {r0['goals']} goal-reaching episodes per seed for every agent: stage low's gripper-goal env of "
             "`experiments/tabletop/rl_low_gripper.yaml` at the curriculum's full radius (xyz goals on the workspace "
             f"grid within 0.5 m of the start, +-2 cm), in free play, reached within {r0['tolerance_m'] * 100:.0f} cm in "
             f"{r0['episode_steps']} control steps. DIAYN skills + planner: the coverage run's K={r0['skills']} skills "
             f"({r0['horizon']} steps each, not retrained) and an outcome model fitted on {r0['outcome_steps']} env steps "
             f"of random skill chains (gripper xyz); the skill planner (depth {r0['depth']}) chooses the next skill, which "
             f"runs {' or '.join(map(str, commits))} steps before the next choice (the model fitted on the same chains cut "
             f"into pieces that long). The variant choosing every {min(commits)} steps was added after seeing seed 0's "
             f"result with {max(commits)}-step choices; seeds 1 and 2 were first evaluated with both variants together. "
             "Flat SAC+HER: stage low of that config (its SAC + HER settings, "
             "goal curriculum and 50-step 3 cm episodes) trained for the DIAYN steps + the outcome steps. The "
             "proportional controller on the true goal offset shows that the goals are reachable. Final distance: gripper "
             "to goal at the episode's end (an episode ends when the goal is reached).", "",
             "| agent | env steps | success rate | mean final distance (m) |", "|---|---|---|---|"]
    skill_steps = f"{r0['diayn_steps']} + {r0['outcome_steps']}"
    for a, s in d["summary"].items():
        steps = {"sac_her": str(r0["sac_her_steps"]), "p_controller": "0"}.get(a, skill_steps)
        lines.append(f"| {s['name']} | {steps} | {ms(s['success_rate'])} | {ms(s['mean_final_distance'])} |")
    lines += ["", "Per seed and agent (closest: mean closest approach to the goal; outcome model: held-out prediction "
              f"error vs skill motion on {r0['heldout_steps']} env steps of other chains; SAC+HER's own stage-low "
              "evaluation: 50 episodes, 50 steps, 3 cm; its training seconds on the shared 2-core machine):", "",
              "| seed | agent | success rate | mean final distance (m) | closest (m) | outcome model: segments | "
              "held-out error (m) | skill motion (m) |", "|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        for a, v in r["agents"].items():
            om = v.get("outcome_model_heldout")
            model = f"{v['outcome_segments']} | {om['error']:.3f} | {om['displacement']:.3f}" if om else "- | - | -"
            lines.append(f"| {r['seed']} | {d['summary'][a]['name']} | {v['success_rate']:.2f} | "
                         f"{v['mean_final_distance']:.3f} | {v['mean_min_distance']:.3f} | {model} |")
    lines += ["", "SAC+HER per seed: " + "; ".join(
        f"seed {r['seed']}: stage eval {r['sac_her_stage_eval_success']:.2f}, {r['seconds']['sac_her_train_reported']} s"
        for r in d["rows"]) + "."]
    return lines


# ---------------------------------------------------------------------------------------------------- maze
def build_maze(diayn: list[Path]) -> dict[str, Any]:
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
    row0 = r["rows"][0]
    lines = ["# Maze: DIAYN skills vs a random policy vs flat SAC+HER", "",
             "Rendered by `experiments/skills/render_results.py` from `RESULTS-skills.json` (same directory). Commands:", ""]
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


# ---------------------------------------------------------------------------------------------------- curricula
@functools.cache
def _benchmark() -> Any:
    """experiments/curriculum_benchmark.py as a module (loaded once): its table and plot of a study (one renderer of
    each)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("curriculum_benchmark", EXPERIMENTS / "curriculum_benchmark.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _full_data_start(settings: dict[str, Any]) -> int | None:
    """The first step at which a staged imitation schedule trains on every skill (None: not staged / not imitation)."""
    from hirl.curriculum import CurriculumSpec

    cur = settings.get("curriculum")
    if not cur or cur["schedule"] != "staged":
        return None
    return CurriculumSpec(**cur).stage_starts(settings["max_steps"])[-1]


def _settings_text(settings: dict[str, Any]) -> str:
    """The schedule settings of a variant in a few words."""
    if "curriculum" in settings:
        cur = settings["curriculum"]
        stages = f", {len(cur['stages'])} stages over fraction {cur['fraction']}" if cur["schedule"] == "staged" else ""
        lr = f", {settings['lr_schedule']} lr" if "lr_schedule" in settings else ""
        return f"{cur['schedule']}{stages}, {settings['max_steps']} steps{lr}"
    low, schedule = settings["low"], settings["low"]["curriculum_schedule"]
    radius = (f"radius {low['curriculum_end']} m from the first step" if schedule == "shuffled" else
              f"radius {low['curriculum_start']} -> {low['curriculum_end']} m over fraction {low['curriculum_fraction']}"
              + (f" in {low['curriculum_stages']} stages" if schedule == "staged" else ""))
    return f"{schedule}, {radius}, {low['episode_steps']}-step episodes, {settings['steps']} env steps"


def curriculum_findings(study: dict[str, Any]) -> list[str]:
    out: list[str] = []
    table, metric = study["schedules"], study["metric"]
    for name, v in table.items():
        if v["schedule"] == "shuffled":
            continue
        # its reference: the shuffled variant of the same label ("staged-constlr" -> "shuffled-constlr"), else "shuffled"
        ref_name = name.replace(v["schedule"], "shuffled", 1)
        ref_name = ref_name if ref_name in table else "shuffled"
        base = table.get(ref_name)
        if base is None:
            continue
        reach = "; ".join(f"to {t}: {v['steps_to'][t]['reached']}/{v['steps_to'][t]['of']} seeds"
                          f"{' (mean ' + str(v['steps_to'][t]['mean']) + ')' if v['steps_to'][t]['mean'] else ''} vs "
                          f"{base['steps_to'][t]['reached']}/{base['steps_to'][t]['of']}"
                          f"{' (mean ' + str(base['steps_to'][t]['mean']) + ')' if base['steps_to'][t]['mean'] else ''}"
                          for t in v["steps_to"])
        out.append(f"{name} vs {ref_name}: final {metric} {v['final_mean']:.2f} vs {base['final_mean']:.2f}; {reach}.")
        start = _full_data_start(v["settings"])
        if start is None:
            continue
        runs = {(r["variant"], r["seed"]): r for r in study["runs"]}
        pairs = []
        for seed in v["seeds"]:
            mine, ref = runs.get((name, seed)), runs.get((ref_name, seed))
            if mine is None or ref is None or "val_loss" not in mine["curve"][-1]:
                continue
            last = mine["curve"][-1]
            same = [q for q in ref["curve"] if "val_loss" in q and q["step"] <= last["step"] - start + 1]
            if same:
                pairs.append((last["val_loss"], same[-1]["val_loss"], same[-1]["step"], last["step"] - start + 1))
        if pairs:
            a = statistics.fmean(x[0] for x in pairs)
            b = statistics.fmean(x[1] for x in pairs)
            lr = v["settings"].get("lr_schedule", "cosine")
            note = ("confound: its all-skill steps come later in the cosine schedule, at a lower learning rate"
                    if lr == "cosine" else f"{lr} learning rate: no schedule confound")
            out.append(f"{name}: every skill from step {start}; after those {pairs[0][3]} steps its validation loss is "
                       f"{a:.4f} vs {b:.4f} for {ref_name} after {pairs[0][2]} steps from scratch (mean of {len(pairs)} "
                       f"seeds): the earlier stages leave it {'worse' if a > b else 'better'} off than a fresh start "
                       f"({note}).")
    evaluated = [r for r in study["runs"] if "final_eval" in r]
    if evaluated:
        def rate(variant: str, stage: int) -> str:
            rows = [r["final_eval"]["per_stage"][stage] for r in evaluated if r["variant"] == variant]
            done, tried = sum(x["completed"] for x in rows), sum(x["attempted"] for x in rows)
            return f"{done}/{tried}"

        def dead(variant: str) -> float:
            return statistics.fmean(r["dead_units"]["dead_fraction"] for r in evaluated if r["variant"] == variant)

        n = len(evaluated[0]["final_eval"]["per_stage"])
        for name in table:
            out.append(f"{name}, {evaluated[0]['final_eval']['episodes']}-chain evaluation summed over seeds: "
                       + ", ".join(f"stage {k} skills {rate(name, k)}" for k in range(n))
                       + f"; dead ReLU units {100 * dead(name):.1f} %.")
    return out


def curriculum_figure(page: Path, i: int) -> Path:
    """Where study i's learning curves are drawn, next to the page (write() draws them)."""
    return page.parent / f"{page.name}-curriculum-{i}.png"


def render_curriculum(studies: list[dict[str, Any]], what: str, command: str, page: Path) -> list[str]:
    """The curriculum section of a page (its figures: curriculum_figure)."""
    lines = ["", "## Curriculum vs shuffled schedules", "", what, "", f"Gathered into this page by `{command}`."]
    bench = _benchmark()
    for i, study in enumerate(studies):
        figure = curriculum_figure(page, i)
        lines += ["", f"### {i + 1}. {study['mode']}: {study['metric']} vs {study['unit']}, budget {study['budget']}", ""]
        for name, v in study["schedules"].items():
            lines.append(f"- `{name}` ({_settings_text(v['settings'])}): `{v['command']}`")
        lines += ["", bench.markdown(study), "", f"![learning curves]({figure.name})", "",
                  f"Steps to a threshold: the first learning-curve point at or above it, mean over the seeds that reached "
                  f"it within the budget (reached/of). Per run (final / best {study['metric']}):", ""]
        evaluated = [r for r in study["runs"] if "final_eval" in r]
        if evaluated:
            n_stages = len(evaluated[0]["final_eval"]["per_stage"])
            lines += [f"| seed | variant | curve final / best | {evaluated[0]['final_eval']['episodes']}-chain evaluation: "
                      "avg chain length | " + " | ".join(f"stage {k} skills completed / attempted" for k in range(n_stages))
                      + " | dead ReLU units (no activation on 4096 training rows) |", "|" + "---|" * (4 + n_stages + 1)]
            for r in sorted(evaluated, key=lambda r: (r["seed"], list(study["schedules"]).index(r["variant"]))):
                fe = r["final_eval"]
                stages = " | ".join(f"{x['completed']} / {x['attempted']}" for x in fe["per_stage"])
                lines.append(f"| {r['seed']} | {r['variant']} | {r['final']:.2f} / {r['best']:.2f} | "
                             f"{fe['avg_chain_length']:.2f} | {stages} | {100 * r['dead_units']['dead_fraction']:.1f} % |")
            per_stage = evaluated[0]["final_eval"]["per_stage"]
            lines += ["", "Stages (skills each adds): " + "; ".join(f"{k}: {', '.join(x['skills'])}"
                                                                   for k, x in enumerate(per_stage)) + "."]
        else:
            by_seed: dict[int, list[str]] = {}
            for r in study["runs"]:
                by_seed.setdefault(r["seed"], []).append(f"{r['variant']} {r['final']:.2f} / {r['best']:.2f}")
            lines += [f"- seed {seed}: " + "; ".join(v) for seed, v in sorted(by_seed.items())]
        lines += ["", "Findings:", ""] + [f"- {t}" for t in curriculum_findings(study)]
    return lines


CURRICULUM_WHAT = {
    "tabletop": "The language low level trained by imitation (`curriculum:` of an imitation run, hirl/curriculum.py): "
                "`staged` trains the stages' skills in order (contact skills, the drawer, grasping, then everything), each "
                "stage adding skills and continuing from the last one's weights; `shuffled` (the default) trains every skill "
                "from the first step. Learning curve: oracle_high rollouts during training (10 five-subtask chains on the "
                "run's eval seeds, the same chains for every run), metric avg_chain_length (subtasks completed, of 5). "
                "Demonstrations: the imitation benchmark's 600 chains per seed (runs/bench/tabletop/data/seedN).",
    "maze": "The goal-conditioned RL low level (SAC + HER, stage low, `low.curriculum_schedule`) on the medium maze: "
            "`staged` samples goals within a radius of the start that steps from `curriculum_start` to `curriculum_end` "
            "in 3 stages (1, 2, 3 m in study 1; 1, 3, 5 m in study 2; equal thirds of the first half of the budget), "
            "each stage continuing from the last one's policy; `linear` grows the radius continuously (the default); "
            "`shuffled` samples goals up to the full radius from the first step. Learning curve: goal reaching at the FULL "
            "radius (eval.mode goals, 30 episodes at the same seeds for every run).",
}

RENDER = {"tabletop": render_tabletop, "maze": render_maze}


def render_page(page: str, data: dict[str, Any]) -> str:
    """The whole Markdown page of `page` from its results JSON (no side effects)."""
    text = RENDER[page](data)
    if data.get("curriculum"):
        text += "\n".join(render_curriculum(data["curriculum"], CURRICULUM_WHAT[page], data["curriculum_command"],
                                            PAGES[page])) + "\n"
    return text


def write(page: str, data: dict[str, Any]) -> None:
    from hirl.fileio import atomic_write_json, atomic_write_text

    base = PAGES[page]
    for i, study in enumerate(data.get("curriculum") or []):
        _benchmark().plot(study, curriculum_figure(base, i))
    atomic_write_json(base.with_suffix(".json"), data)
    atomic_write_text(base.with_suffix(".md"), render_page(page, data))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="page", required=True)
    t = sub.add_parser("tabletop")
    t.add_argument("--code-root", type=Path, required=True)
    t.add_argument("--affordance", type=Path, nargs="*", help="affordance.json files; the first gives every agent")
    t.add_argument("--diayn", type=Path)
    t.add_argument("--diayn-downstream", type=Path, help="diayn_tabletop.py --downstream's output JSON")
    m = sub.add_parser("maze")
    m.add_argument("--diayn", type=Path, nargs="+", required=True)
    c = sub.add_parser("curriculum", help="put experiments/curriculum_benchmark.py outputs into a page's JSON, re-render")
    c.add_argument("target", choices=sorted(PAGES))
    c.add_argument("studies", type=Path, nargs="+", help="OUT/curriculum.json files, one per study")
    sub.add_parser("render")
    a = p.parse_args()
    if a.page == "tabletop":
        data = build_tabletop(a.code_root, a.affordance, a.diayn, a.diayn_downstream)
        data["commands"]["render"] = "python " + " ".join(sys.argv)
        write("tabletop", data)
    elif a.page == "maze":
        data = build_maze(a.diayn)
        data["commands"].append("python " + " ".join(sys.argv))
        write("maze", data)
    elif a.page == "curriculum":
        data = json.loads(PAGES[a.target].with_suffix(".json").read_text())
        data["curriculum"] = [json.loads(f.read_text()) for f in a.studies]
        data["curriculum_command"] = "python " + " ".join(sys.argv)
        write(a.target, data)
    else:
        for page, base in PAGES.items():
            write(page, json.loads(base.with_suffix(".json").read_text()))


if __name__ == "__main__":
    main()
