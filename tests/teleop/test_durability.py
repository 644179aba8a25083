"""Acknowledged means durable, once: the journal (torn tail repaired, ids, replaced records), the session folder lock,
corrections journaled before they are acknowledged, several corrections at one paused state, a scripted loop resumed
after a kill mid-episode, and a failed session set-up that leaves no half-copied network."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from hirl.data import load_dataset
from hirl.errors import InputError
from hirl.teleop.sessions import live as live_mod
from hirl.teleop.sessions import store as store_mod
from hirl.teleop.sessions.config import CorrectionLoopConfig, FinetuneSpec, ScriptedCorrectorConfig, SessionConfig
from hirl.teleop.sessions.drive import TeleopSession
from hirl.teleop.sessions.journal import CorrectionJournal, live_records
from hirl.teleop.sessions.live import NotApplied
from hirl.runs.rundir import FolderLock
from hirl.teleop.sessions.loop import run_correction_loop
from hirl.teleop.sessions.session import CorrectionSession

CFG = SessionConfig(speed=20.0, max_fps=10.0, image_size=48, chain_length=2, eval_episodes=1,
                    finetune=FinetuneSpec(steps=3, batch_size=32))


def _wait(cond, timeout=20.0):
    end = time.time() + timeout
    while not cond() and time.time() < end:
        time.sleep(0.02)
    assert cond()


# ---------------------------------------------------------------------------------------------- the journal
def test_a_torn_tail_is_cut_off_before_the_next_append(tmp_path):
    j = CorrectionJournal(tmp_path / "c.jsonl")
    j.append({"id": "a", "step": 1})
    with open(j.path, "ab") as fh:
        fh.write(b'{"id": "b", "step": 2, "obs": [1, 2')  # killed mid-write: never acknowledged
    again = CorrectionJournal(j.path)  # the next session
    again.append({"id": "c", "step": 3})
    assert [r["id"] for r in again.read()] == ["a", "c"] and again.repaired_bytes > 0
    assert j.path.read_bytes().count(b"\n") == 2 and not list(tmp_path.glob(".c.jsonl.*"))  # no temp file left


def test_a_whole_last_record_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"id": "a"}\n{"id": "b"}')
    j = CorrectionJournal(path)
    j.append({"id": "c"})
    assert [r["id"] for r in j.read()] == ["a", "b", "c"]


def test_a_bad_middle_line_is_still_an_error(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(InputError, match=r"c.jsonl:2: not a correction record"):
        CorrectionJournal(path).read()


def test_live_records_drop_repeated_ids_and_replaced_records():
    recs = [{"id": "a"}, {"id": "b"}, {"id": "a"}, {"id": "c", "replaces": "b"}, {"x": 1}, {"id": "d", "replaces": None}]
    assert [r.get("id") for r in live_records(recs)] == ["a", "c", None, "d"]


def test_discard_rewrites_atomically(tmp_path):
    j = CorrectionJournal(tmp_path / "c.jsonl")
    for i in range(4):
        j.append({"id": str(i), "episode": i % 2})
    assert j.discard(lambda r: r["episode"] == 1) == 2 and [r["id"] for r in j.read()] == ["0", "2"]
    assert j.discard(lambda r: False) == 0 and not list(tmp_path.glob(".c.jsonl.*"))


# ---------------------------------------------------------------------------------------------- the folder lock
HOLD = ("import sys, time\nfrom hirl.runs.rundir import FolderLock\n"
        "lock = FolderLock(sys.argv[1], 'correction session').acquire()\nprint('held', flush=True)\ntime.sleep(60)\n")


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "s")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=rf"in use by another correction session \(pid {holder.pid} .*since"):
            FolderLock(tmp_path / "s", "correction session").acquire()
        with pytest.raises(InputError, match=rf"in use by a correction session \(pid {holder.pid} .*since"):
            FolderLock(tmp_path / "s", "teleop session").acquire()  # the holder's kind, not the asking one's
        with pytest.raises(InputError, match=r"in use by an? correction session"):
            FolderLock(tmp_path / "s", "evaluation").acquire()
    finally:
        holder.kill()
        holder.wait()
    with FolderLock(tmp_path / "s"):  # released by the OS when the holder died (even kill -9)
        pass


def test_hirl_teleop_on_a_correction_sessions_folder_names_the_correction_session(tmp_path):
    """The issue's case through the command: `hirl teleop --out S` while a correction session holds S."""
    import contextlib
    import io

    from hirl.cli import main

    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "s")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["teleop", "--out", str(tmp_path / "s"), "--port", "0", "image_size=48"])
    finally:
        holder.kill()
        holder.wait()
    lines = err.getvalue().strip().splitlines()
    assert rc == 2 and len(lines) == 1, err.getvalue()
    assert f"{tmp_path / 's'}: in use by a correction session (pid {holder.pid} " in lines[0]
    assert "teleop session" not in lines[0]


