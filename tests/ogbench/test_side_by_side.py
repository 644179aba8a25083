"""experiments/ogbench/side_by_side.py's bookkeeping (no training): which results are finished, partial results kept
out of the table, the table's per-seed numbers and intervals, and the hirl side's argument checks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest



def _result(path: Path, side: str, checkpoints: list[tuple[int, float]], rate: float = 100.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"side": side, "steady_steps_per_s": rate, "checkpoints": [
        {"steps": s, "success": v, "per_task": {"1": v, "2": 0.0}, "train_seconds": 1.0} for s, v in checkpoints]}))


def test_finished_steps_partial_results_and_the_table(sbs, tmp_path: Path) -> None:
    runs, ds = tmp_path / "runs", "pointmaze-large-navigate-v0"
    final = sbs.result_path(runs, "hirl", "gcbc", ds, 0)
    assert sbs.finished_steps(final) == set()
    _result(final, "hirl", [(10_000, 0.2), (30_000, 0.4)])
    _result(sbs.result_path(runs, "hirl", "gcbc", ds, 1), "hirl", [(10_000, 0.4), (30_000, 0.6)])
    _result(sbs.result_path(runs, "reference", "gcbc", ds, 0), "reference", [(30_000, 0.1)], rate=250.0)
    _result(sbs.partial_path(sbs.result_path(runs, "hirl", "gciql", ds, 0)), "hirl", [(10_000, 0.9)])  # running
    assert sbs.finished_steps(final) == {10_000, 30_000}
    assert sbs.partial_path(final).name == "gcbc-seed0.partial.json"
    table = sbs.render(runs)
    assert set(table[ds]) == {"gcbc"}  # the partial gciql result is not in the table
    cell = table[ds]["gcbc"]["30000"]["hirl"]
    assert cell["per_seed"] == {"0": 40.0, "1": 60.0} and cell["mean"] == 50.0
    assert cell["ci95"] == [pytest.approx(50 - 19.6, abs=0.1), pytest.approx(50 + 19.6, abs=0.1)]  # 1.96 s / sqrt(2)
    assert table[ds]["gcbc"]["30000"]["reference"]["steps_per_s"] == {"0": 250.0}
    assert table[ds]["gcbc"]["30000"]["reference"]["ci95"] is None  # one seed: no interval
    assert sbs.plot_curves(table, tmp_path / "curves.png") and (tmp_path / "curves.png").stat().st_size > 1000
    assert not sbs.plot_curves({ds: {"gcbc": {"30000": table[ds]["gcbc"]["30000"]}}}, tmp_path / "none.png")
    budget = {"batch": 256, "hidden": [256] * 3, "episodes_per_task": 50}
    page = sbs.markdown({"command": "c", "table": table, "budget": budget})
    assert "| gcbc | 30000 | reference | 10.0 | 10.0 | - (1 seed) |" in page


def test_hirl_side_argument_checks(sbs) -> None:
    with pytest.raises(SystemExit):
        sbs.main(["hirl", "--network", "normalize=false"])  # a variant needs its own --side
    with pytest.raises(SystemExit):
        sbs.main(["hirl", "--network", "normalize", "--side", "hirl-raw"])  # FIELD=VALUE
    with pytest.raises(SystemExit):
        sbs.main(["reference", "--impls", "x", "--side", "hirl-raw"])  # the reference has no variants


def test_speed_results_render_as_their_own_section(sbs, tmp_path: Path) -> None:
    runs, ds = tmp_path / "runs", "pointmaze-large-navigate-v0"
    assert sbs.render_speed(runs) == {} and sbs.speed_markdown({}) == []
    sbs._write(sbs.speed_path(runs, "gcivl", ds), {
        "method": "gcivl", "dataset": ds, "steps": 600, "steps_per_s": {"reference": [50.0, 60.0], "hirl": [45.0, 66.0]},
        "ratio_per_block": [0.9, 1.1], "ratio_median": 1.0})
    speed = sbs.render_speed(runs)
    assert set(speed[ds]) == {"gcivl"}
    assert sbs.render(runs) == {}  # speed files are not seed results
    page = sbs.markdown({"command": "c", "table": {}, "budget": {"batch": 256, "hidden": [256] * 3,
                                                                 "episodes_per_task": 50}, "speed": speed})
    assert f"| {ds} | gcivl | 600 | 50.0, 60.0 | 45.0, 66.0 | **1.00** |" in page


def test_speed_modes_need_the_reference(sbs) -> None:
    with pytest.raises(SystemExit):
        sbs.main(["speed", "--methods", "gcbc"])  # needs --impls and --ref-python
    with pytest.raises(SystemExit):
        sbs.main(["reference-speed", "--method", "gcbc"])  # needs --impls
