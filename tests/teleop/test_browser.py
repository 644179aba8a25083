"""A real browser on the correction page: Debian's chromium driven by Playwright loads the page, sees a camera
frame, types a correction and the agent's active subgoal changes; a reload keeps the session."""
import shutil
import time

import pytest

from hirl.teleop.config import SessionConfig
from hirl.teleop.server import SessionServer
from hirl.teleop.session import CorrectionSession

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (.ci/run installs it)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")


def test_page_shows_a_frame_and_a_typed_correction_changes_the_subgoal(tiny_run, tmp_path):
    session = CorrectionSession.open(tiny_run, tmp_path / "session",
                                     SessionConfig(speed=0.5, max_fps=5.0, image_size=96, chain_length=2), paused=True)
    server = SessionServer(session, "127.0.0.1", 0)
    server.serve_in_thread()
    session.start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page()
            page.goto(server.url)
            page.wait_for_function("document.getElementById('frame').naturalWidth > 0", timeout=15000)
            assert page.evaluate("document.getElementById('frame').naturalWidth") == 96  # a rendered camera frame
            page.keyboard.press(".")  # shortcut: one control step (the high level proposes its first subgoal)
            page.wait_for_function("document.getElementById('subgoal').textContent !== '-'", timeout=15000)
            before = session.agent.subgoal.text
            target = next(s for s in session.resolver.skills if s != before)
            page.keyboard.press("c")  # shortcut: focus the correction box
            page.keyboard.type(target)
            page.keyboard.press("Enter")
            # the step's own "ok" message is already showing: wait for the correction's reply itself
            page.wait_for_function("([t]) => { const m = document.getElementById('message'); "
                                   "return m.className === 'ok' && m.textContent.includes(t); }", arg=[target], timeout=10000)
            assert session.agent.subgoal.text == before  # paused: the correction waits for the next control step
            page.click("#step")
            deadline = time.time() + 10
            while session.agent.subgoal.text != target and time.time() < deadline:
                time.sleep(0.02)
            assert session.agent.subgoal.text == target and session.agent.subgoal.source == "human"
            page.wait_for_function(f"document.getElementById('subgoal').textContent === {target!r}", timeout=10000)
            # an unknown instruction: a clear message in the page, the subgoal unchanged
            page.fill("#correction", "qqq zzz www")
            page.press("#correction", "Enter")
            page.wait_for_function("document.getElementById('message').className === 'error'", timeout=10000)
            assert "not a known skill" in page.inner_text("#message") and session.agent.subgoal.text == target
            page.reload()  # the session survives a reload
            page.wait_for_function("document.getElementById('summary').textContent.includes('1 corrections')", timeout=10000)
            browser.close()
    finally:
        server.shutdown()
        session.control("finish")
        session.wait_finished(10)
