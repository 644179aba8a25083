"""Every matplotlib figure hirl writes (the eval report's chain-success plot, the RL benchmark's learning curves) has
a title, integer ticks on axes that count things, and its legend outside the axes, where it cannot cover data."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import pytest

from hirl.eval import report as report_module
from tests.eval.test_report import RESULTS, metrics

matplotlib.use("Agg")


def captured(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[Any]:
    """The figures module passes to save_figure (still written, so the PNG path is exercised too)."""
    figures: list[Any] = []
    real = report_module.save_figure

    def keep(fig: Any, path: Path) -> Path:
        fig.canvas.draw()
        figures.append((fig, [ax.get_xticks() for ax in fig.axes], [ax.get_legend().get_window_extent() for ax in fig.axes],
                        [ax.get_window_extent() for ax in fig.axes], [ax.get_title() for ax in fig.axes]))
        return real(fig, path)

    monkeypatch.setattr(module, "save_figure", keep)
    return figures


def check(figure: Any) -> None:
    _, ticks, legends, axes, titles = figure
    assert all(titles)
    for t in ticks:
        assert all(float(x).is_integer() for x in t), t  # no 1.5 subtasks, no 2500.5 env steps
    for legend, ax in zip(legends, axes, strict=True):
        assert legend.x0 >= ax.x1  # right of the axes: it covers no data


def test_chain_success_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = captured(monkeypatch, report_module)
    report = {"env": "toy", "episodes": 4, "chain_length": 2,
              "policies": {"hier": metrics(RESULTS), "flat": metrics(RESULTS[:1])}}
    assert report_module.plot_report(report, tmp_path / "p.png").stat().st_size > 0
    check(figures[0])
    assert "toy" in figures[0][4][0]


def test_rl_learning_curves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hirl.benchmarks import rl as rl_bench
    from tests.rl.test_benchmark import result

    def stage(steps: int, points: list[tuple[int, float]]) -> dict[str, Any]:
        return {"env_steps": steps, "train_seconds": 1.0, "env_steps_per_s": 1.0,
                "curve": [{"env_steps": x, "success_rate": y} for x, y in points]}

    results = [result("hier", s, {"low": stage(2500, [(1250, 0.1), (2500, 0.2)]), "high": stage(2500, [(2500, 0.4)])},
                      {}) for s in (0, 1)]
    results.append(result("flat", 0, {"flat": stage(5000, [(2500, 0.1), (5000, 0.3)])}, {}))
    figures = captured(monkeypatch, rl_bench)
    assert rl_bench.plot_curves(results, tmp_path / "c.png", title="Maze").stat().st_size > 0
    check(figures[0])
    assert figures[0][4][0].startswith("Maze: task success vs environment steps")
