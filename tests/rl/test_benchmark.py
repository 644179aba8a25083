"""The benchmark report: stage curves offset by earlier stages' env steps, the planner's own line, the plan stage
(0 env steps) kept out of the curves and the throughput table, and the plot file."""
from hirl.benchmarks.rl import plot_curves, summary_tables


def result(variant, seed, stages, final):
    return {"variant": variant, "seed": seed, "stages": stages, "final": final,
            "total_env_steps": sum(s["env_steps"] for s in stages.values()),
            "total_train_seconds": sum(s["train_seconds"] for s in stages.values())}


def test_report_has_the_planner_line_and_skips_the_plan_stage(tmp_path):
    low = {"env_steps": 20000, "train_seconds": 200.0, "env_steps_per_s": 100.0,
           "curve": [{"env_steps": 10000, "success_rate": 0.1, "plan_success_rate": 0.5},
                     {"env_steps": 20000, "success_rate": 0.2, "plan_success_rate": 0.9}]}
    plan = {"env_steps": 0, "train_seconds": 1.0, "env_steps_per_s": 0.0, "curve": [{"env_steps": 0, "success_rate": 0.9}]}
    high = {"env_steps": 10000, "train_seconds": 50.0, "env_steps_per_s": 200.0,
            "curve": [{"env_steps": 10000, "success_rate": 0.3}]}
    flat = {"env_steps": 30000, "train_seconds": 300.0, "env_steps_per_s": 100.0,
            "curve": [{"env_steps": 10000, "success_rate": 0.0}, {"env_steps": 30000, "success_rate": 0.1}]}
    results = [result("hier", s, {"low": low, "plan": plan, "high": high}, {"rl_plan": {"success_rate": 0.8}}) for s in (0, 1)]
    results.append(result("flat", 0, {"flat": flat}, {"rl_flat": {"success_rate": 0.1}}))
    md = summary_tables(results)
    assert "| env steps | hier | hier: planner | flat |" in md
    assert "| 20000 | 0.20 ± 0.00 (n=2) | 0.90 ± 0.00 (n=2) |  |" in md
    assert "| 30000 | 0.30 ± 0.00 (n=2) |  | 0.10 ± 0.00 (n=1) |" in md  # the high stage's point after low's 20000 steps
    assert "hier / plan" not in md and "| hier / high | 200.00 ± 0.00 (n=2) | 2.00 |" in md
    assert plot_curves(results, tmp_path / "curves.png").stat().st_size > 0


def test_sweep_runs_variants_reusing_hiers_low_level_after_hier():
    from hirl.benchmarks.rl import sweep_phases

    assert sweep_phases(["flat", "hier_norelabel", "hier", "hier_hl8"]) == [["flat", "hier"], ["hier_norelabel", "hier_hl8"]]
    assert sweep_phases(["hier_norelabel", "flat"]) == [["hier_norelabel", "flat"]]  # no hier: nothing to wait for
    assert sweep_phases(["hier"]) == [["hier"]]


def test_sweep_on_the_local_backend_writes_the_results_and_resumes(tmp_path):
    from pathlib import Path

    from hirl.benchmarks.rl import sweep

    configs = Path(__file__).resolve().parents[2] / "experiments" / "maze"
    tiny = ["env_kwargs={layout: u, max_episode_steps: 40}", "steps=100", "checkpoint_every=100", "eval.every=100",
            "eval.episodes=1", "algo.learning_starts=50", "algo.batch_size=16", "algo.buffer_size=500",
            "algo.net_arch=[8, 8]", "progress=false"]
    results = sweep(["flat"], [3], tmp_path, configs, tiny, final_episodes=1)
    assert [(r["variant"], r["seed"]) for r in results] == [("flat", 3)]
    assert results[0]["final"]["rl_flat"]["episodes"] == 1 and results[0]["stages"]["flat"]["env_steps"] >= 100
    path = tmp_path / "results" / "flat-s3.json"
    mtime = path.stat().st_mtime
    assert sweep(["flat"], [3], tmp_path, configs, tiny, final_episodes=1) == results  # finished: skipped
    assert path.stat().st_mtime == mtime
