"""Interventions (language corrections, teleoperated takeovers, both) vs full expert demonstrations (Tabletop), over seeds.

Per seed S (everything under --out/seedS, each finished piece a JSON file, so a killed benchmark resumes):
  base/        `hirl train experiments/tabletop/corrections.yaml`: 50 demonstrations -> a weak high level (its low
               level is not used)
  composite/   high level of base + the FROZEN low level of an existing trained run (--low-run, default the imitation
               benchmark's runs/bench/tabletop/seed{S}: 600 demonstrations, 30k steps, single-step MLP head, the runs
               the committed numbers used); that run is read, never written (its low level is copied)
  corrections_<mode>/  run_correction_loop, 10, 20, 70 corrected episodes (cumulative 10, 30, 100) with the scripted
               corrector in mode language (typed corrections -> the high level), takeover (driving -> the low level,
               HG-DAgger) or mixed (both, each training its own level)
  demos<N>.json the same high-level fine-tune with N extra expert demonstrations (episodes 50..50+N of the low run's
               600, joining the demonstrations; with --demos-dataset the first N of that dataset, e.g. demonstrations
               collected in the disturbed world) instead of corrections; N = 10, 30, 100 and N = the demonstrations
               that fit in the human minutes of 30 mixed corrected episodes ("matched minutes")

Human time: a corrected episode costs its whole duration (the person watches all of it; takeovers included), an
expert demonstration its duration (the person drives all of it), both at real time (50 Hz).

    python experiments/corrections_benchmark.py --seeds 0 1 2 --out runs/bench/corrections
    python experiments/corrections_benchmark.py --seeds 0 1 2 --out runs/bench/corrections --report-only
    python experiments/corrections_benchmark.py --render experiments/tabletop/CORRECTIONS.json   (the page from its JSON)
writes experiments/tabletop/CORRECTIONS.json and renders experiments/tabletop/CORRECTIONS.md from it."""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hirl.benchmarks.tune import add_backend_arguments, check_backend_arguments, run_trials, script_module
from hirl.config import load_config, read_json, save_config
from hirl.data import load_dataset
from hirl.data.tables import build_tables, remap_vocab
from hirl.eval.report import paired_difference
from hirl.fileio import atomic_write_json, atomic_write_text
from hirl.learn.corrections import finetune_high
from hirl.learn.run import load_tables
from hirl.learn.run_config import RunConfig
from hirl.teleop.sessions.config import CorrectionLoopConfig
from hirl.teleop.sessions.loop import AFTER, BEFORE, evaluate, run_correction_loop
from hirl.teleop.sessions.store import prepare_session

LOOP = Path("experiments/tabletop/corrections_loop.yaml")
COUNTS = (10, 30, 100)  # corrected episodes / extra demonstrations compared
MODES = ("language", "takeover", "mixed")  # what the scripted corrector does
BASE_DEMOS = 50  # demonstrations of the base high level (the first ones of the low run's collection; --base-demos)
MATCH_AT = 30  # the corrected-episode count whose human minutes the "matched minutes" demonstrations get
MATCHED = f"expert demos, minutes of mixed {MATCH_AT}"  # that row (N differs per seed: listed in its "demos" field)
DT = 0.02  # control period (50 Hz): seconds of human time per step
DEMOS_DATASET: Path | None = None  # --demos-dataset: where extra demonstrations come from (None: the low run's dataset)


def low_run(pattern: str, seed: int) -> Path:
    return Path(pattern.format(seed=seed))


def composite(seed_dir: Path, low: Path, deploy_env: dict[str, Any] | None = None) -> Path:
    """base's high level + the low run's low level (copied; the low run is never written); deploy_env: env kwargs of
    the world the composite is corrected and evaluated in (e.g. disturbances), the base having learned in a clean one."""
    out = seed_dir / "composite"
    if not (out / "config.yaml").is_file():
        (out / "models").mkdir(parents=True, exist_ok=True)
        shutil.copytree(seed_dir / "base" / "models" / "high_language", out / "models" / "high_language", dirs_exist_ok=True)
        shutil.copytree(low / "models" / "low_language", out / "models" / "low_language", dirs_exist_ok=True)
        cfg = load_config(RunConfig, seed_dir / "base" / "config.yaml")
        if deploy_env:
            cfg = dataclasses.replace(cfg, env_kwargs={**cfg.env_kwargs, **deploy_env})
        save_config(cfg, out / "config.yaml")
        atomic_write_json(out / "provenance.json", {"high_language": str((seed_dir / "base").resolve()),
                                                    "low_language": str(low.resolve())})
    return out


