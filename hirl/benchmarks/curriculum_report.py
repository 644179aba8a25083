"""A curriculum study (experiments/curriculum_benchmark.py's OUT/curriculum.json: per variant and seed a learning curve
and the steps to each threshold) as results-page text: its table, its learning-curve plot, findings written from its
numbers, and the whole section a RESULTS page shows (hirl.benchmarks.skills_report puts it on the skills pages)."""
from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hirl.curriculum import CurriculumSpec


def study_table(res: Mapping[str, Any]) -> str:
    """The curriculum table of a results page (rendered from summarise's dict)."""
    ts = res["thresholds"]
    head = (f"| variant | seeds | final {res['metric']} | best | " + " | ".join(f"{res['unit']} to {t}" for t in ts) + " |")
    lines = [head, "|" + "---|" * (4 + len(ts))]
    for name, s in res["schedules"].items():
        cells = []
        for t in ts:
            d = s["steps_to"][str(t)]
            cells.append(f"{d['mean']} ({d['reached']}/{d['of']})" if d["mean"] is not None else f"not reached (0/{d['of']})")
        lines.append(f"| {name} | {len(s['seeds'])} | {s['final_mean']:.2f} | {s['best_mean']:.2f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_study(res: Mapping[str, Any], path: Path) -> Path:
    """The learning curves: metric vs training steps, mean ± std over seeds per variant (the points all its runs have)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(9, 4))
    for label in res["schedules"]:
        curves = [{p["step"]: p[res["metric"]] for p in r["curve"]} for r in res["runs"] if r["variant"] == label]
        xs = sorted(set.intersection(*[set(c) for c in curves]))
        ys = np.array([[c[x] for x in xs] for c in curves])
        ax.plot(xs, ys.mean(0), marker="o", label=f"{label} (n={len(curves)})")
        ax.fill_between(xs, ys.mean(0) - ys.std(0), ys.mean(0) + ys.std(0), alpha=0.2)
    for t in res["thresholds"]:
        ax.axhline(t, color="grey", ls=":", lw=0.8)
    ax.set_xlabel(res["unit"])
    ax.set_ylabel(res["metric"])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are counts
    ax.set_title(f"Curriculum vs shuffled ({res['mode']}): {res['metric']} vs {res['unit']} (mean ± std over seeds)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def full_data_start(settings: dict[str, Any]) -> int | None:
    """The first step at which a staged imitation schedule trains on every skill (None: not staged / not imitation)."""
    cur = settings.get("curriculum")
    if not cur or cur["schedule"] != "staged":
        return None
    return CurriculumSpec(**cur).stage_starts(settings["max_steps"])[-1]


def settings_text(settings: dict[str, Any]) -> str:
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


def reference_variant(name: str, variant: Mapping[str, Any], table: Mapping[str, Any]) -> str | None:
    """The variant `name` is compared with: the shuffled variant of the same label ("staged-constlr" ->
    "shuffled-constlr"), else "shuffled"; None when the study has neither."""
    ref = name.replace(variant["schedule"], "shuffled", 1)
    ref = ref if ref in table else "shuffled"
    return ref if ref in table else None


def steps_to_text(mine: Mapping[str, Any], ref: Mapping[str, Any]) -> str:
    """Seeds reaching each threshold (and their mean steps) of a variant vs its reference, in one clause per threshold."""
    def one(d: Mapping[str, Any], unit: str = "") -> str:
        return f"{d['reached']}/{d['of']}{unit}" + (f" (mean {d['mean']})" if d["mean"] else "")

    return "; ".join(f"to {t}: {one(mine['steps_to'][t], ' seeds')} vs {one(ref['steps_to'][t])}"
                     for t in mine["steps_to"])


def fresh_start_finding(study: Mapping[str, Any], name: str, ref_name: str) -> str | None:
    """A staged imitation variant's validation loss after its all-skill steps vs its reference's after as many steps
    from scratch, mean over the seeds both have (None: not staged imitation, or no validation loss)."""
    v = study["schedules"][name]
    start = full_data_start(v["settings"])
    if start is None:
        return None
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
    if not pairs:
        return None
    a = statistics.fmean(x[0] for x in pairs)
    b = statistics.fmean(x[1] for x in pairs)
    lr = v["settings"].get("lr_schedule", "cosine")
    note = ("confound: its all-skill steps come later in the cosine schedule, at a lower learning rate"
            if lr == "cosine" else f"{lr} learning rate: no schedule confound")
    return (f"{name}: every skill from step {start}; after those {pairs[0][3]} steps its validation loss is "
            f"{a:.4f} vs {b:.4f} for {ref_name} after {pairs[0][2]} steps from scratch (mean of {len(pairs)} "
            f"seeds): the earlier stages leave it {'worse' if a > b else 'better'} off than a fresh start "
            f"({note}).")


def evaluation_findings(study: Mapping[str, Any]) -> list[str]:
    """Per variant, the final chain evaluation's skills completed / attempted per stage (summed over seeds) and its dead
    ReLU units (empty: the study has no final evaluation)."""
    evaluated = [r for r in study["runs"] if "final_eval" in r]
    if not evaluated:
        return []

    def rate(variant: str, stage: int) -> str:
        rows = [r["final_eval"]["per_stage"][stage] for r in evaluated if r["variant"] == variant]
        return f"{sum(x['completed'] for x in rows)}/{sum(x['attempted'] for x in rows)}"

    def dead(variant: str) -> float:
        return statistics.fmean(r["dead_units"]["dead_fraction"] for r in evaluated if r["variant"] == variant)

    n = len(evaluated[0]["final_eval"]["per_stage"])
    return [f"{name}, {evaluated[0]['final_eval']['episodes']}-chain evaluation summed over seeds: "
            + ", ".join(f"stage {k} skills {rate(name, k)}" for k in range(n))
            + f"; dead ReLU units {100 * dead(name):.1f} %." for name in study["schedules"]]


def curriculum_findings(study: Mapping[str, Any]) -> list[str]:
    """What a study's numbers say, one sentence each: every non-shuffled variant against its reference, then the final
    evaluation."""
    out: list[str] = []
    table, metric = study["schedules"], study["metric"]
    for name, v in table.items():
        ref_name = None if v["schedule"] == "shuffled" else reference_variant(name, v, table)
        if ref_name is None:
            continue
        base = table[ref_name]
        out.append(f"{name} vs {ref_name}: final {metric} {v['final_mean']:.2f} vs {base['final_mean']:.2f}; "
                   f"{steps_to_text(v, base)}.")
        fresh = fresh_start_finding(study, name, ref_name)
        if fresh is not None:
            out.append(fresh)
    return out + evaluation_findings(study)


def curriculum_figure(page: Path, i: int) -> Path:
    """Where study i's learning curves are drawn, next to the page (SkillsPage.write draws them)."""
    return page.parent / f"{page.name}-curriculum-{i}.png"


def curriculum_section(studies: list[dict[str, Any]], what: str, command: str, page: Path) -> list[str]:
    """The curriculum section of a page (its figures: curriculum_figure)."""
    lines = ["", "## Curriculum vs shuffled schedules", "", what, "", f"Gathered into this page by `{command}`."]
    for i, study in enumerate(studies):
        figure = curriculum_figure(page, i)
        lines += ["", f"### {i + 1}. {study['mode']}: {study['metric']} vs {study['unit']}, budget {study['budget']}", ""]
        for name, v in study["schedules"].items():
            lines.append(f"- `{name}` ({settings_text(v['settings'])}): `{v['command']}`")
        lines += ["", study_table(study), "", f"![learning curves]({figure.name})", "",
                  f"Steps to a threshold: the first learning-curve point at or above it, mean over the seeds that reached "
                  f"it within the budget (reached/of). Per run (final / best {study['metric']}):", ""]
        lines += per_run_lines(study)
        lines += ["", "Findings:", ""] + [f"- {t}" for t in curriculum_findings(study)]
    return lines


def per_run_lines(study: Mapping[str, Any]) -> list[str]:
    """The per-run lines of a study: with a final evaluation a table (seed, variant, curve final / best, chain length,
    skills completed per stage, dead units) and the skills each stage adds; without, final / best per seed."""
    evaluated = [r for r in study["runs"] if "final_eval" in r]
    if not evaluated:
        by_seed: dict[int, list[str]] = {}
        for r in study["runs"]:
            by_seed.setdefault(r["seed"], []).append(f"{r['variant']} {r['final']:.2f} / {r['best']:.2f}")
        return [f"- seed {seed}: " + "; ".join(v) for seed, v in sorted(by_seed.items())]
    n_stages = len(evaluated[0]["final_eval"]["per_stage"])
    lines = [f"| seed | variant | curve final / best | {evaluated[0]['final_eval']['episodes']}-chain evaluation: "
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
    return lines
