"""The RESULTS-skills pages are rendered from their results JSON: re-rendering the committed JSON gives the committed
Markdown byte for byte (a number edited in one of them and not the other fails here), and the summaries in the JSON are
what the gather step computes from the rows it holds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.scripts import load_experiment_script

SCRIPTS = {"tabletop": "tabletop/skills_results.py", "maze": "maze/skills_results.py"}


@pytest.mark.parametrize("page", sorted(SCRIPTS))
def test_page_is_the_rendering_of_its_json(page):
    mod = load_experiment_script(SCRIPTS[page], f"{page}_skills_results")
    data = mod.PAGE.load()
    assert mod.PAGE.base.with_suffix(".md").read_text() == mod.PAGE.render(data)
    for i, _ in enumerate(data.get("curriculum") or []):  # the curriculum figures the page shows are committed
        assert mod.PAGE.figure(i).is_file()


def test_maze_summary_is_gathered_from_its_rows(tmp_path: Path) -> None:
    mod = load_experiment_script(SCRIPTS["maze"], "maze_skills_results")
    data = mod.PAGE.load()
    raw = tmp_path / "diayn_maze.json"
    raw.write_text(json.dumps({"layout": data["layout"], "start_cell": data["start_cell"], "rows": data["rows"],
                               "command": "python experiments/maze/diayn.py --out X"}))
    built = mod.build_maze([raw])
    assert built["summary"] == data["summary"] and built["commands"] == ["python experiments/maze/diayn.py --out X"]


def test_tabletop_diayn_sections_are_gathered_from_their_rows(tmp_path: Path) -> None:
    mod = load_experiment_script(SCRIPTS["tabletop"], "tabletop_skills_results")
    data = mod.PAGE.load()
    cov, down = tmp_path / "diayn_tabletop.json", tmp_path / "diayn_tabletop_downstream.json"
    d = data["diayn_gripper"]
    cov.write_text(json.dumps({"voxel_m": d["voxel_m"], "rows": d["rows"], "command": "cov"}))
    down.write_text(json.dumps({"rows": data["diayn_gripper_downstream"]["rows"], "command": "down"}))
    assert mod.build_diayn(cov) == ("cov", d)
    assert mod.build_downstream(down) == ("down", data["diayn_gripper_downstream"])