def low_dataset(low: Path) -> Path:
    return Path(load_config(RunConfig, low / "config.yaml").dataset)


def demo_source(low: Path) -> tuple[Path, int]:
    """(dataset, first episode) of the extra demonstrations: --demos-dataset from its start, else the low run's
    dataset after the base's BASE_DEMOS."""
    return (DEMOS_DATASET, 0) if DEMOS_DATASET is not None else (low_dataset(low), BASE_DEMOS)


def demo_seconds(low: Path, n: int) -> float:
    """Human seconds of the first n extra expert demonstrations (each driven for its whole duration)."""
    path, first = demo_source(low)
    ds = load_dataset(path, obs_keys=("observation",), images=False)
    return round(sum(len(ep.actions) for ep in ds.subset(range(first, first + n)).episodes) * DT, 2)


def demos_condition(run: Path, seed_dir: Path, low: Path, n: int, loop: CorrectionLoopConfig) -> dict[str, Any]:
    path = seed_dir / f"demos{n}.json"
    if path.is_file():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    session = seed_dir / f"demos{n}"
    cfg = prepare_session(run, session)
    train, _, encoder = load_tables(cfg, Path(cfg.dataset))
    source, first = demo_source(low)
    big = load_dataset(source, obs_keys=tuple(cfg.obs_keys), images=False)
    if first + n > len(big):
        raise SystemExit(f"{source}: {len(big)} episodes, {n} extra demonstrations asked from episode {first}")
    extra = remap_vocab(build_tables(big.subset(range(first, first + n)), tuple(cfg.obs_keys)), train[0].vocab)
    fit = finetune_high(session, cfg, BEFORE, None, train, encoder, loop.finetune, stage="demos", extra_demos=extra)
    record = {"demos": n, "human_seconds": demo_seconds(low, n), "finetune": fit,
              "eval": evaluate(session, cfg, AFTER, loop.eval_episodes, session / "eval"),
              "seconds": round(time.perf_counter() - t0, 1)}
    atomic_write_json(path, record)
    return record


def run_seed(seed: int, out: Path, low: Path, loop: CorrectionLoopConfig, modes: list[str],
             deploy_env: dict[str, Any] | None = None) -> None:
    seed_dir = out / f"seed{seed}"
    run = composite(seed_dir, low, deploy_env)
    oracle = seed_dir / "oracle_high.json"
    if not oracle.is_file():
        cfg = prepare_session(run, seed_dir / "reference")
        atomic_write_json(oracle, evaluate(seed_dir / "reference", cfg, "oracle_high", loop.eval_episodes,
                                           seed_dir / "reference" / "eval"))
    first: Path | None = None
    for mode in modes:
        session = seed_dir / f"corrections_{mode}"
        if first is not None and not (session / "rounds" / "round0.json").is_file():
            (session / "rounds").mkdir(parents=True, exist_ok=True)  # the same agent on the same chains: evaluated once
            shutil.copy(first, session / "rounds" / "round0.json")
        corrector = dataclasses.replace(loop.corrector, seed=seed, mode=mode)
        loop_s = dataclasses.replace(loop, corrector=corrector, low_dataset=str(low_dataset(low)))
        tag = f"seed {seed} {mode}"
        run_correction_loop(run, session, loop_s, progress=functools.partial(_progress, tag))
        first = first or session / "rounds" / "round0.json"
    for n in COUNTS:
        demos_condition(run, seed_dir, low, n, loop)
    matched = matched_demos(seed_dir, low)
    if matched is not None and matched not in COUNTS:
        demos_condition(run, seed_dir, low, matched, loop)


def _progress(tag: str, message: str) -> None:
    print(f"{tag}: {message}", flush=True)


def matched_demos(seed_dir: Path, low: Path) -> int | None:
    """How many extra demonstrations fit in the human seconds of MATCH_AT mixed corrected episodes."""
    rounds = _rounds(seed_dir / "corrections_mixed")
    at = [rec for rec in rounds.values() if rec.get("corrected_episodes") == MATCH_AT]
    if not at:
        return None
    budget = float(at[0]["human_totals"]["watched_seconds"])
    path, first = demo_source(low)
    ds = load_dataset(path, obs_keys=("observation",), images=False)
    lengths = [len(ep.actions) * DT for ep in ds.subset(range(first, len(ds.episodes))).episodes]
    return max(1, int(np.searchsorted(np.cumsum(lengths), budget, side="right")))


