"""Teleoperation: held keys drive the gripper, labels start new human segments, episodes land in a dataset;
and the terminal front end on the same session."""
import io
import json
import time

import numpy as np
import pytest

from hirl.data import load_dataset
from hirl.errors import InputError
from hirl.teleop.sessions.keyboard import VISIBLE_HI, VISIBLE_LO, KeyboardDriver
from hirl.teleop.sessions.config import SessionConfig
from hirl.teleop.sessions.drive import TeleopSession
from hirl.teleop.ui.scene_text import scene_text
from hirl.teleop.ui.terminal import Panel, Terminal, handle

CFG = SessionConfig(speed=50.0, max_fps=10.0, image_size=48, chain_length=1, key_timeout=5.0, teleop_subtask_seconds=3.0)


def _wait(cond, timeout=20.0):
    end = time.time() + timeout
    while not cond() and time.time() < end:
        time.sleep(0.02)
    assert cond()


def test_keys_follow_the_camera_and_labels_must_be_known_skills(tmp_path):
    out = tmp_path / "demos"
    session = TeleopSession("hirl/Tabletop-v0", out, CFG, paused=True)
    session.start()
    try:
        session.keys(["ArrowRight", "r", "g"])
        a = session.action()
        # screen right is -y for the front camera (up is +x); r raises; g closes the gripper
        assert a[1] == -1.0 and a[2] == 1.0 and a[0] == 0.0 and a[3] == 1.0
        session.keys(["ArrowUp"])
        a = session.action()
        assert a[0] == 1.0 and a[1] == 0.0 and a[3] == 1.0  # g released: the gripper stays closed until pressed again
        with pytest.raises(InputError, match="not a known skill"):
            session.label("do a backflip")  # never enters the vocabulary unless added on purpose
        assert session.label("pick up the red block") == "pick up the red block"  # while ready: at step 0
        assert session.label("lift the block", new_skill=True) == "lift the block"  # same step: replaces, a new skill
        session.control("start")
        assert json.loads((out / "skills.json").read_text())["added_skills"] == ["lift the block"]
        _wait(lambda: session.status()["phase"] == "ended", 60)  # the subtask budget ends the episode
        assert "not done within its budget" in session.status()["end_reason"]
        assert session.control("failure").endswith("press next for the next episode")
        assert session.status()["phase"] == "ended" and session.status()["saved"]  # no new episode without next
    finally:
        session.control("finish")
        session.wait_finished(20)
    ds = load_dataset(out, images=False)
    ep = ds.episodes[0]
    texts = {str(t) for t in ep.subgoal_text}
    assert texts == {"lift the block"}  # every step carries the person's label: none was invented
    assert set(map(str, ep.subgoal_source)) == {"human"} and ep.intervention.sum() == 1
    acts = ep.actions.reshape(ep.T, -1)
    assert np.all(acts[:, 3] == 1.0) and acts[0, 0] == 1.0  # the held key drove, the gripper stayed closed
    grip_x = ep.flat_obs(["observation"])[:, 0]
    assert grip_x[-1] > grip_x[0] + 0.05  # the gripper moved up the screen (+x) ...
    assert grip_x.max() <= VISIBLE_HI[0] + 0.01 and acts[-1, 0] == 0.0  # ... and stopped at the edge of the view


def test_an_episode_waits_for_its_first_label(tmp_path):
    session = TeleopSession("hirl/Tabletop-v0", tmp_path / "demos", CFG, paused=True)
    session.start()
    try:
        session.control("start")
        time.sleep(0.3)
        assert session.status()["phase"] == "waiting" and session.status()["step"] == 0  # no label: nothing moves
        session.label("turn on the light")
        _wait(lambda: session.status()["step"] > 0)
    finally:
        session.control("finish")
        session.wait_finished(20)


def test_stale_keys_stop_the_robot(tmp_path):
    session = TeleopSession("hirl/Tabletop-v0", tmp_path / "demos", SessionConfig(key_timeout=0.05))
    session.keys(["ArrowLeft"])
    assert session.action()[1] == 1.0
    time.sleep(0.1)
    assert session.action()[1] == 0.0


def test_the_gripper_is_kept_in_the_visible_workspace():
    d = KeyboardDriver(key_timeout=5.0)
    d.set(["ArrowRight", "v"])
    inside = {"observation": np.r_[0.5, 0.0, 0.1, np.zeros(49)]}
    edge = {"observation": np.r_[0.5, VISIBLE_LO[1] + 0.01, VISIBLE_LO[2] + 0.01, np.zeros(49)]}
    assert d.action(inside)[1] == -1.0 and d.action(inside)[2] == -1.0 and not d.clamped
    assert d.action(edge)[1] == 0.0 and d.action(edge)[2] == 0.0 and d.clamped
    d.set(["ArrowLeft"])
    assert d.action(edge)[1] == 1.0  # moving back into view is allowed


def test_terminal_commands_drive_a_correction_session(tiny_run, tmp_path):
    from hirl.teleop.sessions.session import CorrectionSession

    session = CorrectionSession.open(tiny_run, tmp_path / "s", SessionConfig(speed=2.0, image_size=48, chain_length=2),
                                     paused=True)
    session.start()
    try:
        assert handle(session, ".") == "stepped one control step"
        _wait(lambda: session.agent.subgoal is not None)
        skill = next(s for s in session.resolver.skills if s != session.agent.subgoal.text)
        assert handle(session, skill + "\n").startswith("accepted")
        assert handle(session, "").startswith("error: correction: empty")
        assert "not a known skill" in handle(session, "qqq zzz www")
        handle(session, ".")
        _wait(lambda: session.agent.subgoal.text == skill)
        assert "skills:" in handle(session, "?")
        term = Terminal(session)
        assert term.handle("u").startswith("undone")  # the last correction leaves the training data
        assert session.journal.read() == []
        assert term.handle("+") == "speed 4x" and term.handle("+") == "speed 4x"  # 4x is the top step
        assert term.handle("-") == "speed 2x" and term.handle("-") == "speed 1x"
    finally:
        term = Terminal(session)
        assert "type q again" in term.handle("q") and session.status()["phase"] != "finished"  # asks first
        assert term.handle("q") == "finishing the session"
        session.wait_finished(20)


def test_the_terminal_shows_the_scene(tiny_run, tmp_path):
    from hirl.teleop.sessions.session import CorrectionSession

    session = CorrectionSession.open(tiny_run, tmp_path / "s", SessionConfig(speed=5.0, image_size=48, chain_length=2),
                                     paused=True)
    session.start()
    try:
        session.control("step")
        _wait(lambda: session.status().get("step", 0) >= 1)
        text = "\n".join(scene_text(session.status()))
        s = session.status()
        assert s["command"] in text and f"done 0/{len(s['task'])}" in text and s["subgoal"]["text"] in text
        assert "gripper (+0.45, +0.00, +0.20)" in text or "gripper (" in text
        assert "blocks: red (" in text and "began: the episode started" in text
        tty = io.StringIO()
        tty.isatty = lambda: True  # an ANSI terminal: the panel is redrawn in place (cursor saved and restored)
        Panel(tty).show(s)
        assert "\x1b7" in tty.getvalue() and "\x1b8" in tty.getvalue() and s["command"][:20] in tty.getvalue()
    finally:
        session.control("finish")
        session.wait_finished(20)
