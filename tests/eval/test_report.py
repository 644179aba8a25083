"""The per-subtask table: chain_metrics' per_subtask counts on hand-made results (consistent with per_subtask_success)
and its subtask x agent table in summary.md beside the chain metrics."""
from __future__ import annotations

from hirl.eval.report import per_subtask_markdown, summary_markdown
from hirl.hierarchy.metrics import chain_metrics
from hirl.hierarchy.rollout import EpisodeResult


def result(task: list[str], completed: list[str]) -> EpisodeResult:
    return EpisodeResult(seed=0, command=", then ".join(task), success=completed == task, steps=10, high_level_queries=1,
                         replans=0, interventions=0, task=task, completed=completed, subtask_steps=[5] * len(completed))


RESULTS = [result(["a", "b"], ["a", "b"]), result(["a", "b"], ["a"]), result(["b", "c"], []), result(["c", "a"], ["c"])]


def test_per_subtask_counts_are_per_subtask_success_with_counts():
    counts = chain_metrics(RESULTS)["per_subtask"]
    assert counts == {"a": {"attempted": 3, "completed": 2, "success": 2 / 3},
                      "b": {"attempted": 3, "completed": 1, "success": 1 / 3},
                      "c": {"attempted": 1, "completed": 1, "success": 1.0}}
    assert {k: v["success"] for k, v in counts.items()} == chain_metrics(RESULTS)["per_subtask_success"]


def metrics(results: list[EpisodeResult]) -> dict:
    return {**chain_metrics(results), "latency": {}}


def test_summary_has_a_subtask_by_agent_table_next_to_the_chain_metrics():
    report = {"env": "toy", "episodes": 4, "chain_length": 2,
              "policies": {"hier": metrics(RESULTS), "flat": metrics(RESULTS[:1])}}
    summary = summary_markdown(report)
    chain, per = summary.index("| agent | success rate"), summary.index("## Per-subtask success")
    assert chain < per
    rows = per_subtask_markdown(report).splitlines()
    assert "| subtask | hier | flat |" in rows
    assert "| a | 0.67 (2/3) | 1.00 (1/1) |" in rows
    assert "| c | 1.00 (1/1) | - |" in rows  # never attempted by flat
    assert "## Instruction map" not in summary  # only with --instruction-map


def test_no_per_subtask_table_without_chains_or_in_old_reports():
    flat = {**chain_metrics([result([], [])]), "per_subtask": {}, "latency": {}}
    old = {k: v for k, v in metrics(RESULTS).items() if k != "per_subtask"}  # a report.json from before per_subtask
    assert per_subtask_markdown({"env": "maze", "episodes": 1, "chain_length": 1, "policies": {"a": flat, "b": old}}) == ""


def test_summary_shows_warm_up_apart_from_latency_percentiles():
    warm = {**metrics(RESULTS), "latency": {"control_step_ms": {"p50": 0.4, "p99": 1.2},
                                            "high_level_query_ms": {"p50": 0.3, "p99": 0.9},
                                            "warmup_ms": {"control_step": 512.4, "high_level_query": 500.2}}}
    cold = {**metrics(RESULTS), "latency": {"control_step_ms": {"p50": 0.4, "p99": 1.2}, "warmup_ms": {"control_step": 3.0}}}
    summary = summary_markdown({"env": "toy", "episodes": 4, "chain_length": 2, "policies": {"hier": warm, "flat": cold}})
    assert "| warm-up ms |" in summary
    assert "| 0.40 / 1.20 | - | 0.30 / 0.90 | 512 (HL 500) |" in summary
    assert "| 0.40 / 1.20 | - | - | 3 |" in summary