def test_lock_records_of_older_writers_name_the_asking_kind(tmp_path):
    """A lock file written before holders recorded their kind (no "what"): the message falls back to "another"."""
    from hirl.runs.rundir import holder_kind

    assert holder_kind('{"pid": 1}', "teleop session") == "another teleop session"
    assert holder_kind("not json", "collection") == "another collection"
    assert holder_kind('{"pid": 1, "what": "evaluation"}', "training run") == "an evaluation"


def test_two_sessions_on_one_folder_and_a_session_of_another_run(tiny_run, tmp_path):
    first = CorrectionSession.open(tiny_run, tmp_path / "s", CFG, paused=True)
    try:
        with pytest.raises(InputError, match=r"in use by another correction session \(pid \d+"):
            CorrectionSession.open(tiny_run, tmp_path / "s", CFG, paused=True)
    finally:
        first.close()
    other = tmp_path / "other-run"
    shutil.copytree(tiny_run, other)
    with pytest.raises(InputError, match=r"a session of the run .* not of"):
        CorrectionSession.open(other, tmp_path / "s", CFG, paused=True)
    cfg = yaml.safe_load((other / "config.yaml").read_text())
    cfg["seed"] = int(cfg.get("seed", 0)) + 17
    (other / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(InputError, match=r"holds another run's config\.yaml"):  # --out is a run folder: never overwritten
        CorrectionSession.open(tiny_run, other, CFG, paused=True)


def test_a_second_hirl_correct_exits_2_naming_the_holder(tiny_run, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "s")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        out = subprocess.run([sys.executable, "-m", "hirl.cli", "correct", str(tiny_run), "--out", str(tmp_path / "s"),
                              "--port", "0"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "MUJOCO_GL": "egl"})
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and f"pid {holder.pid}" in out.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [".lock"]  # nothing else was written


def test_a_failed_copy_leaves_no_half_copied_network(tiny_run, tmp_path, monkeypatch):
    real = shutil.copytree

    def dies_midway(src, dst, **kw):
        os.makedirs(dst)
        shutil.copy2(os.path.join(src, "config.json"), dst)  # the weights never arrive
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod.shutil, "copytree", dies_midway)
    with pytest.raises(OSError):
        CorrectionSession.open(tiny_run, tmp_path / "s", CFG, paused=True)
    models = tmp_path / "s" / "models"
    assert not any(p.name == "weights.safetensors" or p.name == "config.json" for p in models.rglob("*")
                   if not any(part.startswith(".") for part in p.relative_to(models).parts))
    monkeypatch.setattr(store_mod.shutil, "copytree", real)
    session = CorrectionSession.open(tiny_run, tmp_path / "s", CFG, paused=True)  # the rerun copies whole networks
    session.close()
    assert not [p for p in models.rglob(".*.tmp-*")]


# ---------------------------------------------------------------------------------------------- acknowledged = journaled
@pytest.fixture()
def paused(tiny_run, tmp_path):
    session = CorrectionSession.open(tiny_run, tmp_path / "s", CFG, paused=True)
    session.start()
    yield session
    session.control("finish")
    session.wait_finished(20)
    session.close()


def _on_disk(session):
    return CorrectionJournal(session.journal.path).read_all()


def test_a_correction_is_on_disk_when_acknowledged(paused):
    skills = paused.resolver.skills
    for i in range(3):  # running at speed 20 between corrections: each is journaled before correct() returns
        applied = paused.correct(skills[i % len(skills)])
        assert applied.id in {r["id"] for r in _on_disk(paused)}
        paused.control("step")


def test_several_corrections_at_one_paused_state_train_once(paused):
    skills = paused.resolver.skills
    paused.control("step")
    _wait(lambda: paused.agent.subgoal is not None and paused.status()["phase"] == "paused")
    first = paused.correct(skills[0])
    second = paused.correct(skills[1 % len(skills)])
    third = paused.correct(skills[-1])
    assert (first.step, second.step) == (third.step, third.step) and third.replaces == skills[1 % len(skills)]
    assert "replaces" in third.message()
    raw = _on_disk(paused)
    assert [r["id"] for r in raw] == [first.id, second.id, third.id]  # every acknowledged record is on disk ...
    assert [r["id"] for r in paused.journal.read()] == [third.id]  # ... and only the last one of the state trains
    assert paused.status()["corrections"] == 1
    paused.control("step")
    _wait(lambda: paused.agent.subgoal.text == skills[-1])
    _wait(lambda: paused.status()["phase"] == "paused")
    fourth = paused.correct(skills[0])  # a new state: a new row
    assert fourth.replaces is None and len(paused.journal.read()) == 2 and paused.status()["corrections"] == 2


