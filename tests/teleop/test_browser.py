"""A real browser drives a whole correction session: Debian's chromium (Playwright) starts the session, slows it down,
corrects (and sees text -> matched skill -> similarity), replaces a pending correction, is refused a near-miss,
undoes, takes over with the arrow keys, ends the episode (after a confirmation), finishes and reads the report in
the page. Focus never stays in the text box, so shortcuts keep working.

HIRL_SCREENSHOT_RUN=RUN HIRL_SCREENSHOT_DIR=docs/img [HIRL_SCREENSHOT_EVAL=20] runs the same session on a trained
run and saves the page's screenshots (docs/corrections.md)."""
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from hirl.integrations import adapter
from hirl.teleop.config import FinetuneSpec, SessionConfig
from hirl.teleop.server import SessionServer
from hirl.teleop.session import CorrectionSession

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (.ci/run installs it)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
SHOTS = os.environ.get("HIRL_SCREENSHOT_DIR")


def _until(cond, timeout=15.0):
    end = time.time() + timeout
    while not cond() and time.time() < end:
        time.sleep(0.02)
    assert cond()


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"corrections-{name}.png"))


def test_a_whole_session_in_the_browser(tiny_run, tmp_path):
    run = Path(os.environ.get("HIRL_SCREENSHOT_RUN") or tiny_run)
    cfg = SessionConfig(speed=1.0, max_fps=8.0, image_size=96, chain_length=2 if run == tiny_run else 5,
                        eval_episodes=int(os.environ.get("HIRL_SCREENSHOT_EVAL", "2")),
                        finetune=FinetuneSpec(steps=20, batch_size=32, low_steps=20))
    session = CorrectionSession.open(run, tmp_path / "session", cfg, paused=True)
    server = SessionServer(session, "127.0.0.1", 0)
    server.serve_in_thread()
    session.start()
    report: dict = {}
    try:
        with sync_api.sync_playwright() as p:
            args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            page = browser.new_page(viewport={"width": 1440, "height": 960})
            js = "(id) => document.getElementById(id)"
            el = lambda i, prop: page.evaluate(f"({js})('{i}').{prop}")  # noqa: E731
            page.goto(server.url)
            # 1. ready, not running: the start overlay, both views rendered at the size they are shown
            page.wait_for_function("document.getElementById('frame').naturalWidth > 0 && "
                                   "document.getElementById('frame-top').naturalWidth > 0", timeout=20000)
            assert session.status()["phase"] == "ready" and session.status()["step"] == 0
            assert el("start-overlay", "hidden") is False
            shown = el("frame", "clientWidth")
            assert shown >= 400 and abs(el("frame", "naturalWidth") - shown) <= 16  # not an upscaled thumbnail
            assert el("frame-top", "naturalWidth") >= 200
            page.keyboard.press("?")
            assert el("help", "hidden") is False and "shift+Q" in page.inner_text("#help")
            page.keyboard.press("Escape")
            _shot(page, "start")
            # 2. start, then slow motion and a pause
            page.keyboard.press("Enter")
            _until(lambda: session.status()["started"])
            for _ in range(2):
                page.keyboard.press("[")
            _until(lambda: session.status()["speed"] == 0.25)
            page.wait_for_function("document.getElementById('speed-info').textContent.includes('0.25x')")
            page.keyboard.press(" ")
            _until(lambda: session.status()["phase"] == "paused")
            # 3. a correction as a paraphrase: text -> matched skill -> similarity; the low level gets the skill
            active, due = session.agent.subgoal.text, session.status()["current"]
            para = adapter("hirl/Tabletop-v0").paraphrases
            skill = due if due != active and due in session.resolver.skills and para(due) else next(
                s for s in session.resolver.skills if s != active and para(s))
            typed = adapter("hirl/Tabletop-v0").paraphrases(skill)[0]
            page.keyboard.press("c")
            page.keyboard.type(typed)
            page.keyboard.press("Enter")
            page.wait_for_function("!document.getElementById('match').hidden")
            match = page.inner_text("#match")
            assert typed in match and skill in match and "similarity" in match and "pending" in match
            assert page.evaluate("document.activeElement.id") != "correction"  # focus left the box
            _shot(page, "correction")
            # 4. a second correction at the same paused state replaces the pending one, visibly
            other = next(s for s in session.resolver.skills if s not in (active, skill))
            page.keyboard.press("c")
            page.keyboard.type(other)
            page.keyboard.press("Enter")
            page.wait_for_function("document.getElementById('match').textContent.includes('replaces the pending')")
            assert [r["skill"] for r in session.journal.read()] == [other]
            # 5. a near-miss across colours is refused; focus leaves the box, so '.' steps instead of typing
            page.keyboard.press("c")
            page.keyboard.type("pick up the purple block")
            page.keyboard.press("Enter")
            page.wait_for_function("document.getElementById('message').className === 'error'")
            assert page.evaluate("document.activeElement.id") != "correction"
            # 6. undo: the correction leaves the training data (and is withdrawn before it acts)
            page.keyboard.press("u")
            try:
                page.wait_for_function("document.querySelector('#history tbody tr').className === 'undone'", timeout=15000)
            except Exception:
                raise AssertionError(" | ".join((page.inner_text("#phase"), page.inner_text("#message"),
                                                 page.inner_html("#history"), str(session.status())))) from None
            assert session.journal.read() == [] and session.status()["corrections"] == 0
            page.keyboard.press("c")
            page.keyboard.type(typed)
            page.keyboard.press("Enter")
            _until(lambda: session.status()["pending"] == skill)
            page.keyboard.press(".")  # one step: the pending correction acts
            _until(lambda: session.agent.subgoal.text == skill and session.agent.subgoal.source == "human")
            assert session.hierarchy.subgoal.text == skill  # the MATCHED skill, not the typed text
            # 7. take over: the arrows drive, the steps are recorded as a takeover of the active skill
            page.keyboard.press("t")
            _until(lambda: session.status()["takeover_active"])
            page.wait_for_function("!document.getElementById('drive-help').hidden")  # the page knows you drive
            page.keyboard.press("]")
            page.keyboard.press("]")
            page.keyboard.press(" ")  # resume at 1x
            page.keyboard.down("ArrowUp")
            time.sleep(0.6)
            _shot(page, "takeover")
            page.keyboard.up("ArrowUp")
            page.keyboard.press(" ")  # pause
            page.keyboard.press("t")
            _until(lambda: not session.status()["takeover_active"])
            page.wait_for_function("[...document.querySelectorAll('#history tbody tr td:nth-child(2)')]"
                                   ".some((td) => td.textContent.startsWith('takeover'))")
            drives = session.takeover_journal.read()
            assert len(drives) == 1 and drives[0]["skill"] == skill and len(drives[0]["actions"]) > 5
            assert any(a[0] > 0.5 for a in drives[0]["actions"]), drives[0]["actions"][:40]  # ArrowUp: +x, up the screen
            # 8. ending asks first; Escape keeps the episode running; Enter ends it as a success, saved, no new episode
            episode = session.status()["episode"]
            page.keyboard.press("Shift+S")
            assert el("confirm", "hidden") is False
            page.keyboard.press("Escape")
            assert el("confirm", "hidden") is True and session.status()["phase"] == "paused"
            page.keyboard.press("Shift+S")
            page.keyboard.press("Enter")
            _until(lambda: session.status()["saved"])
            page.wait_for_function("document.getElementById('ended').textContent.includes('ended by you as a success')")
            assert session.status()["episode"] == episode  # a verdict never starts the next episode
            eps = session.status()["episodes"]
            assert eps[-1]["corrections"] == 1 and eps[-1]["takeovers"] == 1 and eps[-1]["human_label"] == "success"
            page.keyboard.press("n")
            _until(lambda: session.status()["episode"] == episode + 1)
            # 9. finish asks first, then the report appears in the page
            page.keyboard.press("Shift+Q")
            page.keyboard.press("Enter")
            assert server.finish_requested.wait(10)
            worker = threading.Thread(target=lambda: report.update(session.finish()), daemon=True)
            worker.start()  # what `hirl correct` does: finish while the page keeps showing the progress
            page.wait_for_function("!document.getElementById('report').hidden && document.getElementById('report-body')"
                                   ".textContent.includes('points per minute')", timeout=180000)
            worker.join(60)
            text = page.inner_text("#report-body")
            assert "1 corrections, 1 takeovers" in text and "before" in text and "points per minute" in text
            assert report["summary"]["corrections"] == 1 and report["summary"]["takeovers"] == 1
            assert set(report["finetune"]) == {"high", "low"}  # each kind of intervention trained its own level
            _shot(page, "report")
            browser.close()
    finally:
        server.shutdown()
        session.control("finish")
        session.wait_finished(10)


