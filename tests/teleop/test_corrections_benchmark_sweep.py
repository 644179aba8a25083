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


def _report(path: Path, lengths: list[int]) -> None:
    """A one-agent report.json whose chain i (seed 100000 + i) completed lengths[i] of 5 subtasks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    detail = [{"seed": 100000 + i, "completed": ["x"] * n, "success": n == 5} for i, n in enumerate(lengths)]
    path.write_text(json.dumps({"policies": {"hier_language+adapt": {"episodes_detail": detail}}}))


def test_paired_differences_are_chain_by_chain_against_the_seeds_base(tmp_path: Path) -> None:
    bench = load_experiment_script("corrections_benchmark.py", "corrections_benchmark_script")
    out = tmp_path / "bench"
    per = {"base (no intervention)": {0: {"round": 0}, 1: {"round": 0}},
           "language 30": {0: {"round": 2}, 1: {"round": 2}},
           "expert demos 30": {0: {"demos": 30}}}
    _report(out / "seed0/corrections_language/eval/round0/report.json", [5, 2, 5, 0])
    _report(out / "seed1/corrections_language/eval/round0/report.json", [1, 1])
    _report(out / "seed0/corrections_language/eval/round2/report.json", [5, 5, 5, 1])  # +4 subtasks, +1 success
    _report(out / "seed1/corrections_language/eval/round2/report.json", [5, 1])  # +4, +1
    _report(out / "seed0/demos30/eval/report.json", [4, 2, 5, 0])  # -1, -1
    paired = bench.paired_vs_base(out, per)
    assert set(paired) == {"language 30", "expert demos 30"}
    lang = paired["language 30"]
    assert lang["success"]["n"] == 6 and lang["success"]["mean"] == round(2 / 6, 4)
    assert lang["avg_chain_length"]["mean"] == round(8 / 6, 4)
    assert lang["success_per_seed"]["1"]["mean"] == 0.5 and lang["success_per_seed"]["0"]["n"] == 4
    assert paired["expert demos 30"]["success"]["mean"] == -0.25


def test_render_writes_the_page_from_its_json_alone(tmp_path: Path) -> None:
    bench = load_experiment_script("corrections_benchmark.py", "corrections_benchmark_script")
    res = {"command": "python experiments/corrections_benchmark.py --seeds 0", "reproduce": "R", "seeds": [0],
           "low_run": "L{seed}", "base_demos": 200, "loop_file": "experiments/tabletop/corrections_loop_redo.yaml",
           "loop": {"eval_episodes": 200, "corrector": {"reaction_steps": 10, "miss_rate": 0.1, "paraphrase": 0.2,
                                                        "stall_steps": 150, "takeover_steps": 200}},
           "rows": {"base (no intervention)": {"seeds": [0], "success_rate": {"mean": 0.5, "std": 0.0},
                                               "avg_chain_length": {"mean": 3.5, "std": 0.0}},
                    "language 30": {"seeds": [0], "success_rate": {"mean": 0.55, "std": 0.0},
                                    "avg_chain_length": {"mean": 3.6, "std": 0.0},
                                    "paired_vs_base": {"success": {"mean": 0.05, "ci95": [-0.01, 0.11], "n": 200},
                                                       "avg_chain_length": {"mean": 0.1, "ci95": [-0.1, 0.3], "n": 200}}}}}
    path = tmp_path / "CORRECTIONS-x.json"
    path.write_text(json.dumps(res))
    assert bench.main(["--render", str(path)]) == 0
    page = path.with_suffix(".md").read_text()
    assert "[CORRECTIONS-x.json](CORRECTIONS-x.json)" in page and "corrections_loop_redo.yaml" in page
    assert "| language 30 | 1 | 0.55 ± 0.00 | - | +0.05 [-0.01, +0.11] | 3.60 ± 0.00 | +0.10 [-0.10, +0.30] |" in page
