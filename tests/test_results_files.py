"""Every RESULTS*.md and CORRECTIONS*.md under experiments/ has its results JSON beside it, with the same table cells."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fixtures.scripts import load_experiment_script



def _tables() -> Any:
    return load_experiment_script("results_tables.py", "results_tables")


PAGE = """# Title

## Section A

| agent | success |
|---|---|
| flat | 0.13 ± 0.06 |
| hier | 0.56 |

text | not a table

## Section B
| a | b |
|:-:|---|
| 1 | 2 |
"""


def test_markdown_tables_reads_cells_under_their_headings() -> None:
    tables = _tables().markdown_tables(PAGE)
    assert tables == [
        {"section": "Section A", "columns": ["agent", "success"],
         "rows": [{"agent": "flat", "success": "0.13 ± 0.06"}, {"agent": "hier", "success": "0.56"}]},
        {"section": "Section B", "columns": ["a", "b"], "rows": [{"a": "1", "b": "2"}]},
    ]


def test_check_page_names_a_missing_json_and_a_changed_cell(tmp_path: Path) -> None:
    rt = _tables()
    md = tmp_path / "RESULTS-x.md"
    md.write_text(PAGE)
    assert rt.check_page(md) == [f"{md}: no results JSON beside it (RESULTS-x.json)"]
    (tmp_path / "RESULTS-x.json").write_text(json.dumps({"tables": rt.markdown_tables(PAGE)}))
    assert rt.check_page(md) == []
    md.write_text(PAGE.replace("0.56", "0.65"))
    assert rt.check_page(md) == [f"{md}: table 1 (under 'Section A') differs from RESULTS-x.json"]


def test_every_committed_results_page_has_its_json() -> None:
    assert _tables().check_all() == []