def test_a_correction_that_cannot_be_journaled_is_refused_and_not_applied(paused, tmp_path):
    paused.control("step")
    _wait(lambda: paused.agent.subgoal is not None and paused.status()["phase"] == "paused")
    before = paused.agent.subgoal.text
    (tmp_path / "file").write_text("x")
    broken = CorrectionJournal(tmp_path / "file" / "c.jsonl")  # its folder is a file: every write fails
    paused.journal = paused.corrections.journal = broken
    with pytest.raises(NotApplied, match="could not be journaled") as info:
        paused.correct(next(s for s in paused.resolver.skills if s != before))
    assert info.value.status == 503
    paused.control("step")
    _wait(lambda: paused.status()["step"] >= 2)
    assert paused.agent.subgoal.source != "human" and paused.status()["corrections"] == 0


def test_a_correction_the_session_never_reaches_is_refused(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(live_mod, "ACK_TIMEOUT", 0.3)
    session = CorrectionSession.open(tiny_run, tmp_path / "s", CFG, paused=True)  # never started
    try:
        with pytest.raises(NotApplied, match=r"did not reach a control step within 0\.3 s; not recorded"):
            session.correct(session.resolver.skills[0])
        assert _on_disk(session) == [] and session._requests == []
    finally:
        session.close()


def test_a_teleop_label_is_journaled_when_acknowledged(tmp_path):
    session = TeleopSession("hirl/Tabletop-v0", tmp_path / "demos", SessionConfig(speed=50.0, image_size=48,
                                                                                  chain_length=1), paused=True)
    session.start()
    try:
        assert session.label("open the drawer") == "open the drawer"  # the episode waits at step 0 for it
        on_disk = CorrectionJournal(tmp_path / "demos" / "labels.jsonl").read_all()
        assert [r["text"] for r in on_disk] == ["open the drawer"] and on_disk[0]["id"]
        session.label("push the button")  # same paused step: replaces the first
        assert [r["text"] for r in CorrectionJournal(tmp_path / "demos" / "labels.jsonl").read()] == ["push the button"]
        assert session.status()["labels"] == 1
        session.control("step")
        assert session.control("failure").endswith("press next for the next episode")  # answers once written
        assert len(session.store) == 1
    finally:
        session.control("finish")
        session.wait_finished(20)
        session.close()


# ---------------------------------------------------------------------------------------------- scripted loop resume
def test_a_loop_resumed_after_a_kill_mid_episode_journals_each_correction_once(tiny_run, tmp_path):
    out = tmp_path / "session"
    loop = CorrectionLoopConfig(episodes=[2], chain_length=2, eval_episodes=0, rollout_seed=70100,  # both corrected
                                corrector=ScriptedCorrectorConfig(reaction_steps=3),
                                finetune=FinetuneSpec(steps=2, batch_size=32))
    whole = run_correction_loop(tiny_run, out, loop, progress=lambda m: None)
    records = CorrectionJournal(out / "corrections.jsonl").read()
    last = max(r["episode"] for r in records)
    assert records and last == 1
    # the state a kill leaves after episode 1's corrections were journaled but before the episode was written:
    # no episode file, no round file, the high level not yet fine-tuned
    (out / "episodes" / "journal" / "episode_000001.npz").unlink()
    (out / "rounds" / "round1.json").unlink()
    shutil.rmtree(out / "train" / "correct1")
    shutil.rmtree(out / "models" / "adapted" / "high_language")
    shutil.copytree(tiny_run / "models" / "high_language", out / "models" / "adapted" / "high_language")
    again = run_correction_loop(tiny_run, out, loop, progress=lambda m: None)
    after = CorrectionJournal(out / "corrections.jsonl").read_all()
    ids = [r["id"] for r in after]
    assert len(ids) == len(set(ids)) == len(CorrectionJournal(out / "corrections.jsonl").read())  # nothing twice
    assert [r for r in after if r["episode"] == 0] == [r for r in records if r["episode"] == 0]  # written: kept
    assert again["1"]["corrections"] == len(after) and whole["1"]["corrections"] == len(records)
    ds = load_dataset(out / "episodes", images=False)
    assert len(ds) == 2
    for e, ep in enumerate(ds.episodes):  # each journaled correction is one intervention of a written episode
        assert int(ep.intervention.sum()) == sum(r["episode"] == e for r in after)


def test_the_loop_holds_its_folder(tiny_run, tmp_path):
    with FolderLock(tmp_path / "session", "correction session"):  # named as what holds it, not as the loop
        with pytest.raises(InputError, match=r"in use by a correction session \(pid \d+"):
            run_correction_loop(tiny_run, tmp_path / "session", CorrectionLoopConfig(episodes=[1], eval_episodes=0),
                                progress=lambda m: None)


def test_session_report_counts_are_consistent(paused):
    skills = paused.resolver.skills
    paused.control("step")
    _wait(lambda: paused.status()["phase"] == "paused")
    paused.correct(skills[0])
    paused.correct(skills[-1])  # replaces the first
    assert paused.summary()["corrections"] == 1
    report = paused.finish(retrain=False)
    assert report["summary"]["corrections"] == 1 == len(paused.journal.read())
    assert json.dumps(report)