def test_teleop_in_the_browser(tmp_path):
    from hirl.teleop.drive import TeleopSession

    session = TeleopSession("hirl/Tabletop-v0", tmp_path / "demos",
                            SessionConfig(speed=1.0, max_fps=8.0, image_size=96, chain_length=1, key_timeout=1.0),
                            paused=True)
    server = SessionServer(session, "127.0.0.1", 0)
    server.serve_in_thread()
    session.start()
    try:
        with sync_api.sync_playwright() as p:
            args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server.url)
            page.wait_for_function("document.getElementById('frame').naturalWidth > 0", timeout=20000)
            page.keyboard.press("Enter")
            page.wait_for_function("document.getElementById('phase').textContent.includes('first label')")
            page.keyboard.press("l")
            page.keyboard.type("do a backflip")
            page.keyboard.press("Enter")
            page.wait_for_function("document.getElementById('message').textContent.includes('add as new skill')")
            assert session.status()["step"] == 0 and page.evaluate("document.activeElement.id") != "correction"
            page.keyboard.press("l")
            page.keyboard.press("Control+A")
            page.keyboard.type("pick up the red block")
            page.keyboard.press("Enter")
            _until(lambda: session.status()["step"] > 0)
            x0 = session.status()["scene"]["gripper"][0]
            page.keyboard.down("ArrowUp")  # up the screen: +x
            time.sleep(0.8)
            page.keyboard.up("ArrowUp")
            assert session.status()["scene"]["gripper"][0] > x0 + 0.03
            browser.close()
    finally:
        server.shutdown()
        session.control("finish")
        session.wait_finished(10)
