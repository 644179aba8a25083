"""Correction text validation / skill matching, and the crash-safe correction journal."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from hirl.errors import InputError
from hirl.encoders.text_factory import make_text_encoder
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.skills import SkillResolver, decode_text

SKILLS = ["open the drawer", "close the drawer", "push the button", "pick up the red block"]


def canonical(text):
    from hirl_envs.tabletop import tasks

    name = tasks.canonical(text)
    return None if name is None else tasks.SUBTASKS[name].instruction


@pytest.fixture(scope="module")
def resolver():
    return SkillResolver(SKILLS, make_text_encoder("hash", 384), canonical, threshold=0.6, max_chars=50)


def test_exact_paraphrase_and_embedding_matches(resolver):
    r = resolver.resolve("  Open   the DRAWER ")
    assert (r.skill, r.how, r.similarity) == ("open the drawer", "exact", 1.0)
    r = resolver.resolve("shut the drawer")  # a shipped paraphrase: the env knows it
    assert (r.skill, r.how) == ("close the drawer", "paraphrase") and "close the drawer" in r.message()
    r = resolver.resolve("pick up the red blocks")  # unknown wording, embedding-close to one skill
    assert (r.skill, r.how) == ("pick up the red block", "grounded") and r.similarity >= 0.6
    assert "pick up the red block" in r.message() and "grounded" in r.message()


@pytest.mark.parametrize("raw, match", [
    ("", "empty"), ("   \n\t", "empty"), ("x" * 51, "51 characters, the limit is 50"),
    (b"open the \xff drawer", "not valid UTF-8"), ("open\x07 drawer", "unprintable character U\\+0007"),
    ("open\x7f the drawer", "U\\+007F"), ("open the \u202edrawer", "U\\+202E \\(RIGHT-TO-LEFT OVERRIDE\\)"),
    ("open the\u200b drawer", "U\\+200B"), ("open the \ud800 drawer", "U\\+D800"),
    ("dance a little jig", "not a known skill .*closest"),
])
def test_bad_corrections_get_one_clear_message(resolver, raw, match):
    with pytest.raises(InputError, match=match) as info:
        resolver.resolve(raw)
    assert "\n" not in str(info.value)


def test_decode_text_normalises_whitespace():
    assert decode_text(b"  push \n the   button ", 100) == "push the button"


def test_journal_skips_a_torn_last_line_but_not_a_bad_middle_one(tmp_path):
    j = CorrectionJournal(tmp_path / "c.jsonl")
    j.append({"step": 1})
    j.append({"step": 2})
    with open(j.path, "ab") as fh:
        fh.write(b'{"step": 3, "obs": [1, 2')  # killed mid-write
    assert [r["step"] for r in j.read()] == [1, 2] and j.skipped == 1
    j.path.write_bytes(b'{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(InputError, match=r"c.jsonl:2: not a correction record"):
        j.read()


KILLED_SESSION = r"""
import sys
import hirl.encoders  # registers the text encoders
from hirl.hierarchy.rollout import run_episode
from hirl.hierarchy import HierarchicalAgent, FixedInterval
from hirl.integrations import adapter
from hirl.encoders.text_factory import make_text_encoder
from hirl.policies.scripted import ScriptedHighLevel
from hirl.teleop.sessions.config import ScriptedCorrectorConfig
from hirl.teleop.sessions.corrector import ScriptedCorrector
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.recorder import CorrectionRecorder
from hirl.teleop.sessions.skills import SkillResolver
from hirl.types import Subgoal

ad = adapter("hirl/Tabletop-v0")
env = ad.make()
expert_high, low = ad.expert(env, 0.0, 0)
wrong = ScriptedHighLevel(lambda obs, c: Subgoal("language", "push the button"))  # always the same skill
agent = HierarchicalAgent(wrong, low, FixedInterval(5))  # re-proposes the wrong skill every 5 steps
canon = ad.detector_extra(env)["canonicalize"]
from hirl_envs.tabletop import tasks
skills = [s.instruction for s in tasks.SUBTASKS.values()]
journal = CorrectionJournal(sys.argv[1])
rec = CorrectionRecorder(journal, ("observation",), 3)
resolver = SkillResolver(skills, make_text_encoder("hash", 384), canon)
corr = ScriptedCorrector(ScriptedCorrectorConfig(reaction_steps=2), rec, resolver, canon, ad.paraphrases)
def on_step(t, agent, obs, info):
    n = len(rec.corrections)
    rec.on_step(t, agent, obs, info)
    corr.on_step(t, agent, obs, info)
    if len(rec.corrections) > n:
        print("CORRECTION", len(rec.corrections), flush=True)
for seed in range(1000):
    rec.start_episode(seed)
    run_episode(env, agent, ad.command, seed=seed, options=ad.reset_options(5), on_step=on_step)
"""


def test_a_killed_session_keeps_every_correction_made_before_the_kill(tmp_path):
    path = tmp_path / "corrections.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SESSION, str(path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "MUJOCO_GL": "egl"})
    made = 0
    deadline = time.time() + 60
    try:
        while made < 5 and time.time() < deadline:
            line = proc.stdout.readline()
            if line.startswith("CORRECTION"):
                made = int(line.split()[1])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert made >= 5
    records = CorrectionJournal(path).read()
    assert len(records) >= made  # every correction announced before the kill is on disk
    r = records[0]
    assert r["source"] == "scripted" and r["proposed"] == "push the button" and r["skill"] != "push the button"
    assert r["corrected"] == r["skill"] and len(r["obs"]["observation"]) > 10 and json.dumps(r)
