"""Sessions of another agent than hier_language: a state hierarchy (hier_state) learns both levels from takeovers
(the loop and a live session), a language hierarchy under other component names goes through the language recipe,
and what cannot be corrected, or typed, is refused in one line."""
from __future__ import annotations

import hashlib
import json
import shutil
from functools import partial

import pytest

from hirl.errors import InputError
from hirl.learn.components import HighLanguage
from hirl.runs.agents import AGENTS
from hirl.runs.components import COMPONENTS
from hirl.runs.recipes import Hierarchical
from hirl.teleop.sessions.config import CorrectionLoopConfig, FinetuneSpec, ScriptedCorrectorConfig, SessionConfig
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.loop import TAKEOVERS, run_correction_loop
from hirl.teleop.sessions.session import CorrectionSession
from hirl.teleop.sessions.store import SESSION_FILE, check_run, prepare_session
from tests.fixtures.live import step


def digest(folder):
    return hashlib.sha256((folder / "weights.safetensors").read_bytes()).hexdigest()


def test_a_state_hierarchy_learns_both_levels_from_the_loop_s_takeovers(two_agent_run, tmp_path):
    out = tmp_path / "session"
    loop = CorrectionLoopConfig(episodes=[1], chain_length=2, eval_episodes=1, agent="hier_state",
                                corrector=ScriptedCorrectorConfig(mode="takeover", stall_steps=20, takeover_steps=30),
                                finetune=FinetuneSpec(steps=4, low_steps=4, batch_size=32, holdout=0.0))
    summary = run_correction_loop(two_agent_run, out, loop, progress=lambda m: None)
    drives = CorrectionJournal(out / TAKEOVERS).read()
    assert drives and not CorrectionJournal(out / "corrections.jsonl").read()  # the stalls were driven, nothing typed
    fit = summary["1"]["finetune"]
    assert len(drives) <= fit["high"]["rows"]["corrected"] <= 2 * len(drives)  # o_t0 of each, once per memory
    assert fit["low"]["correction_rows"] == sum(len(d["actions"]) for d in drives)
    models = out / "models"
    assert sorted(p.name for p in (models / "adapted").iterdir()) == ["high_state", "low_state"]  # the agent's own
    for c in ("high_state", "low_state"):  # both levels learned from the takeovers
        assert digest(models / "adapted" / c) != digest(two_agent_run / "models" / c)
        assert digest(models / c) == digest(two_agent_run / "models" / c)  # the "before" agent stays the run's
    assert json.loads((out / SESSION_FILE).read_text())["agent"] == "hier_state"
    for r in ("0", "1"):  # the agent before (round 0) and hier_state+adapt after each ran its evaluation chain
        assert set(summary[r]["eval"]["success_at_length"]) == {"1", "2"}
    with pytest.raises(InputError, match=r"a session of the agent hier_state, not hier_language; reopen it with "
                                         r"--agent hier_state") as err:
        prepare_session(two_agent_run, out, agent="hier_language")
    assert "\n" not in str(err.value)


def test_typing_is_refused_for_a_state_hierarchy_before_anything_runs(two_agent_run, tmp_path):
    loop = CorrectionLoopConfig(episodes=[1], agent="hier_state")  # corrector mode language: types only
    with pytest.raises(InputError, match=r"typed corrections need a language high level: agent 'hier_state' proposes "
                                         r"state goals.*take over"):
        run_correction_loop(two_agent_run, tmp_path / "s", loop, progress=lambda m: None)
    assert not (tmp_path / "s" / "models").exists()


def test_agents_that_cannot_be_corrected_are_refused_naming_the_run_s_agents(two_agent_run, tmp_path):
    with pytest.raises(InputError, match=r"agent 'flat' is not one of the run's agents \(hier_language, hier_state\)"):
        check_run(two_agent_run, "flat")
    run = tmp_path / "run"
    run.mkdir()
    text = (two_agent_run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text.replace("- hier_state", "- hier_state\n- flat\n- hier_state_ahead"))
    for agent, why in (("flat", "is not a two-level learned hierarchy"), ("hier_state_ahead", "steps ahead")):
        with pytest.raises(InputError, match=why) as err:
            check_run(run, agent)
        line = str(err.value)
        assert "\n" not in line and repr(agent) in line and "the run's agents: hier_language, hier_state, flat" in line


