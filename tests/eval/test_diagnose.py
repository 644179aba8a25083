"""hirl.eval.diagnose: per-subtask success and the expert phase each failure happened in (fast: about 5 s)."""
from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import hirl_envs  # noqa: F401  (registers the envs)
from hirl.cli import main as hirl
from hirl.errors import InputError
from hirl.eval.diagnose import diagnose_agent, diagnose_run, main, markdown, summarize
from hirl.hierarchy import HierarchicalAgent, build_replan_rule
from hirl.hierarchy.replan import ReplanConfig
from hirl.integrations import adapter
from hirl.policies.scripted import ScriptedLowLevel
from hirl.runs import RunDir
from hirl_envs.tabletop.expert import PHASES, family

TABLETOP = "hirl/Tabletop-v0"


def _agent(env: gym.Env, low: ScriptedLowLevel | None = None) -> HierarchicalAgent:
    """The expert's high level over its own noise-free low level, or over `low`."""
    ad = adapter(TABLETOP)
    high, expert_low = ad.expert(env, 0.0, 0)
    rule = build_replan_rule(ReplanConfig(detector="chain_progress", timeout=300), ad.detector_extra(env))
    return HierarchicalAgent(high, low or expert_low, rule)


def test_expert_succeeds_everywhere_and_has_no_failure_phase() -> None:
    env = gym.make(TABLETOP)
    attempts = diagnose_agent(_agent(env), env, adapter(TABLETOP).command, episodes=3, seed=100_000, chain_length=3)
    env.close()
    assert len(attempts) == 9 and all(a.success for a in attempts)
    assert all(a.phase is None and a.facts == {} and a.steps > 0 for a in attempts)
    summary = summarize(attempts, 3)
    assert summary["avg_chain_length"] == 3.0 and summary["successes"] == 9
    for entry in summary["per_kind"].values():
        assert entry["success_rate"] == 1.0 and entry["failures_by_phase"] == {}
    table = markdown(summary, "expert")
    assert table.startswith("### expert") and "3 chains, avg chain length 3.00" in table


def test_a_low_level_that_never_moves_fails_in_the_first_phase() -> None:
    env = gym.make(TABLETOP, subtask_budget=20)  # 20 still steps per chain are enough to fail
    still = ScriptedLowLevel(lambda obs, goal: np.array([0.0, 0.0, 0.0, -1.0]))  # fingers open, no motion
    attempts = diagnose_agent(_agent(env, still), env, adapter(TABLETOP).command, episodes=4, seed=100_000,
                              chain_length=2)
    env.close()
    assert len(attempts) == 4 and not any(a.success for a in attempts)  # each chain stops at its first subtask
    for a in attempts:
        approach = PHASES[family(a.kind)][1]  # the phase after "open fingers": going to the object
        assert a.phase == a.furthest == approach, (a.subtask, a.phase, a.furthest)
        assert a.steps == 20 and sum(a.phase_steps.values()) == 20
        assert a.facts["gripper"] == "open" and a.facts["speed_m_s"] < 0.05 and a.facts["policy_grip"] == -1.0
        assert a.facts["gripper_object_m"] > 0.05 and a.facts["object_target_m"] >= 0.0
    summary = summarize(attempts, 4)
    assert summary["avg_chain_length"] == 0.0
    failures = sum(sum(e["failures_by_phase"].values()) for e in summary["per_kind"].values())
    assert failures == 4


def test_diagnose_run_writes_json_and_markdown(language_run: RunDir, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    summary = diagnose_run(language_run.path, "oracle_high", episodes=2, out=tmp_path / "d")
    saved = json.loads((tmp_path / "d" / "diagnosis.json").read_text())
    assert saved["agent"] == "oracle_high" and saved["episodes"] == 2 and saved["seed"] == summary["seed"]
    assert len(saved["attempt_records"]) == saved["attempts"] >= 2  # 25-step chains: each stops at a failure
    assert "| kind | attempts | success |" in (tmp_path / "d" / "diagnosis.md").read_text()
    main([str(language_run.path), "--episodes", "1"])
    assert "1 chains, avg chain length" in capsys.readouterr().out
    cmp = tmp_path / "cmp"
    assert hirl(["compare", f"before={tmp_path / 'd'}", f"after={tmp_path / 'd' / 'diagnosis.json'}", "--out", str(cmp)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| kind | before success | before failures by phase | after success |")
    assert f"| avg chain length | **{summary['avg_chain_length']:.2f}** |" in table
    assert (cmp / "compare.md").read_text() == table.split("table: ")[0]
    with pytest.raises(SystemExit, match=r"^error: diagnoses are compared by: hirl compare before=D$"):
        main(["--compare", "before=D"])
    assert hirl(["compare", f"before={tmp_path / 'd'}", str(language_run.path), "--out", str(tmp_path / "c2")]) == 2
    assert capsys.readouterr().err.strip() == (f"hirl compare: error: {language_run.path}: not a diagnosis (no "
                                               "diagnosis.json); diagnoses compare only with diagnoses")


def test_diagnose_run_refuses_unknown_agents(language_run: RunDir) -> None:
    with pytest.raises(InputError, match="unknown agent"):
        diagnose_run(language_run.path, "no_such_agent", episodes=1)
