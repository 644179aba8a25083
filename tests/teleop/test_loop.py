"""The scripted corrector on a known-wrong high level, and the correction loop end to end on a tiny run."""
import hashlib
import json

import numpy as np

from hirl.data import load_dataset
from hirl.hierarchy.rollout import run_episode
from hirl.hierarchy import FixedInterval, HierarchicalAgent
from hirl.integrations import adapter
from hirl.encoders.text_factory import make_text_encoder
from hirl.policies.scripted import ScriptedHighLevel
from hirl.teleop.sessions.config import CorrectionLoopConfig, FinetuneSpec, ScriptedCorrectorConfig
from hirl.teleop.sessions.corrector import ScriptedCorrector
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.loop import run_correction_loop
from hirl.teleop.sessions.recorder import CorrectionRecorder
from hirl.teleop.sessions.skills import SkillResolver
from hirl.types import Subgoal


def _corrected_episode(tmp_path, **corrector):
    ad = adapter("hirl/Tabletop-v0")
    env = ad.make()
    _, low = ad.expert(env, 0.0, 0)
    wrong = ScriptedHighLevel(lambda obs, c: Subgoal("language", "push the button"))
    agent = HierarchicalAgent(wrong, low, FixedInterval(1000))
    canon = ad.detector_extra(env)["canonicalize"]
    from hirl_envs.tabletop import tasks

    skills = [s.instruction for s in tasks.SUBTASKS.values()]
    journal = CorrectionJournal(tmp_path / "c.jsonl")
    rec = CorrectionRecorder(journal, ("observation",), 4)
    resolver = SkillResolver(skills, make_text_encoder("hash", 384), canon)
    corr = ScriptedCorrector(ScriptedCorrectorConfig(**corrector), rec, resolver, canon, ad.paraphrases)
    rec.start_episode(0)

    def on_step(t, agent, obs, info):
        rec.on_step(t, agent, obs, info)
        corr.on_step(t, agent, obs, info)

    seed = next(s for s in range(50) if env.reset(seed=s, options=ad.reset_options(3))[1]["task"][0] != "push the button")
    result = run_episode(env, agent, ad.command, seed=seed, options=ad.reset_options(3), on_step=on_step)
    return agent, corr, journal.read(), result


def test_corrector_overrides_a_wrong_subgoal_after_its_reaction_delay(tmp_path):
    agent, corr, records, result = _corrected_episode(tmp_path, reaction_steps=7)
    overrides = [e for e in agent.trace if e.reason == "override"]
    assert overrides and overrides[0].step == 8  # wrong from step 1 (the proposal of step 0) + 7 steps of reaction
    assert overrides[0].subgoal.source == "human" and overrides[0].subgoal.text == result.task[0]
    assert len(records) == corr.log.interventions == len(overrides) == result.interventions
    assert records[0]["proposed"] == "push the button" and records[0]["kind"] == "wrong"
    assert len(records[0]["context"]) == 4  # the 4 steps before the correction, same segment
    assert len(result.completed) >= 1  # the expert low level, corrected, completes the first subtask
    # after each completed subtask the subgoal goes stale: the corrector moves it on to the next one, labelled "stale"
    assert result.completed == result.task  # so the corrected expert completes the whole chain
    assert [r["kind"] for r in records] == ["wrong"] + ["stale"] * (len(result.task) - 1)
    assert [(r["proposed"], r["corrected"]) for r in records[1:]] == list(zip(result.task[:-1], result.task[1:], strict=True))


def test_miss_rate_one_never_corrects_and_paraphrases_resolve_to_the_skill(tmp_path):
    _, corr, records, _ = _corrected_episode(tmp_path / "a", reaction_steps=5, miss_rate=1.0)
    assert records == [] and corr.log.misses > 0 and corr.log.interventions == 0
    assert corr.log.summary(0.02)["wrong_subgoal_seconds"] > 0
    _, corr, records, _ = _corrected_episode(tmp_path / "b", reaction_steps=5, paraphrase=1.0)
    assert records and all(r["how"] == "paraphrase" and r["corrected"] != r["skill"] for r in records)


def _digest(path):
    return hashlib.sha256((path / "weights.safetensors").read_bytes()).hexdigest()


def test_loop_end_to_end_fine_tunes_only_the_high_level_and_resumes(tiny_run, tmp_path):
    out = tmp_path / "session"
    loop = CorrectionLoopConfig(episodes=[2, 1], chain_length=2, eval_episodes=1,
                                corrector=ScriptedCorrectorConfig(reaction_steps=3),
                                finetune=FinetuneSpec(steps=4, batch_size=32))
    summary = run_correction_loop(tiny_run, out, loop, progress=lambda m: None)
    assert set(summary) == {"0", "1", "2"}
    records = CorrectionJournal(out / "corrections.jsonl").read()
    assert summary["2"]["corrections"] == len(records) > 0 and summary["2"]["corrected_episodes"] == 3
    fit = summary["1"]["finetune"]
    assert fit["high"]["correction_rows"] > 0 and fit["high"]["steps"] == 4 and "low" not in fit  # language only
    for r in ("0", "1", "2"):  # one evaluation episode of a 2-subtask chain: success iff both subtasks completed
        ev = summary[r]["eval"]
        assert set(ev["success_at_length"]) == {"1", "2"} and ev["success_rate"] == float(ev["avg_chain_length"] == 2.0)
    models = out / "models"
    assert _digest(models / "adapted" / "low_language") == _digest(tiny_run / "models" / "low_language")  # frozen
    assert _digest(models / "adapted" / "high_language") != _digest(tiny_run / "models" / "high_language")  # trained
    ds = load_dataset(out / "episodes", images=False)
    assert len(ds) == 3
    flags = np.concatenate([e.intervention for e in ds.episodes])
    sources = np.concatenate([e.subgoal_source for e in ds.episodes])
    assert flags.sum() == len(records) and {"human", "policy"} >= set(map(str, sources)) and "human" in set(map(str, sources))
    again = run_correction_loop(tiny_run, out, loop, progress=lambda m: None)  # finished rounds are skipped
    assert json.dumps(again, sort_keys=True) == json.dumps(summary, sort_keys=True)
    assert len(CorrectionJournal(out / "corrections.jsonl").read()) == len(records)
