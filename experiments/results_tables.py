"""The Markdown tables of a hand-written RESULTS*.md and the results JSON beside it, kept cell for cell the same.

Some results pages (experiments/maze/RESULTS.md, experiments/tabletop/RESULTS-rl.md) were written from runs whose
raw per-seed files were not kept; their JSON holds every table of the page as ``{"section", "columns", "rows"}``.
This module is the one parser of those tables:

    python experiments/results_tables.py extract experiments/tabletop/RESULTS-rl.md --what "..." --source "..."
    python experiments/results_tables.py check                       # every RESULTS*.md / CORRECTIONS*.md

``check`` exits 1 with one line per mismatch: a RESULTS*.md without a JSON beside it, or (for table JSONs) a table
whose cells differ from the JSON. Pages rendered by a benchmark script (their JSON has no ``tables`` key) are only
checked for the JSON's presence; their own tests check the numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXPERIMENTS = Path(__file__).resolve().parent


def _cells(line: str) -> list[str]:
    """``| a | b |`` -> ``["a", "b"]``."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_rule(line: str) -> bool:
    """The ``|---|---|`` line under a table header."""
    return all(set(c) <= set("-: ") and c for c in _cells(line))


def markdown_tables(text: str) -> list[dict[str, Any]]:
    """Every pipe table of a Markdown page, each with the heading it sits under.

    Returns a list of ``{"section": str, "columns": [str] * C, "rows": [{column: cell}] * R}`` in page order.
    """
    tables: list[dict[str, Any]] = []
    section = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if line.lstrip().startswith("|") and i + 1 < len(lines) and lines[i + 1].lstrip().startswith("|") \
                and _is_rule(lines[i + 1]):
            columns = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = _cells(lines[i])
                if len(cells) != len(columns):
                    raise ValueError(f"table under {section!r}: row {cells} has {len(cells)} cells, header {len(columns)}")
                rows.append(dict(zip(columns, cells, strict=True)))
                i += 1
            tables.append({"section": section, "columns": columns, "rows": rows})
            continue
        i += 1
    return tables


def check_page(md: Path) -> list[str]:
    """One line per problem with ``md`` and the JSON beside it (``RESULTS-x.md`` -> ``RESULTS-x.json``)."""
    js = md.with_suffix(".json")
    if not js.exists():
        return [f"{md}: no results JSON beside it ({js.name})"]
    data = json.loads(js.read_text())
    if "tables" not in data:
        return []
    want, have = data["tables"], markdown_tables(md.read_text())
    if len(want) != len(have):
        return [f"{md}: {len(have)} tables in the page, {len(want)} in {js.name}"]
    problems = []
    for k, (w, h) in enumerate(zip(want, have, strict=True)):
        if w != h:
            problems.append(f"{md}: table {k + 1} (under {h['section']!r}) differs from {js.name}")
    return problems


def check_all(root: Path = EXPERIMENTS) -> list[str]:
    """Problems of every ``RESULTS*.md`` and ``CORRECTIONS*.md`` under ``root``."""
    pages = sorted([*root.rglob("RESULTS*.md"), *root.rglob("CORRECTIONS*.md")])
    return [p for md in pages for p in check_page(md)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("extract", help="write the JSON of a hand-written page's tables")
    ex.add_argument("page", type=Path)
    ex.add_argument("--what", required=True, help="what the JSON holds")
    ex.add_argument("--source", required=True, help="where the numbers came from")
    sub.add_parser("check", help="check every RESULTS*.md under experiments/")
    args = ap.parse_args(argv)
    if args.cmd == "extract":
        out = args.page.with_suffix(".json")
        out.write_text(json.dumps({"what": args.what, "source": args.source,
                                   "tables": markdown_tables(args.page.read_text())}, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {out}")
        return 0
    problems = check_all()
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
