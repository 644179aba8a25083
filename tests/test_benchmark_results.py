"""experiments/benchmark.py writes RESULTS.json beside RESULTS.md, and every number of the Markdown comes from it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fixtures.scripts import load_experiment_script

import pytest



def _benchmark() -> Any:
    return load_experiment_script("benchmark.py", "imitation_benchmark")


def _metrics(avg: float, done: int, tried: int, p99: float) -> dict[str, Any]:
    return {"avg_chain_length": avg, "success_rate": avg / 5, "success_at_length": {str(k): 1.0 / k for k in range(1, 6)},
            "high_level_queries_per_episode": 3.0, "subgoal_reach_rate": 0.5,
            "per_subtask": {"pick up the red block": {"attempted": tried, "completed": done, "success": done / tried}},
            "latency": {"control_step_ms": {"p50": 0.2, "p99": p99}, "low_level_step_ms": {"p50": 0.2, "p99": p99},
                        "inference_step_ms": {"p50": 0.3, "p99": p99}, "inference_share": 0.2,
                        "high_level_query_ms": None, "steps_over_budget": 0.0}}


def test_results_json_beside_markdown_holds_its_numbers(tmp_path: Path) -> None:
    bench = _benchmark()
    out = tmp_path / "bench"
    for seed, (avg, done, p99) in enumerate([(4.0, 9, 0.4), (3.0, 7, 0.6)]):
        d = out / f"seed{seed}"
        d.mkdir(parents=True)
        report = {"env": "hirl/Tabletop-v0", "episodes": 100, "seed": 100_000, "chain_length": 5,
                  "wall_seconds": 10.0 * (seed + 1),
                  "policies": {"hier_language": _metrics(avg, done, 10, p99)},
                  "train_summary": {"components": {"low_language": {"seconds": 0.1}}}}  # a resumed run's last invocation
        (d / "report.json").write_text(json.dumps(report))
        times = [10.0, 60.0, 5.0, 40.0] if seed == 0 else [50.0, 101.0]  # seed 0: interrupted after 60 s, resumed
        for net in ("low_language", "cot"):  # cot: a training left over from an earlier invocation, not in the summary
            (d / "train" / net).mkdir(parents=True, exist_ok=True)
            (d / "train" / net / "metrics.csv").write_text(
                "step,split,time,loss\n" + "".join(f"{i},train,{t},0.1\n" for i, t in enumerate(times)))
    results = tmp_path / "RESULTS-x.md"
    notes = tmp_path / "notes.md"
    notes.write_text("## Notes\n\nhow the seeds ran\n")
    bench.write_results(Path("cfg.yaml"), out, "python experiments/benchmark.py cfg.yaml", results, notes)
    res = json.loads((tmp_path / "RESULTS-x.json").read_text())
    agent = res["agents"]["hier_language"]
    assert res["seeds"] == [0, 1]
    assert agent["avg_chain_length"] == {"mean": 3.5, "std": 0.5, "per_seed": [4.0, 3.0]}
    assert agent["per_subtask"]["pick up the red block"] == {"attempted": 20, "completed": 16, "success": 0.8}
    assert agent["latency_ms"]["inference_step_ms"] == {"p50": 0.3, "p99": 0.5, "p99_max": 0.6}
    assert res["train_seconds"]["low_language"]["mean"] == pytest.approx(100.5) and "cot" not in res["train_seconds"]
    md = results.read_text()
    assert "| hier_language | 3.50 ± 0.50 |" in md
    assert "0.80 (16/20)" in md and "| **all attempted** | 0.80 (16/20) |" in md
    assert "0.30 / 0.50" in md and "| low_language | 100.50 ± 0.50 |" in md
    assert "RESULTS-x.json" in md and md.rstrip().endswith("how the seeds ran")
    assert bench.results_markdown(res) in md  # the table is rendered from the JSON alone
    # the seeds' plots together (bands over seeds: tests/eval/test_plots.py)
    assert (out / "chain_success.png").stat().st_size > 0 and (out / "subtask_success.png").stat().st_size > 0
