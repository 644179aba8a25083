"""experiments/corrections_benchmark.py runs each ready seed as one trial of hirl.benchmarks.tune.run_trials (the
local backend here; tests/test_ray.py covers the Ray backend of the same function) and skips unready seeds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.scripts import load_experiment_script


def test_each_ready_seed_is_one_trial_then_the_tables_are_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_experiment_script("corrections_benchmark.py", "corrections_benchmark_script")
    out, low = tmp_path / "bench", tmp_path / "low{seed}"
    for s in (0, 2):  # seed 1 has no base run: skipped with a message
        (out / f"seed{s}" / "base" / "models" / "high_language").mkdir(parents=True)
    for s in (0, 1, 2):
        (tmp_path / f"low{s}" / "models" / "low_language").mkdir(parents=True)
    ran: list[tuple[int, Path, Path, list[str]]] = []
    monkeypatch.setattr(bench, "run_seed", lambda seed, o, lo, loop, modes, deploy=None: ran.append((seed, o, lo, modes)))
    monkeypatch.setattr(bench, "collect", lambda o, seeds, *a: {"seeds": list(seeds), "rows": {}})
    monkeypatch.setattr(bench, "render", lambda res, name: f"# {len(ran)} trials\n")
    results = tmp_path / "CORRECTIONS.json"
    argv = ["--seeds", "0", "1", "2", "--out", str(out), "--low-run", str(low), "--modes", "language",
            "--results", str(results), "--backend", "local"]
    assert bench.main(argv) == 0
    assert [(s, o, lo, m) for s, o, lo, m in ran] == [(0, out.resolve(), (tmp_path / "low0").resolve(), ["language"]),
                                                      (2, out.resolve(), (tmp_path / "low2").resolve(), ["language"])]
    assert "seed 1: train base first" in capsys.readouterr().err
    assert json.loads(results.read_text())["seeds"] == [0, 1, 2]
    assert results.with_suffix(".md").read_text() == "# 2 trials\n"


def test_ray_options_need_the_ray_backend(tmp_path: Path) -> None:
    bench = load_experiment_script("corrections_benchmark.py", "corrections_benchmark_script")
    with pytest.raises(SystemExit):
        bench.main(["--out", str(tmp_path), "--address", "auto"])