def condition_report(seed_dir: Path, name: str, rec: dict[str, Any]) -> Path | None:
    """The evaluation report.json of one condition's row record (its per-chain results), None for the oracle row."""
    if "demos" in rec:
        return seed_dir / f"demos{rec['demos']}" / "eval" / "report.json"
    if "round" not in rec:
        return None
    if rec["round"] == 0:  # every mode's round 0 is the same evaluation: the first mode that ran it holds the report
        found = [p for m in MODES if (p := seed_dir / f"corrections_{m}" / "eval" / "round0" / "report.json").is_file()]
        return found[0] if found else None
    mode = name.split()[0]
    return seed_dir / f"corrections_{mode}" / "eval" / f"round{rec['round']}" / "report.json"


def chains(report: Path) -> dict[int, tuple[int, bool]]:
    """{evaluation chain seed: (subtasks completed, success)} of a report of one agent."""
    policies = json.loads(report.read_text())["policies"]
    if len(policies) != 1:
        raise SystemExit(f"{report}: {len(policies)} agents, expected the one the condition evaluated")
    (metrics,) = policies.values()
    return {int(e["seed"]): (len(e["completed"]), bool(e["success"])) for e in metrics["episodes_detail"]}


def paired_vs_base(out: Path, per: dict[str, dict[int, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per condition: the per-chain difference from the base (full-chain success, subtasks completed) over every
    seed's evaluation chains (the same chains for every condition of a seed), pooled and per seed."""
    base: dict[int, dict[int, tuple[int, bool]]] = {}
    for s, rec in per.get("base (no intervention)", {}).items():
        path = condition_report(out / f"seed{s}", "base (no intervention)", rec)
        if path is not None and path.is_file():
            base[s] = chains(path)
    result: dict[str, dict[str, Any]] = {}
    for name, by_seed in per.items():
        pooled: dict[str, tuple[list[float], list[float]]] = {"success": ([], []), "avg_chain_length": ([], [])}
        seeds_success: dict[str, dict[str, Any]] = {}
        for s, rec in sorted(by_seed.items()):
            path = condition_report(out / f"seed{s}", name, rec)
            if s not in base or path is None or not path.is_file():
                continue
            mine = chains(path)
            common = sorted(set(mine) & set(base[s]))
            for key, idx in (("success", 1), ("avg_chain_length", 0)):
                pooled[key][0].extend(float(mine[c][idx]) for c in common)
                pooled[key][1].extend(float(base[s][c][idx]) for c in common)
            seeds_success[str(s)] = paired_difference([float(mine[c][1]) for c in common],
                                                      [float(base[s][c][1]) for c in common])
        if pooled["success"][0] and name != "base (no intervention)":
            result[name] = {key: paired_difference(a, b) for key, (a, b) in pooled.items()}
            result[name]["success_per_seed"] = seeds_success
    return result


def _rounds(session: Path) -> dict[int, dict[str, Any]]:
    return {int(p.stem.removeprefix("round")): json.loads(p.read_text()) for p in (session / "rounds").glob("round*.json")}


# ---------------------------------------------------------------------------------------------------- results JSON
def _stat(values: list[float]) -> dict[str, Any]:
    return {"mean": round(float(np.mean(values)), 4), "std": round(float(np.std(values)), 4),
            "per_seed": [round(float(v), 4) for v in values]}


def collect(out: Path, seeds: list[int], low_pattern: str, loop: CorrectionLoopConfig, command: str,
            reproduce: str | None = None, loop_file: str = str(LOOP)) -> dict[str, Any]:
    """Every finished number of the benchmark, per condition: mean, std and per-seed values."""
    per: dict[str, dict[int, dict[str, Any]]] = {}
    for s in seeds:
        d = out / f"seed{s}"
        oracle = d / "oracle_high.json"
        if oracle.is_file():
            per.setdefault("oracle high level (reference)", {})[s] = {"eval": json.loads(oracle.read_text())}
        for mode in MODES:
            for r, rec in sorted(_rounds(d / f"corrections_{mode}").items()):
                name = "base (no intervention)" if r == 0 else f"{mode} {rec['corrected_episodes']}"
                per.setdefault(name, {})[s] = rec
        for p in sorted(d.glob("demos*.json")):
            rec = json.loads(p.read_text())
            name = f"expert demos {rec['demos']}" if rec["demos"] in COUNTS else MATCHED
            per.setdefault(name, {})[s] = rec
    base = {s: rec["eval"]["success_rate"] for s, rec in per.get("base (no intervention)", {}).items()}
    base_fit = {}
    for s in seeds:  # how well the base high level fits its demonstrations (its own training summary)
        summary = out / f"seed{s}" / "base" / "train_summary.json"
        if summary.is_file():
            high = json.loads(summary.read_text()).get("components", {}).get("high_language", {})
            base_fit[str(s)] = {k: high.get(k) for k in ("best_val_loss", "best_step", "steps", "last_train_loss")}
    paired = paired_vs_base(out, per)
    rows: dict[str, Any] = {}
    for name, by_seed in per.items():
        seeds_here = sorted(by_seed)
        ev = [by_seed[s]["eval"] for s in seeds_here]
        row: dict[str, Any] = {"seeds": seeds_here,
                               "success_rate": _stat([e["success_rate"] for e in ev]),
                               "avg_chain_length": _stat([e["avg_chain_length"] for e in ev])}
        human = [_human_seconds(by_seed[s]) for s in seeds_here]
        if all(h is not None for h in human) and human and all(s in base for s in seeds_here):
            hs = [float(h) for h in human if h is not None]
            gain = [by_seed[s]["eval"]["success_rate"] - base[s] for s in seeds_here]
            row["human_seconds"] = _stat(hs)
            row["success_gain"] = _stat(gain)
            row["gain_per_human_minute"] = _stat([g / (h / 60.0) if h > 0 else 0.0 for g, h in zip(gain, hs, strict=True)])
        effort = [by_seed[s].get("human_totals") for s in seeds_here]
        if all(effort):
            row["effort_totals"] = {k: _stat([float(e[k]) for e in effort if e]) for k in effort[0] or {}}
            row["effort_per_episode"] = {k: _stat([float(by_seed[s]["effort"].get(k, 0.0)) for s in seeds_here])
                                         for k in by_seed[seeds_here[0]]["effort"]}
            row["corrections_journaled"] = _stat([float(by_seed[s]["corrections"]) for s in seeds_here])
            row["takeovers_journaled"] = _stat([float(by_seed[s].get("takeovers", 0)) for s in seeds_here])
        if name == MATCHED:
            row["demos"] = [by_seed[s]["demos"] for s in seeds_here]
        if name in paired:
            row["paired_vs_base"] = paired[name]
        rows[name] = row
    return {"benchmark": "corrections", "env": "hirl/Tabletop-v0", "command": command, "base_demos": BASE_DEMOS,
            "demos_dataset": None if DEMOS_DATASET is None else str(DEMOS_DATASET),
            "reproduce": reproduce or (f"BASE_DEMOS={BASE_DEMOS} bash experiments/tabletop/corrections_benchmark.sh OUT "
                                       + " ".join(map(str, seeds))),
            "date": time.strftime("%Y-%m-%d"), "seeds": seeds, "low_run": low_pattern,
            "loop_file": loop_file, "loop": dataclasses.asdict(loop), "base_high_level_training": base_fit,
            "rows": rows}


def _human_seconds(rec: dict[str, Any]) -> float | None:
    if "human_totals" in rec:
        return float(rec["human_totals"]["watched_seconds"])
    if "human_seconds" in rec:
        return float(rec["human_seconds"])
    if rec.get("corrected_episodes") == 0:
        return 0.0
    return None


# ---------------------------------------------------------------------------------------------------- markdown
def _ms(stat: dict[str, Any] | None, fmt: str = "{:.2f}") -> str:
    return "-" if not stat else (fmt + " ± " + fmt).format(stat["mean"], stat["std"])


def _pd(diff: dict[str, Any] | None) -> str:
    """A paired difference as '+0.05 [+0.01, +0.09]' ('-' when absent)."""
    return "-" if not diff else "{:+.2f} [{:+.2f}, {:+.2f}]".format(diff["mean"], *diff["ci95"])


def order(rows: dict[str, Any]) -> list[str]:
    names = ["base (no intervention)"]
    for n in COUNTS:
        names += [f"{m} {n}" for m in MODES] + [f"expert demos {n}"] + ([MATCHED] if n == MATCH_AT else [])
    return [n for n in [*names, "oracle high level (reference)"] if n in rows]


def render(res: dict[str, Any], json_name: str = "CORRECTIONS.json") -> str:
    rows = res["rows"]
    loop = res["loop"]
    c = loop["corrector"]
    lines = ["# Interventions vs expert demonstrations (Tabletop, frozen benchmark low level)", "",
             f"Rendered from [{json_name}]({json_name}) by `experiments/corrections_benchmark.py` "
             f"(command: `{res['command']}`; end to end: `{res['reproduce']}`). Seeds: {res['seeds']}; "
             "mean ± std over the seeds in each row's `seeds` column.", "",
             f"Setup per seed: the base high level learned from {res.get('base_demos', 50)} expert chains "
             "(`OUT/seedS/base`, made as the end-to-end command says); "
             "the low level is the imitation benchmark's trained language low level "
             f"(`{res['low_run']}`: 600 chains, 30k steps, single-step "
             "MLP head), copied and frozen except where takeovers fine-tune it. Rows `language N`, `takeover N`, "
             "`mixed N`: N episodes (cumulative, rounds of 10, 20, 70) rolled out with the scripted corrector "
             f"(`{res.get('loop_file', 'experiments/tabletop/corrections_loop.yaml')}`: reaction "
             f"{c['reaction_steps']} steps, miss rate "
             f"{c['miss_rate']}, paraphrased corrections {c['paraphrase']:.0%}; takeover after {c['stall_steps']} "
             f"steps of a right subgoal that does not finish, at most {c['takeover_steps']} steps, driven by the "
             "scripted expert). `language`: typed corrections only, they fine-tune the high level. `takeover`: the "
             "corrector never types, it drives whenever the subgoal is wrong; takeovers fine-tune the low level "
             "(HG-DAgger). `mixed`: types when the subgoal is wrong, drives when the low level stalls; each kind "
             "trains its own level. `expert demos N`: the same high-level fine-tune on N further expert chains ("
             + (f"the first of `{res['demos_dataset']}`" if res.get("demos_dataset") else
                "the low run's collection, after the base's") + "). "
             f"Evaluation: {loop['eval_episodes']} chains of 5 subtasks (seeds 100000...), CALVIN-style.", "",
             "Human time: a corrected episode costs its whole duration (watched; takeovers are part of it), a "
             "demonstration its whole duration (driven), at real time. `gain / human min`: full-chain success gained "
             "over the base, per minute of human time. `paired`: the difference from the base chain by chain (the "
             "same evaluation chains), pooled over the seeds, with its 95 % interval.", "",
             "| condition | seeds | success (5/5) | gain over base | paired success diff [95 %] | avg chain length | "
             "paired chain diff [95 %] | human seconds | gain / human min |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in order(rows):
        r = rows[name]
        label = f"{name} (N = {', '.join(map(str, r['demos']))})" if "demos" in r else name
        pair = r.get("paired_vs_base", {})
        lines.append(f"| {label} | {len(r['seeds'])} | {_ms(r['success_rate'])} | {_ms(r.get('success_gain'))} | "
                     f"{_pd(pair.get('success'))} | {_ms(r['avg_chain_length'])} | {_pd(pair.get('avg_chain_length'))} | "
                     f"{_ms(r.get('human_seconds'), '{:.0f}')} | {_ms(r.get('gain_per_human_minute'), '{:.3f}')} |")
    lines += ["", "## Effort (scripted corrector's log, per corrected episode of the last round)", "",
              "| condition | interventions / ep | corrections / ep | takeovers / ep | takeover s / ep | watched s / ep | "
              "wrong subgoal s / ep | rollout success | journaled corrections | journaled takeovers |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name in order(rows):
        r = rows[name]
        e = r.get("effort_per_episode")
        if not e:
            continue
        lines.append(f"| {name} | {_ms(e.get('interventions_per_episode'))} | {_ms(e.get('corrections_per_episode'))} | "
                     f"{_ms(e.get('takeovers_per_episode'))} | {_ms(e.get('takeover_seconds_per_episode'))} | "
                     f"{_ms(e.get('watched_seconds_per_episode'))} | {_ms(e.get('wrong_subgoal_seconds_per_episode'))} | "
                     f"{_ms(e.get('rollout_success'))} | {_ms(r.get('corrections_journaled'), '{:.0f}')} | "
                     f"{_ms(r.get('takeovers_journaled'), '{:.0f}')} |")
    notes = res.get("notes")
    if notes:
        lines += ["", "## Reading", "", *notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    global BASE_DEMOS, DEMOS_DATASET
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=Path("runs/bench/corrections"))
    p.add_argument("--loop", type=Path, default=LOOP, help="CorrectionLoopConfig YAML")
    p.add_argument("--low-run", default="runs/bench/tabletop/seed{seed}",
                   help="trained run whose low_language is the frozen low level ({seed} is replaced)")
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--base-demos", type=int, default=BASE_DEMOS,
                   help="demonstrations the base high level was trained on (extra demos are drawn after them)")
    p.add_argument("--demos-dataset", type=Path, default=None,
                   help="dataset the extra demonstrations come from, from its first episode (default: the low run's, "
                        "after the base's); e.g. one collected in the disturbed world")
    p.add_argument("--deploy-env-kwargs", type=json.loads, default=None,
                   help='JSON env kwargs of the corrected and evaluated world, e.g. \'{"disturbance": {"probability": 1.0}}\' '
                        "(the base still learns from clean demonstrations)")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--results", type=Path, default=Path("experiments/tabletop/CORRECTIONS.json"))
    p.add_argument("--notes", type=Path, default=None, help="text file of the hand-written reading (kept in the JSON)")
    p.add_argument("--reproduce", default=None, help="the end-to-end commands, when they differ from the default")
    p.add_argument("--render", type=Path, default=None, metavar="JSON",
                   help="only render JSON's page (the .md beside it) from the numbers in it, no runs needed")
    add_backend_arguments(p)  # --backend local|ray, --address, --cpus-per-trial, --gpus-per-trial (one trial per seed)
    args = p.parse_args(argv)
    check_backend_arguments(p, args)
    if args.render is not None:
        atomic_write_text(args.render.with_suffix(".md"), render(read_json(args.render), args.render.name))
        return 0
    BASE_DEMOS, DEMOS_DATASET = args.base_demos, args.demos_dataset
    import torch

    torch.set_num_threads(1)
    loop = load_config(CorrectionLoopConfig, args.loop)
    given, raw = [], list(sys.argv[1:] if argv is None else argv)
    while raw:  # the command that made the numbers: without the rendering-only flags
        a = raw.pop(0)
        if a in ("--notes", "--reproduce"):
            raw = raw[1:]
        elif a != "--report-only":
            given.append(a)
    command = "python experiments/corrections_benchmark.py " + shlex.join(given)

    def write() -> None:
        res = collect(args.out, args.seeds, args.low_run, loop, command, args.reproduce, str(args.loop))
        if args.notes is not None:
            res["notes"] = args.notes.read_text().splitlines()
        elif args.results.is_file():
            res["notes"] = json.loads(args.results.read_text()).get("notes", [])
        atomic_write_json(args.results, res)
        atomic_write_text(args.results.with_suffix(".md"), render(res, args.results.name))

    if not args.report_only:
        out, ready = args.out.resolve(), []  # absolute: a Tune trial runs in a folder of its own
        for s in args.seeds:
            low = low_run(args.low_run, s)
            base_high = out / f"seed{s}" / "base" / "models" / "high_language"
            if not base_high.is_dir() or not (low / "models" / "low_language").is_dir():
                print(f"seed {s}: train base first and check --low-run (see this file's docstring)", file=sys.stderr)
                continue
            ready.append(s)

        def trial(params: dict[str, Any]) -> None:
            s = int(params["seed"])
            run_seed(s, out, low_run(args.low_run, s).resolve(), loop, args.modes, args.deploy_env_kwargs)
            if args.backend == "local":
                write()  # the tables grow seed by seed (Tune trials run at once: written once at the end)

        run_trials(trial, [{"seed": s} for s in ready], storage=out / "tune", name="corrections", backend=args.backend,
                   address=args.address, cpus=args.cpus_per_trial, gpus=args.gpus_per_trial, ship=script_module(__name__))
    write()
    print(args.results.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
