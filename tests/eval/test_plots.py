"""Every matplotlib figure hirl writes (the eval report's chain-success and per-subtask plots, the RL benchmark's
learning curves) has a title, integer ticks on axes that count things, and its legend outside the axes, where it cannot
cover data; the chain-success plot has an interval band (Wilson over chains, min-max over seeds), the per-subtask
chart one bar per agent and subtask with its interval."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
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


def _bands(fig: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(low, high) at each x of every fill_between band of the figure's axes, from the band polygons' vertices."""
    out = []
    for coll in fig.axes[0].collections:
        v = coll.get_paths()[0].vertices
        xs = np.unique(v[:, 0])
        out.append((np.array([v[v[:, 0] == x, 1].min() for x in xs]), np.array([v[v[:, 0] == x, 1].max() for x in xs])))
    return out


def test_chain_success_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = captured(monkeypatch, report_module)
    report = {"env": "toy", "episodes": 4, "chain_length": 2,
              "policies": {"hier": metrics(RESULTS), "flat": metrics(RESULTS[:1])}}
    assert report_module.plot_chain_success([report], tmp_path / "p.png").stat().st_size > 0
    check(figures[0])
    assert "toy" in figures[0][4][0] and "Wilson" in figures[0][4][0]
    bands = _bands(figures[0][0])
    assert len(bands) == 2  # one band per agent: the 95 % Wilson interval of 4 chains is wide
    low, high = bands[0]
    assert np.all(high - low > 0.3)


def test_chain_success_plot_over_seeds_has_min_max_bands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = captured(monkeypatch, report_module)
    seeds = [{"env": "toy", "episodes": 4, "chain_length": 2, "policies": {"hier": metrics(r)}}
             for r in (RESULTS, RESULTS[:2], RESULTS[2:])]
    report_module.plot_chain_success(seeds, tmp_path / "p.png")
    check(figures[0])
    assert "3 seeds" in figures[0][4][0] and "min-max" in figures[0][4][0]
    rates = np.array([[s["policies"]["hier"]["success_at_length"][k] for k in ("1", "2")] for s in seeds])
    (low, high), = _bands(figures[0][0])
    assert np.allclose(low, rates.min(axis=0)) and np.allclose(high, rates.max(axis=0))
    line = figures[0][0].axes[0].get_lines()[0]
    assert np.allclose(line.get_ydata(), rates.mean(axis=0))


def test_subtask_success_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = captured(monkeypatch, report_module)
    report = {"env": "toy", "episodes": 4, "chain_length": 2,
              "policies": {"hier": metrics(RESULTS), "flat": metrics(RESULTS[:1])}}
    assert report_module.plot_subtask_success([report, report], tmp_path / "s.png").stat().st_size > 0
    fig, _, legends, axes, titles = figures[0]
    assert "per-subtask success" in titles[0] and "2 seeds" in titles[0]
    assert legends[0].x0 >= axes[0].x1
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    from matplotlib.container import BarContainer, ErrorbarContainer

    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    bars = {name: [p.get_width() for p in c] for name, c in zip(("hier", "flat"), containers, strict=True)}
    assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) == 2  # each agent's bars have intervals
    assert bars == {"hier": pytest.approx([2 / 3, 1 / 3, 1.0]), "flat": pytest.approx([1.0, 1.0, 0.0])}
    assert "4/6" in [t.get_text() for t in ax.texts]  # the counts summed over both reports
    no_chains = {"env": "maze", "episodes": 1, "policies": {"a": {"per_subtask": {}}}}
    assert report_module.plot_subtask_success([no_chains], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


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
