"""`hirl compare`: evaluation reports of runs and benchmark seed folders in one table and one plot (mean ± std over
seeds, each seed's value); one-line errors for a path without a report and for a misspelled agent."""
from __future__ import annotations

import json
import shutil
from pathlib import Path


from hirl.cli import main
from hirl.runs import RunDir
from hirl.runs.agents import run_agents


def report(success: float, length: float, agents: tuple[str, ...] = ("hier_language", "flat")) -> dict:
    """A minimal evaluation report: every agent with the given success rate and average chain length."""
    return {"env": "hirl/Tabletop-v0", "episodes": 10, "chain_length": 5, "seed": 100_000,
            "policies": {a: {"success_rate": success, "avg_chain_length": length, "episodes": 10} for a in agents}}


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_compare_pools_benchmark_seeds_and_reads_run_and_report_files(tmp_path: Path, capsys) -> None:
    bench = tmp_path / "bench"
    write(bench / "seed0" / "report.json", report(0.4, 1.0))
    write(bench / "seed1" / "eval" / "report.json", report(0.6, 2.0))  # a seed whose report lies in its run's eval/
    write(bench / "seed10" / "report.json", report(0.5, 3.0))
    (bench / "notes").mkdir()  # not a seed folder: ignored
    other = write(tmp_path / "other" / "eval" / "report.json", report(0.25, 0.5, ("flat",)))
    out = tmp_path / "cmp"
    assert main(["compare", str(bench), f"single={other}", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = (out / "compare.md").read_text()
    assert printed.startswith(table)
    assert f"| flat | {bench} | 3 | 0.500 ± 0.082 | 2.00 ± 0.82 | seed0 0.400, seed1 0.600, seed10 0.500 | " \
           "seed0 1.00, seed1 2.00, seed10 3.00 |" in table.splitlines()
    assert f"| flat | single | 1 | 0.250 | 0.50 | {other} 0.250 | {other} 0.50 |" in table.splitlines()
    assert "evaluated differently" not in table
    data = json.loads((out / "compare.json").read_text())
    assert [(r["agent"], r["label"]) for r in data["rows"]] == [("hier_language", str(bench)), ("flat", str(bench)),
                                                                ("flat", "single")]
    assert data["rows"][0]["success_rate"] == {"mean": 0.5, "std": 0.0816, "per_seed": [0.4, 0.6, 0.5]}
    assert (out / "compare.png").stat().st_size > 1000

    # --agents keeps only those (in that order); a label given twice pools its sources as seeds
    assert main(["compare", f"x={bench / 'seed0'}", f"x={bench / 'seed1'}", "--agents", "flat", "--out",
                 str(tmp_path / "c2")]) == 0
    rows = json.loads((tmp_path / "c2" / "compare.json").read_text())["rows"]
    assert [(r["agent"], r["label"], r["seeds"]) for r in rows] == [("flat", "x", [str(bench / "seed0"),
                                                                                    str(bench / "seed1")])]
    assert rows[0]["avg_chain_length"] == {"mean": 1.5, "std": 0.5, "per_seed": [1.0, 2.0]}


def test_compare_one_line_errors(tmp_path: Path, capsys) -> None:
    write(tmp_path / "a" / "report.json", report(0.5, 1.0))
    run = tmp_path / "run"
    (run / "models").mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 0\n")
    write(tmp_path / "bad" / "report.json", {"policies": {"flat": {"success_rate": "high"}}})
    out = str(tmp_path / "out")
    cases = [
        ([str(tmp_path / "empty")], f"{tmp_path / 'empty'}: no such file or folder"),
        ([str(tmp_path)], f"{tmp_path}: no evaluation report here (report.json, eval/report.json or "
                          "seed<N>/report.json); write one with: hirl eval RUN"),
        ([str(run)], f"{run}: a run directory with no evaluation report yet; evaluate it first: hirl eval {run}"),
        ([str(tmp_path / "bad")], f"{tmp_path / 'bad' / 'report.json'}: not an evaluation report (no 'policies' "
                                  "section with success_rate and avg_chain_length per agent)"),
        ([str(tmp_path / "a"), "--agents", "hier_langauge"],
         "--agents hier_langauge: in none of the reports; did you mean hier_language? (they have: hier_language, flat)"),
        ([f"x={tmp_path / 'a'}", f"x={tmp_path / 'a' / 'report.json'}"],
         f"x={tmp_path / 'a' / 'report.json'}: {tmp_path / 'a' / 'report.json'} is already a seed of 'x'"),
    ]
    for argv, line in cases:
        assert main(["compare", *argv, "--out", out]) == 2, argv
        assert capsys.readouterr().err.splitlines() == [f"hirl compare: error: {line}"]
        assert not Path(out).exists()


def test_eval_then_compare_a_tiny_run_end_to_end(language_run: RunDir, tmp_path: Path, capsys) -> None:
    """hirl eval on the tiny run (twice, as two seed folders of a benchmark), then hirl compare of the run and the
    benchmark: the table holds the measured numbers of every agent."""
    bench = tmp_path / "bench"
    assert main(["eval", str(language_run.path), "--agents", "oracle_high", "expert", "--episodes", "2",
                 "--out", str(bench / "seed0")]) == 0
    shutil.copytree(bench / "seed0", bench / "seed1")
    measured = json.loads((bench / "seed0" / "report.json").read_text())["policies"]
    capsys.readouterr()
    out = tmp_path / "cmp"
    assert main(["compare", f"run={bench / 'seed0'}", f"bench={bench}", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    for agent in ("oracle_high", "expert"):
        s, n = measured[agent]["success_rate"], measured[agent]["avg_chain_length"]
        assert f"| {agent} | run | 1 | {s:.3f} | {n:.2f} |" in table
        assert f"| {agent} | bench | 2 | {s:.3f} ± 0.000 | {n:.2f} ± 0.00 | seed0 {s:.3f}, seed1 {s:.3f} |" in table
    assert (out / "compare.png").is_file() and (out / "compare.json").is_file()


def test_eval_names_the_closest_of_the_run_s_own_agents(language_run: RunDir, capsys) -> None:
    have = run_agents(language_run)
    assert "oracle_high" in have and "flat" not in have  # the run trained only the language low level
    assert main(["eval", str(language_run.path), "--agents", "oracle_hihg"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"hirl eval: error: --agents oracle_hihg: not an agent of {language_run.path}; did you mean oracle_high? "
        f"(it has: {', '.join(have)})")