def test_a_live_state_session_refuses_typing_and_learns_from_a_takeover(two_agent_run, tmp_path):
    out = tmp_path / "s"
    cfg = SessionConfig(speed=5.0, image_size=48, chain_length=2, auto_pause_steps=0,
                        finetune=FinetuneSpec(steps=3, low_steps=3, batch_size=32, holdout=0.0))
    s = CorrectionSession.open(two_agent_run, out, cfg, paused=True, agent="hier_state")
    try:
        s.start()
        step(s)
        with pytest.raises(InputError, match="agent 'hier_state' proposes state goals, which a typed skill cannot "
                                             "label; take over the controls instead") as err:
            s.correct("open the drawer")
        assert "\n" not in str(err.value)
        status = s.status()
        assert not status["actions"]["correct"] and status["typing"] is False and status["agent"] == "hier_state"
        assert status["mismatch"] is None  # a goal state is not judged by its text: no cue, no auto-pause
        s.takeover(True)
        s.keys(["ArrowUp"])
        step(s, 5)
        s.takeover(False)
        report = s.finish(eval_episodes=1)
    finally:
        s.close()
    assert report["retrained"] and set(report["finetune"]) == {"high", "low"}
    assert report["finetune"]["low"]["correction_rows"] == 5 and report["finetune"]["high"]["rows"]["corrected"] >= 1
    for c in ("high_state", "low_state"):
        assert digest(out / "models" / "adapted" / c) != digest(two_agent_run / "models" / c)
    assert {"success_rate", "avg_chain_length"} <= set(report["after"])  # hier_state+adapt ran its chain


@pytest.fixture
def renamed_run(tiny_run, tmp_path, monkeypatch):
    """tiny_run's language hierarchy under other names: agent hier_language_alt = high_language_alt + low_language (a
    plugin's names, registered for this test only)."""
    monkeypatch.setitem(COMPONENTS._entries, "high_language_alt", HighLanguage)
    monkeypatch.setitem(AGENTS._entries, "hier_language_alt", partial(Hierarchical, "high_language_alt", "low_language"))
    run = tmp_path / "run"
    (run / "models").mkdir(parents=True)
    shutil.copytree(tiny_run / "models" / "high_language", run / "models" / "high_language_alt")
    shutil.copytree(tiny_run / "models" / "low_language", run / "models" / "low_language")
    text = (tiny_run / "config.yaml").read_text()
    assert "- hier_language\n" in text
    (run / "config.yaml").write_text(text.replace("- hier_language\n", "- hier_language_alt\n"))
    return run


def test_a_language_hierarchy_under_other_names_goes_through_the_language_recipe(renamed_run, tmp_path):
    out = tmp_path / "session"
    loop = CorrectionLoopConfig(episodes=[1], chain_length=2, eval_episodes=1, agent="hier_language_alt",
                                corrector=ScriptedCorrectorConfig(reaction_steps=3, mode="mixed", stall_steps=20,
                                                                  takeover_steps=40),
                                finetune=FinetuneSpec(steps=3, low_steps=3, batch_size=32))
    summary = run_correction_loop(renamed_run, out, loop, progress=lambda m: None)
    fit = summary["1"]["finetune"]
    assert fit["high"]["correction_rows"] > 0 and fit["low"]["correction_rows"] > 0  # typed and driven
    for c in ("high_language_alt", "low_language"):
        assert digest(out / "models" / "adapted" / c) != digest(renamed_run / "models" / c)
    rows = fit["high"]["rows"]
    assert rows["window"] > 0 and rows["approved"] > 0 and rows["demos"] > 0  # every family of the language recipe
    assert "success_rate" in summary["0"]["eval"] and "success_rate" in summary["1"]["eval"]  # before and after
    assert json.loads((out / SESSION_FILE).read_text())["agent"] == "hier_language_alt"
