"""The low-level head study: train the language low level once per head variant on the same dataset, evaluate
each under the expert's high level (`oracle_high`: the low level alone), and write heads.json + the Markdown table
rendered from it (docs/imitation.md, "Low-level heads").

    python experiments/tabletop/heads_study.py --data runs/data/tabletop-600 --out runs/heads          # train + eval
    python experiments/tabletop/heads_study.py --data runs/data/tabletop-600 --out runs/heads --only mlp chunk10
    python experiments/tabletop/heads_study.py --out runs/heads --report-only                         # table only

Each variant is `hirl train experiments/tabletop/heads.yaml --out OUT/<name> dataset=DATA <train overrides>` and
`hirl eval OUT/<name> --agents oracle_high --episodes 100 [--out OUT/<name>/eval-<tag> <inference overrides>]`
(inference-only head fields such as `head.execution=ensemble` re-use the trained weights). Finished pieces are
skipped, so an interrupted study resumes.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from hirl.fileio import atomic_write_json

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "heads.yaml"
CHUNK10 = ["head.kind=chunk", "head.horizon=10", "head.execute=5"]

# name -> (training overrides, {eval tag: inference overrides}); tag "" = the trained head as configured
VARIANTS: dict[str, tuple[list[str], dict[str, list[str]]]] = {
    "mlp": ([], {"": []}),
    "mlp_obs": (["obs_keys=[observation]"], {"": []}),
    "mlp_bin": (["head.grip=binary"], {"": []}),
    "mlp_30k": (["train.low.max_steps=30000"], {"": []}),
    "chunk5": (["head.kind=chunk", "head.horizon=5", "head.execute=3"],
               {"": [], "ensemble": ["head.execution=ensemble"], "exec1": ["head.execute=1"]}),
    "chunk10": (CHUNK10, {"": [], "ensemble": ["head.execution=ensemble"], "exec1": ["head.execute=1"]}),
    "chunk20": (["head.kind=chunk", "head.horizon=20", "head.execute=10"], {"": []}),
    "chunk10_h2": ([*CHUNK10, "head.history=2"], {"": []}),
    "chunk10_bin": ([*CHUNK10, "head.grip=binary"], {"": []}),
    "chunk10_l1": ([*CHUNK10, "head.loss=l1"], {"": []}),
    "chunk10_vel": ([*CHUNK10, "obs_keys=[observation,touch,velocity]"], {"": []}),
    "diffusion10": (["head.kind=diffusion", "head.horizon=10", "head.execute=5"], {"": []}),
}
EPISODES = 100  # evaluation chains per variant (seeds 100000...)
FAMILIES = ("pick", "stack", "place", "drawer", "light", "button")


def _family(subtask: str) -> str:
    """Subtask instruction -> its family column ("open the drawer" -> drawer, "turn on the light" -> light)."""
    for f in FAMILIES:
        if f in subtask:
            return f
    raise ValueError(f"subtask {subtask!r} has no family in {FAMILIES}")


def _hirl(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "hirl.cli", *args], check=True)


def run_variant(name: str, data: Path, out: Path) -> None:
    """Train (unless trained) and evaluate (each missing eval tag) one variant."""
    train, evals = VARIANTS[name]
    run = out / name
    if not (run / "train_summary.json").is_file():
        _hirl("train", str(CONFIG), "--out", str(run), f"dataset={data}", *train)
    for tag, overrides in evals.items():
        dst = run / (f"eval-{tag}" if tag else "eval")
        if not (dst / "report.json").is_file():
            _hirl("eval", str(run), "--agents", "oracle_high", "--episodes", str(EPISODES), "--out", str(dst), *overrides)


def row(name: str, tag: str, out: Path) -> dict[str, Any] | None:
    """One table row from OUT/<name>/config.yaml, train_summary.json and eval[-tag]/report.json (None if missing)."""
    run = out / name
    report = run / (f"eval-{tag}" if tag else "eval") / "report.json"
    if not report.is_file():
        return None
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    m = json.loads(report.read_text())["policies"]["oracle_high"]
    trained = json.loads((run / "train_summary.json").read_text())["components"]["low_language"]
    head = dict(cfg.get("head") or {})
    for o in VARIANTS[name][1][tag]:
        key, value = o.split("=", 1)
        head[key.split(".", 1)[1]] = yaml.safe_load(value)
    fam: dict[str, list[int]] = {f: [0, 0] for f in FAMILIES}
    for subtask, c in m["per_subtask"].items():
        fam[_family(subtask)][0] += c["completed"]
        fam[_family(subtask)][1] += c["attempted"]
    lat = m["latency"]
    return {"variant": name + (f" ({tag})" if tag else ""), "train_overrides": VARIANTS[name][0],
            "eval_overrides": VARIANTS[name][1][tag], "head": head, "obs_keys": cfg["obs_keys"],
            "avg_chain_length": m["avg_chain_length"], "success_rate": m["success_rate"],
            "first_subtask": m["success_at_length"].get("1"),
            "subtasks": [sum(v[0] for v in fam.values()), sum(v[1] for v in fam.values())],
            "families": fam, "per_subtask": m["per_subtask"],
            "step_ms": lat["low_level_step_ms"], "head_step_ms": lat.get("inference_step_ms"),
            "head_share": lat.get("inference_share"), "train_seconds": trained["seconds"],
            "train_steps": trained["steps"], "best_val_loss": trained["best_val_loss"]}


def _execution(h: dict[str, Any]) -> str:
    if h.get("kind", "mlp") == "mlp":
        return "every step"
    return "ensemble" if h.get("execution") == "ensemble" else f"receding n={h.get('execute', 1)}"


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| variant | head | H | execution | history | grip | loss | obs_keys | avg chain length | 5/5 | "
             "subtasks | " + " | ".join(FAMILIES) + " | step ms p50 / p99 | head-step ms p50 / p99 | head share | train s |",
             "|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(FAMILIES) + "---|---|---|---|"]
    for r in rows:
        h, (done, tried) = r["head"], r["subtasks"]
        lat = "{p50:.2f} / {p99:.2f}"
        lines.append(
            f"| {r['variant']} | {h.get('kind', 'mlp')} | {h.get('horizon', 1)} | {_execution(h)} | {h.get('history', 1)} | "
            f"{h.get('grip', 'regress')} | {h.get('loss', 'mse') if h.get('kind') != 'diffusion' else 'noise mse'} | "
            f"{', '.join(r['obs_keys'])} | {r['avg_chain_length']:.2f} | {r['success_rate']:.2f} | "
            f"{done / tried:.3f} ({done}/{tried}) | "
            + " | ".join(f"{a}/{b}" for a, b in r["families"].values())
            + f" | {lat.format(**r['step_ms'])} | {lat.format(**r['head_step_ms']) if r['head_step_ms'] else '-'} | "
            f"{r['head_share']:.2f} | {r['train_seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="the dataset every variant trains on (600 episodes)")
    p.add_argument("--out", type=Path, required=True, help="study directory (one run per variant)")
    p.add_argument("--only", nargs="+", choices=sorted(VARIANTS), help="variants to run (default: all)")
    p.add_argument("--report-only", action="store_true", help="only write heads.json and print the table")
    p.add_argument("--json", type=Path, default=HERE / "heads.json", help="where the rows go")
    args = p.parse_args(argv)
    if not args.report_only:
        if args.data is None:
            p.error("--data is required unless --report-only")
        for name in args.only or VARIANTS:
            run_variant(name, args.data, args.out)
    rows = [r for name, (_, evals) in VARIANTS.items() for tag in evals if (r := row(name, tag, args.out))]
    what = "head study: the language low level under oracle_high, one row per head variant, same data and budget"
    rows_made_by = ("per row: hirl train experiments/tabletop/heads.yaml --out OUT/<variant> dataset=DATA <train_overrides>; "
                    "hirl eval OUT/<variant> --agents oracle_high --episodes 100 [--out OUT/<variant>/eval-<tag>] "
                    "<eval_overrides> (what this script runs without --report-only)")
    atomic_write_json(args.json, {"what": what, "config": str(CONFIG.relative_to(HERE.parent.parent)), "episodes": EPISODES,
                                  "command": " ".join(["python", *sys.argv]), "rows_made_by": rows_made_by, "rows": rows})
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
