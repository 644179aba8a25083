"""Teleoperation: held keys drive the gripper, labels start new human segments, episodes land in a dataset;
and the terminal front end on the same session."""
import time

import numpy as np

from hirl.data import load_dataset
from hirl.teleop.config import SessionConfig
from hirl.teleop.drive import TeleopSession
from hirl.teleop.terminal import handle

CFG = SessionConfig(speed=50.0, max_fps=10.0, image_size=48, chain_length=1, key_timeout=5.0, teleop_subtask_seconds=3.0)


def _wait(cond, timeout=20.0):
    end = time.time() + timeout
    while not cond() and time.time() < end:
        time.sleep(0.02)
    assert cond()


def test_keys_labels_and_dataset(tmp_path):
    out = tmp_path / "demos"
    session = TeleopSession("hirl/Tabletop-v0", out, CFG, paused=True)
    session.start()
    try:
        session.keys(["ArrowRight", "w", "g"])
        a = session.action()
        assert a[0] == 1.0 and a[2] == 1.0 and a[1] == 0.0 and a[3] == 1.0  # right, up, gripper closing
        session.keys(["ArrowRight"])
        assert session.action()[3] == 1.0  # g released: the gripper stays closed until g is pressed again
        session.control("step")
        _wait(lambda: session.status().get("step", 0) >= 1)
        session.label("lift the block")
        session.control("resume")
        _wait(lambda: session.status()["phase"] == "ended", 60)  # the subtask budget ends the episode
        session.control("failure")
        _wait(lambda: len(session.status()["episodes"]) == 1)
    finally:
        session.control("finish")
        session.wait_finished(20)
    ds = load_dataset(out, images=False)
    ep = ds.episodes[0]
    texts = [str(t) for t in ep.subgoal_text]
    assert texts[0] != "lift the block" and texts[-1] == "lift the block"
    assert set(map(str, ep.subgoal_source)) == {"human"} and ep.intervention.sum() == 1
    acts = ep.actions.reshape(ep.T, -1)
    assert np.all(acts[:, 0] == 1.0) and np.all(acts[:, 3] == 1.0)  # the held key drove every step
    grip_x = ep.flat_obs(["observation"])[:, 0]
    assert grip_x[-1] > grip_x[0] + 0.02  # and the gripper moved right


def test_stale_keys_stop_the_robot(tmp_path):
    session = TeleopSession("hirl/Tabletop-v0", tmp_path / "demos", SessionConfig(key_timeout=0.05))
    session.keys(["ArrowUp"])
    assert session.action()[1] == 1.0
    time.sleep(0.1)
    assert session.action()[1] == 0.0


def test_terminal_commands_drive_a_correction_session(tiny_run, tmp_path):
    from hirl.teleop.session import CorrectionSession

    session = CorrectionSession.open(tiny_run, tmp_path / "s", SessionConfig(speed=5.0, image_size=48, chain_length=2),
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
    finally:
        assert handle(session, "q") == "finishing the session"
        session.wait_finished(20)
