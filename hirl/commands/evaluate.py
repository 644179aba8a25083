"""`hirl eval RUN [--episodes N] [--agents A ...] [--instruction-map FILE [--ground]] [key=value ...]`: every agent of a
trained run (imitation or RL) on the same episodes; report.json, summary.md (chain metrics, per-subtask success, the
per-phrasing table of an instruction map), chain_success.png, subtask_success.png and videos (each agent's first
episode and first failed one) in RUN/eval (or --out)."""
from __future__ import annotations

import argparse
from pathlib import Path

from hirl.eval.evaluate import evaluate_run
from hirl.eval.report import summary_markdown
from hirl.fileio import atomic_write_text
from hirl.runs import RunDir
from hirl.runs.agents import check_agent_names


def run(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run).require()
    out = Path(args.out) if args.out else run_dir.eval_dir
    if args.agents:
        check_agent_names(run_dir, args.agents)
    if args.ground and not args.instruction_map:
        raise SystemExit("hirl eval: --ground grounds an instruction map's phrasings; give the map with "
                         "--instruction-map FILE")
    report = evaluate_run(run_dir, args.agents or None, args.episodes, out, args.overrides,
                          instruction_map=args.instruction_map, ground_map=args.ground)
    summary = summary_markdown(report)
    atomic_write_text(out / "summary.md", summary)
    print(summary)
    print(f"report: {out / 'report.json'}  plots: {', '.join(report['plots'])}  videos: {out / 'videos'}")
    return 0
