"""kill -9 fault injection on correction sessions. Invariants: every correction the web session acknowledged (HTTP
200) is in the journal exactly once; a scripted loop killed anywhere and resumed journals each correction once and
its dataset loads. One fast run of each is in the default suite; the `slow` ones kill at several random times."""
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from hirl.data import load_dataset
from hirl.teleop.sessions.journal import CorrectionJournal

ENV = {**os.environ, "MUJOCO_GL": "egl", "HF_HUB_OFFLINE": "1"}
SESSION_OVERRIDES = ["speed=4.0", "image_size=32", "chain_length=2", "eval_episodes=1", "finetune.steps=2",
                     "finetune.batch_size=32"]


def start_web_session(run: Path, out: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "hirl.cli", "correct", str(run), "--out", str(out), "--port", "0",
                             "--autostart", *SESSION_OVERRIDES],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    end = time.time() + 90
    lines = []
    while time.time() < end:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"session page: (http://\S+/)", line)
        if m:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining its output
            return proc, m.group(1)
    proc.kill()
    raise AssertionError("the session did not start:\n" + "".join(lines))


def call(url: str, path: str, body: dict | None = None, timeout: float = 10.0) -> tuple[int, dict]:
    req = urllib.request.Request(url.rstrip("/") + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class Corrector(threading.Thread):
    """Sends corrections back to back (moving to the next episode when one ends); records the acknowledged ids."""

    def __init__(self, url: str, skills: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.skills, self.acked, self.errors = url, skills, [], []
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            try:
                status, body = call(self.url, "/api/correct", {"text": self.skills[i % len(self.skills)]})
            except OSError:  # killed
                return
            i += 1
            if status == 200:
                self.acked.append(body["id"])
            elif status == 409:  # the episode ended: next one
                call(self.url, "/api/control", {"action": "next"})
            elif status != 503:
                self.errors.append((status, body))


def web_session_killed(run: Path, out: Path, rng: random.Random, min_acks: int) -> list[str]:
    """One web session on out: corrections until at least min_acks are acknowledged, then kill -9 at a random moment
    while corrections are still being sent. Returns the acknowledged ids."""
    proc, url = start_web_session(run, out)
    try:
        skills = call(url, "/api/state")[1]["skills"]
        corrector = Corrector(url, skills)
        corrector.start()
        end = time.time() + 60
        while len(corrector.acked) < min_acks and time.time() < end and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))
        assert proc.poll() is None, "the session died by itself"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    corrector.stop.set()
    corrector.join(15)
    assert not corrector.errors, corrector.errors[:3]
    assert len(corrector.acked) >= min_acks
    return corrector.acked


def assert_each_acknowledged_once(out: Path, acked: list[str]) -> None:
    on_disk = [r["id"] for r in CorrectionJournal(out / "corrections.jsonl").read_all()]
    missing = [a for a in acked if a not in on_disk]
    twice = [a for a in acked if on_disk.count(a) != 1]
    assert not missing and not twice, (missing[:5], twice[:5])
    assert len(on_disk) == len(set(on_disk))


def test_web_session_killed_keeps_every_acknowledged_correction_once(tiny_run, tmp_path):
    out = tmp_path / "session"
    acked = web_session_killed(tiny_run, out, random.Random(0), min_acks=6)
    assert_each_acknowledged_once(out, acked)


@pytest.mark.slow
def test_web_sessions_killed_at_random_times_then_finished(tiny_run, tmp_path):
    out = tmp_path / "session"
    rng = random.Random(1)
    acked: list[str] = []
    for _ in range(5):
        acked += web_session_killed(tiny_run, out, rng, min_acks=rng.randint(1, 12))
        assert_each_acknowledged_once(out, acked)
    proc, url = start_web_session(tiny_run, out)  # a last session, finished from the page: the dataset loads
    try:
        call(url, "/api/control", {"action": "next"}, timeout=30)
        call(url, "/api/control", {"action": "finish"}, timeout=30)
        assert proc.wait(300) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_each_acknowledged_once(out, acked)
    report = json.loads((out / "session_report.json").read_text())
    assert report["finetune"]["high"]["correction_rows"] > 0
    load_dataset(out / "episodes", images=False)


LOOP = r"""
import sys
from hirl.teleop.sessions.config import CorrectionLoopConfig, FinetuneSpec, ScriptedCorrectorConfig
from hirl.teleop.sessions.loop import run_correction_loop
loop = CorrectionLoopConfig(episodes=[3, 2], chain_length=2, eval_episodes=0,
                            corrector=ScriptedCorrectorConfig(reaction_steps=3), finetune=FinetuneSpec(steps=2, batch_size=32))
run_correction_loop(sys.argv[1], sys.argv[2], loop, progress=lambda m: print(m, flush=True))
print("LOOP DONE", flush=True)
"""


def run_loop(run: Path, out: Path, kill_after: float | None) -> bool:
    """The loop in a subprocess, killed -9 after kill_after seconds of work (None: to the end). True if it finished."""
    proc = subprocess.Popen([sys.executable, "-c", LOOP, str(run), str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=ENV)
    try:
        if kill_after is None:
            text = proc.communicate(timeout=300)[0]
            assert proc.returncode == 0, text[-2000:]
            return True
        journal = out / "corrections.jsonl"
        end = time.time() + 90
        while not journal.exists() and time.time() < end and proc.poll() is None:  # until the first correction
            time.sleep(0.01)
        time.sleep(kill_after)
        finished = proc.poll() == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    return finished


def assert_loop_consistent(out: Path) -> None:
    records = CorrectionJournal(out / "corrections.jsonl").read_all()
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a correction was journaled twice"
    ds = load_dataset(out / "episodes", images=False)
    assert len(ds) == 5
    per_episode = [int(ep.intervention.sum()) for ep in ds.episodes]
    assert per_episode == [sum(r["episode"] == e for r in records) for e in range(5)]
    rounds = {r: json.loads((out / "rounds" / f"round{r}.json").read_text()) for r in (1, 2)}
    assert rounds[2]["corrections"] == len(records) == int(np.sum(per_episode))


def test_scripted_loop_killed_mid_episode_resumes_without_duplicates(tiny_run, tmp_path):
    out = tmp_path / "session"
    run_loop(tiny_run, out, kill_after=0.3)
    run_loop(tiny_run, out, kill_after=None)
    assert_loop_consistent(out)


@pytest.mark.slow
def test_scripted_loop_killed_at_random_times(tiny_run, tmp_path):
    rng = random.Random(2)
    out = tmp_path / "session"
    for _ in range(6):
        if run_loop(tiny_run, out, kill_after=rng.uniform(0.0, 3.0)):
            break
    run_loop(tiny_run, out, kill_after=None)
    assert_loop_consistent(out)
