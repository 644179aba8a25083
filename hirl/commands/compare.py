"""`hirl compare [LABEL=]SOURCE ... [--agents A ...] [--out DIR]`: evaluation reports of runs, demos or benchmark seed
folders in one table and one plot, mean ± std over seeds and each seed's value (hirl.eval.compare); diagnoses
(diagnosis.json) side by side. Writes DIR/compare.md, DIR/compare.json and DIR/compare.png (default DIR:
runs/compare-<time>, hirl.commands.arguments)."""
from __future__ import annotations

import argparse
from pathlib import Path

from hirl.commands.arguments import COMPARISON_FILE
from hirl.errors import InputError
from hirl.eval.compare import compare, compare_markdown, is_diagnosis, plot_compare, read_sources, split_label
from hirl.fileio import atomic_write_json, atomic_write_text


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    labelled = [split_label(s) for s in args.sources]
    if any(is_diagnosis(path) for _, path in labelled):
        text, data = _diagnoses(labelled, args)
    else:
        data = compare(read_sources(args.sources), args.agents)
        text = compare_markdown(data)
        plot_compare(data, out / "compare.png")
    atomic_write_json(out / COMPARISON_FILE, data)
    atomic_write_text(out / "compare.md", text)
    print(text, end="")
    print(f"table: {out / 'compare.md'}  data: {out / COMPARISON_FILE}"
          + ("" if "summaries" in data else f"  plot: {out / 'compare.png'}"))
    return 0


def _diagnoses(labelled: list[tuple[str, str]], args: argparse.Namespace) -> tuple[str, dict]:
    """The side-by-side table of diagnoses (every source one: diagnosis.json or its folder) and their summaries."""
    from hirl.eval.diagnose import read_summary, side_by_side

    for source, (label, path) in zip(args.sources, labelled, strict=True):
        if not is_diagnosis(path):
            raise InputError(f"{source}: not a diagnosis (no diagnosis.json); diagnoses compare only with diagnoses")
        if [lbl for lbl, _ in labelled].count(label) > 1:
            raise InputError(f"{source}: label {label!r} given twice; a diagnosis has no seeds to pool")
    if args.agents:
        raise InputError("--agents: a diagnosis holds one agent (python -m hirl.eval.diagnose RUN --agent NAME)")
    summaries = {label: read_summary(path) for label, path in labelled}
    return side_by_side(summaries), {"summaries": summaries}
