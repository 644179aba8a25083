"""What the correction recipe's parts buy: one finished correction session (its journal of corrections and its stored
episodes), re-fine-tuned from the same "before" agent under recipe variants, each evaluated on the same chains.

    python experiments/tabletop/corrections_ablation.py run --session SESSION --run RUN --out runs/bench/corrections-ablation
    python experiments/tabletop/corrections_ablation.py render [--notes FILE]

SESSION: a correction-loop session folder (corrections.jsonl, episodes/), e.g. a round of
`experiments/corrections_benchmark.py` (SEED/corrections_language); RUN: the run it corrected (SEED/composite).
Variants (experiments/tabletop/corrections_ablation.yaml): a name -> `finetune:` fields over the loop config's
(--loop, default experiments/tabletop/corrections_loop.yaml). Each variant gets a folder OUT/<name> laid out by
prepare_session (the run's weights: every variant starts from the same agent), is fine-tuned on ALL the session's
corrections once (hirl.teleop.sessions.retrain.finetune_levels, the loop's own fine-tune) and evaluated on --episodes
chains in the run's world (its env_kwargs: e.g. the disturbed one), seeds 100000... as every evaluation; the base
(the run's agent, not fine-tuned) on the same chains. OUT/<name>.json per finished variant (a killed run resumes);
`run` ends by writing experiments/tabletop/CORRECTIONS-ablation.json + .md, `render` the .md again from the JSON
(and --notes): per variant the success and average chain length,
and the paired difference to the base per chain (mean, 95 % interval)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from hirl.config import load_config, read_yaml
from hirl.data.tables import text_tables
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.data import load_dataset
from hirl.eval.evaluate import evaluate_run
from hirl.eval.report import paired_difference
from hirl.fileio import atomic_write_json, atomic_write_text
from hirl.learn.components import head_of
from hirl.learn.corrections import correctable_levels, heldout_metrics, high_rows
from hirl.learn.corrections_config import FinetuneSpec
from hirl.learn.imitation import validation_batches
from hirl.learn.run import load_tables
from hirl.learn.run_config import RunConfig
from hirl.teleop.sessions.config import CorrectionLoopConfig
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.loop import adapted
from hirl.teleop.sessions.retrain import finetune_levels
from hirl.runs import RunDir
from hirl.teleop.sessions.store import DEFAULT_AGENT, prepare_session

HERE = Path(__file__).resolve().parent
VARIANTS = Path("experiments/tabletop/corrections_ablation.yaml")  # name -> finetune overrides (run from the repo root)
RESULTS = HERE / "CORRECTIONS-ablation.json"
LOOP = Path("experiments/tabletop/corrections_loop.yaml")
BASE = "base (no fine-tune)"


def variants(path: Path, only: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """The variants file: {name: {finetune field: value}} (only: those names, in the file's order); SystemExit naming
    the file and field or name when one is wrong."""
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not raw:
        raise SystemExit(f"{path}: expected a mapping of variant name -> finetune fields")
    missing = sorted(set(only or ()) - set(raw))
    if missing:
        raise SystemExit(f"{path}: no variant(s) {missing} (--only; the file has {sorted(raw)})")
    raw = {k: v for k, v in raw.items() if only is None or k in only}
    known = {f.name for f in dataclasses.fields(FinetuneSpec)}
    for name, fields in raw.items():
        bad = sorted(set(fields or {}) - known)
        if bad:
            raise SystemExit(f"{path}: variant {name!r}: unknown finetune field(s) {bad} (known: {sorted(known)})")
    return {str(k): dict(v or {}) for k, v in raw.items()}


def _evaluate(folder: Path, agent: str, episodes: int) -> dict[str, Any]:
    """Metrics of `agent` in `folder` on `episodes` chains, with the per-chain completed-subtask counts."""
    cfg = load_config(RunConfig, folder / "config.yaml")
    cfg.eval = dataclasses.replace(cfg.eval, videos=0)
    report = evaluate_run(folder, [agent], episodes, folder / "eval" / agent.replace("+", "_"), cfg=cfg)
    m = report["policies"][agent]
    return {"success_rate": m["success_rate"], "avg_chain_length": m["avg_chain_length"],
            "chains": [{"seed": e["seed"], "length": len(e["completed"]), "success": bool(e["success"])}
                       for e in m["episodes_detail"]]}


def session_data(run: Path, session: Path) -> tuple[Any, Any, Any]:
    """(training tables, text encoder, the session's episodes) of the base run: every variant copies its config, so
    they are loaded once for all of them."""
    cfg = load_config(RunConfig, run / "config.yaml")
    train, _, encoder = load_tables(cfg, Path(cfg.dataset))
    return train, encoder, load_dataset(session / "episodes", obs_keys=tuple(cfg.obs_keys), images=False)


def fit_check(folder: Path, data: tuple[Any, Any, Any], agent: str, records: list[Any], spec: FinetuneSpec) -> dict[str, Any]:
    """How well the high level before and after the fine-tune predicts the corrected skill on the corrected states it
    trained on and on the held-out ones (loss, accuracy): does the fine-tune fit the corrections, and generalise?
    data: session_data(...)."""
    cfg = load_config(RunConfig, folder / "config.yaml")
    train, encoder, episodes = data
    rows = high_rows(records, episodes, train[0], tuple(cfg.obs_keys), spec)
    level = correctable_levels(agent, cfg.networks)[1]
    out: dict[str, Any] = {}
    for when, adapted_dir in (("before", False), ("after", True)):
        net = level.load(RunDir(folder).model_dir(level.name, adapted_dir))
        for family in ("corrected", "heldout"):
            t = getattr(rows, family)
            if t is not None and len(t.obs):
                batches = validation_batches(level, (t, text_tables(t, encoder, MAX_SUBTASKS)), 256, head_of(net))
                out[f"{family}_{when}"] = {k: round(v, 4) for k, v in heldout_metrics(net, batches).items()}
    return out


def run(args: argparse.Namespace) -> None:
    loop = load_config(CorrectionLoopConfig, args.loop)
    chosen = variants(args.variants, args.only)
    records = CorrectionJournal(args.session / "corrections.jsonl").read()
    if not records:
        raise SystemExit(f"{args.session}: no corrections.jsonl records to fine-tune on")
    args.out.mkdir(parents=True, exist_ok=True)
    base_json = args.out / "base.json"
    if not base_json.is_file():
        prepare_session(args.run, args.out / "base", agent=args.agent)
        atomic_write_json(base_json, {"variant": BASE, **_evaluate(args.out / "base", args.agent, args.episodes)})
    data: tuple[Any, Any, Any] | None = None  # session_data, loaded when a variant first needs it
    for name, fields in chosen.items():
        path = args.out / f"{name}.json"
        if path.is_file():
            rec = json.loads(path.read_text())
            if "fit_check" not in rec:  # written before the fit check existed: add it
                spec = dataclasses.replace(loop.finetune, **fields)
                data = data or session_data(args.run, args.session)
                rec["fit_check"] = fit_check(args.out / name, data, args.agent, records, spec)
                atomic_write_json(path, rec)
            continue
        t0 = time.perf_counter()
        folder = args.out / name
        cfg = prepare_session(args.run, folder, agent=args.agent)
        spec = dataclasses.replace(loop.finetune, **fields)
        data = data or session_data(args.run, args.session)
        train, encoder, episodes = data
        fit = finetune_levels(folder, cfg, args.agent, records, [], episodes, train, train, encoder, spec,
                              stages=("ablation", "ablation_low"))
        result = _evaluate(folder, adapted(args.agent), args.episodes)
        atomic_write_json(path, {"variant": name, "finetune": fields, "fit": fit, **result,
                                 "fit_check": fit_check(folder, data, args.agent, records, spec),
                                 "seconds": round(time.perf_counter() - t0, 1)})
        print(f"{name}: success {result['success_rate']:.3f}, avg chain {result['avg_chain_length']:.2f}", flush=True)


def _paired(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Per-chain difference of completed subtasks and success (other - base) on the chains both ran (same seeds)."""
    b = {c["seed"]: c for c in base["chains"]}
    pairs = [(c, b[c["seed"]]) for c in other["chains"] if c["seed"] in b]
    out: dict[str, Any] = {"chains": len(pairs)}
    for key in ("length", "success"):
        diff = paired_difference([float(c[key]) for c, _ in pairs], [float(cb[key]) for _, cb in pairs])
        out[key] = {"mean": diff["mean"], "ci95": diff["ci95"]}
    return out


def collect(args: argparse.Namespace) -> dict[str, Any]:
    base = json.loads((args.out / "base.json").read_text())
    rows = []
    for name in variants(args.variants, args.only):
        path = args.out / f"{name}.json"
        if path.is_file():
            rec = json.loads(path.read_text())
            high = rec["fit"].get("high", {})
            rows.append({"variant": name, "finetune": rec["finetune"], "success_rate": rec["success_rate"],
                         "avg_chain_length": rec["avg_chain_length"], "paired": _paired(base, rec),
                         "share": high.get("share"), "rows": high.get("rows"),
                         "heldout": high.get("heldout"), "fit_check": rec.get("fit_check", {}),
                         "seconds": rec["seconds"]})
    loop = load_config(CorrectionLoopConfig, args.loop)
    return {"command": args.command, "session": str(args.session), "run": str(args.run), "agent": args.agent,
            "episodes": args.episodes, "loop": str(args.loop), "recipe_defaults": dataclasses.asdict(loop.finetune),
            "base": {"success_rate": base["success_rate"], "avg_chain_length": base["avg_chain_length"]},
            "corrections": len(CorrectionJournal(args.session / "corrections.jsonl").read()),
            "date": time.strftime("%Y-%m-%d"), "rows": rows}


def _repo_relative(path: Path) -> str:
    """path relative to the repository (HERE's grandparent) when inside it, else as given."""
    try:
        return str(path.resolve().relative_to(HERE.parents[1]))
    except ValueError:
        return str(path)


def render(res: dict[str, Any], notes: list[str], results: Path = RESULTS) -> str:
    again = "" if results.resolve() == RESULTS.resolve() else f" --results {_repo_relative(results)}"
    lines = ["# The correction recipe's ablation (Tabletop)", "",
             f"Rendered from `{results.name}` by `python experiments/tabletop/corrections_ablation.py render{again}`; "
             "runs by "
             f"`{res['command']}`. One correction session ({res['corrections']} corrections of the scripted corrector, "
             f"`{res['session']}`) re-fine-tuned from the same agent (`{res['agent']}` of `{res['run']}`) under each "
             f"variant of the recipe (`finetune:` fields over `{res['loop']}`), each evaluated on the same "
             f"{res['episodes']} chains (seeds 100000...) in the run's world. Paired: per chain, the variant's completed "
             "subtasks (and full-chain success) minus the base's, mean and 95 % interval.", "",
             f"Base (no fine-tune): success {res['base']['success_rate']:.2f}, average chain "
             f"{res['base']['avg_chain_length']:.2f}.", "",
             "| variant | finetune fields | success | avg chain | paired chain diff [95 %] | paired success diff [95 %] "
             "| share | rows (demos / approved / corrected / window / redo) | held-out acc before -> chosen (step) "
             "| corrected states trained on: acc before -> after |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        p, rows, held = r["paired"], r["rows"] or {}, r["heldout"] or {}
        fields = ", ".join(f"{k}: {v}" for k, v in r["finetune"].items()) or "(the defaults)"
        acc = (f"{held['base']['acc']:.2f} -> {held['selected']['acc']:.2f} ({held.get('selected_step')})"
               if held.get("base") else "-")
        fc = r.get("fit_check") or {}
        fitted = (f"{fc['corrected_before']['acc']:.2f} -> {fc['corrected_after']['acc']:.2f}"
                  if "corrected_after" in fc else "-")
        lines.append(
            f"| {r['variant']} | {fields} | {r['success_rate']:.2f} | {r['avg_chain_length']:.2f} | "
            f"{p['length']['mean']:+.2f} [{p['length']['ci95'][0]:+.2f}, {p['length']['ci95'][1]:+.2f}] | "
            f"{p['success']['mean']:+.2f} [{p['success']['ci95'][0]:+.2f}, {p['success']['ci95'][1]:+.2f}] | "
            f"{r['share']} | {' / '.join(str(rows.get(k, 0)) for k in ('demos', 'approved', 'corrected', 'window', 'redo'))} "
            f"| {acc} | {fitted} |")
    if notes:
        lines += ["", "## Reading", "", *notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("run", "render"))
    p.add_argument("--session", type=Path, help="the correction session whose corrections are re-used (run)")
    p.add_argument("--run", type=Path, help="the run that session corrected (run)")
    p.add_argument("--agent", default=DEFAULT_AGENT, help="the corrected agent")
    p.add_argument("--out", type=Path, default=Path("runs/bench/corrections-ablation"))
    p.add_argument("--variants", type=Path, default=VARIANTS)
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run / render only these variants")
    p.add_argument("--loop", type=Path, default=LOOP, help="the loop config whose finetune section the variants change")
    p.add_argument("--episodes", type=int, default=100, help="evaluation chains per variant")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--notes", type=Path, default=None, help="a text file of the reading (kept in the JSON)")
    args = p.parse_args(argv)
    raw, given = list(sys.argv[1:] if argv is None else argv), []
    while raw:  # the command that made the numbers: without the reading (--notes FILE)
        a = raw.pop(0)
        if a == "--notes":
            raw = raw[1:]
        else:
            given.append(a)
    if args.what == "run":
        if args.session is None or args.run is None:
            p.error("run needs --session and --run")
        import torch

        torch.set_num_threads(1)
        run(args)
        args.command = "python experiments/tabletop/corrections_ablation.py " + shlex.join(given)
        res = collect(args)
    else:  # from the JSON alone
        if not args.results.is_file():
            p.error(f"{args.results}: no results to render yet (run first)")
        res = json.loads(args.results.read_text())
    old = json.loads(args.results.read_text()) if args.results.is_file() else {}
    res["notes"] = args.notes.read_text().splitlines() if args.notes else old.get("notes", [])
    atomic_write_json(args.results, res)
    atomic_write_text(args.results.with_suffix(".md"), render(res, res["notes"], args.results))
    print(args.results.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
