"""A real browser drives a whole correction session: Debian's chromium (Playwright) starts the session, slows it down,
corrects (and sees text -> matched skill -> similarity), replaces a pending correction, is refused a near-miss,
undoes, takes over with the arrow keys, ends the episode (after a confirmation), finishes and reads the report in
the page. Focus never stays in the text box, so shortcuts keep working.

HIRL_SCREENSHOT_RUN=RUN HIRL_SCREENSHOT_DIR=docs/img [HIRL_SCREENSHOT_EVAL=20] runs the same session on a trained
run and saves the page's screenshots (docs/corrections.md)."""
import argparse
import io
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from hirl.integrations import adapter
from hirl.teleop.sessions.config import FinetuneSpec, SessionConfig
from hirl.teleop.ui.server import SessionServer
from hirl.teleop.sessions.session import CorrectionSession

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
    cfg = SessionConfig(speed=1.0, max_fps=8.0, image_size=96, chain_length=2 if run == tiny_run else 5, auto_pause_steps=0,
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
            natural = el("frame", "naturalWidth")  # at the displayed size, or smaller when the machine cannot render it
            assert shown >= 400 and natural <= shown + 16 and (natural >= shown - 16 or session.status()["render_scale"] < 1)
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
            if session.agent.subgoal is None:  # paused before the first control step ran: step once
                page.keyboard.press(".")
                _until(lambda: session.agent.subgoal is not None)
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
            page.wait_for_function("document.querySelector('#history tbody tr:nth-child(2)') && "
                                   "document.querySelector('#history tbody tr:nth-child(2)').className === 'replaced'")
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
            step = session.status()["step"]
            page.keyboard.down("ArrowUp")
            _until(lambda: session.status()["step"] >= step + 20, 60)  # held for 20 control steps (0.4 s at 1x)
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
    from hirl.teleop.sessions.drive import TeleopSession

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


NEAR_MISS = "pick up the purple block"  # refused: ambiguous between the blue and the green block


def _dom(page, expr):
    return page.evaluate(f"() => {expr}")


def _front_fps(session, seconds=3.0):
    """Distinct front frames rendered for the page per second (the page asks every 50 ms; a fresh one is rendered
    when the last is older than 1 / max_fps)."""
    seen, end = set(), time.time() + seconds
    while time.time() < end:
        seen.add(session.frames.frames["front"][2])
        time.sleep(0.01)
    return len(seen) / seconds


def _next_episode(page, session, s, events):
    """An ended episode: sometimes a note on it, then n; nothing of it survives in the match box."""
    page.wait_for_function("!document.getElementById('ended').hidden")  # the person sees it has ended
    if not s["saved"] and len(events) % 3 == 0:
        text = f"note {len(events)}"
        page.keyboard.press("e")
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        _until(lambda: session.status().get("note") == text)
        events.append("note")
    page.keyboard.press("n")
    episode = s["episode"]
    _until(lambda: session.status()["episode"] == episode + 1)
    events.append("next")
    page.wait_for_function(f"document.getElementById('episode-info').textContent.startsWith('episode {episode + 1}')")
    assert _dom(page, "document.getElementById('match').hidden") is True


def _on_cue(page, session, events, shot):
    """The cue shows: check what the page shows, sometimes a refused near-miss, accept the suggestion (y), sometimes
    undo it; the match box and the history follow each step."""
    page.wait_for_function("!document.getElementById('cue').hidden")
    assert "is not the subtask due now" in page.inner_text("#cue")
    assert _dom(page, "document.getElementById('budget').hidden") is False
    assert "steps" in page.inner_text("#budget-text") and "left" in page.inner_text("#budget-text")
    assert "why it began" in page.inner_text("#timeline") and page.inner_text("#subgoal-why")
    if shot:
        _shot(page, "cue")
    if len(events) % 4 == 0:  # a refused near-miss replaces whatever the match box showed
        page.keyboard.press("c")
        page.keyboard.type(NEAR_MISS)
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('match').textContent.includes('refused')")
        assert page.evaluate("document.activeElement.id") != "correction"
        events.append("refused")
    before = len(session.history)
    page.keyboard.press("y")  # accept the suggestion
    try:
        _until(lambda: len(session.history) > before, 10)
    except AssertionError:
        return  # the episode ended before the correction could be applied: the page said why
    events.append("accept")
    page.wait_for_function(f"document.getElementById('match').textContent.includes({session.history[-1]['skill']!r})")
    if len(events) % 5 == 0:  # undo it: the match box and the history say "undone" at once
        page.keyboard.press("u")
        page.wait_for_function("document.getElementById('match').textContent.includes('undone')")
        assert _dom(page, "document.querySelector('#history tbody tr').className") == "undone"
        events.append("undo")


def _take_over(page, session, events):
    page.keyboard.press("t")
    try:
        _until(lambda: session.status()["takeover_active"], 10)
    except AssertionError:
        raise AssertionError((page.inner_text("#message"), session.status()["phase"])) from None
    for _ in range(2):  # two steps driven
        step = session.status()["step"]
        page.keyboard.press(".")
        _until(lambda step=step: session.status()["step"] > step)
    page.keyboard.press("t")
    try:
        _until(lambda: not session.status()["takeover_active"], 10)
    except AssertionError:
        raise AssertionError((page.inner_text("#message"), session.status()["phase"])) from None
    page.wait_for_function("document.getElementById('history').textContent.includes('(simulated)')")
    events += ["takeover", "handback"]


def _check_tables(page, session):
    """After an hour: every entry, newest first, one line per row, scrollable, the episodes in view, the notes."""
    page.wait_for_timeout(400)
    assert _dom(page, "document.querySelectorAll('#history tbody tr').length") == len(session.history) > 15
    newest = session.history[-1]
    assert _dom(page, "document.querySelector('#history tbody tr td').textContent") == f"{newest['episode']}.{newest['step']}"
    assert _dom(page, "(() => { const b = document.getElementById('history').parentElement; "
                      "return b.scrollHeight > b.clientHeight; })()")
    assert _dom(page, "document.getElementById('episodes').getBoundingClientRect().top") < 960
    heights = _dom(page, "[...document.querySelectorAll('#history tbody tr, #episodes tbody tr')]"
                         ".map((r) => r.getBoundingClientRect().height)")
    assert max(heights) < 2 * min(heights), heights  # no cell wraps to a word per line
    assert "note " in page.inner_text("#episodes")


def _terminal_events(session, events, n=100):
    """The terminal on the same session: n lines, the panel at 120 columns after each."""
    from hirl.teleop.ui.scene_text import scene_text
    from hirl.teleop.ui.terminal import Panel, Terminal

    term = Terminal(session)
    tty = io.StringIO()
    tty.isatty = lambda: True
    size = argparse.Namespace(columns=120, lines=40)
    panel = Panel(tty, size=lambda: size)
    for _ in range(n):
        s = session.status()
        reply = term.handle("y" if s.get("suggestion") else "n" if s["phase"] == "ended" else "?")
        panel.show(session.status())
        lines = scene_text(session.status(), 119)
        assert all(len(line) <= 119 for line in lines)
        if session.status().get("mismatch"):
            assert any(line.startswith("!! MISMATCH") for line in lines)
        if reply.startswith("end episode"):
            term.handle("n")
        events.append("terminal")
        time.sleep(0.02)
    panel.close()
    assert tty.getvalue().endswith("\x1b[?1049l")


@pytest.mark.slow
def test_an_hour_like_session_in_both_uis(tiny_run, tmp_path):
    """110+ events in the page as a person works for a long while, then 100 in the terminal: the page shows the
    mismatch cue, the budget bar, the next proposal and the subgoal timeline; every panel follows the server's state
    after undos, refusals, episode changes and the end; buttons work only when their action can; the tables stay one
    line per row, newest first, scrollable, with notes; y accepts the suggestion. Screenshots with
    HIRL_SCREENSHOT_DIR (corrections-cue.png, corrections-hour.png, corrections-end.png)."""
    run = Path(os.environ.get("HIRL_SCREENSHOT_RUN") or tiny_run)
    cfg = SessionConfig(speed=1.0, image_size=96, chain_length=2 if run == tiny_run else 5)  # auto-pause: default
    session = CorrectionSession.open(run, tmp_path / "session", cfg, paused=True, retrain=False)
    server = SessionServer(session, "127.0.0.1", 0)
    server.serve_in_thread()
    session.start()
    events: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            page = browser.new_page(viewport={"width": 1440, "height": 960})
            page.goto(server.url)
            page.wait_for_function("document.getElementById('frame').naturalWidth > 0", timeout=20000)
            page.keyboard.press("Enter")
            _until(lambda: session.status()["phase"] in ("running", "paused"))
            fps = _front_fps(session)
            f = session.frames
            frame_cost = f.pixel_seconds * sum(w * h for w, h in f.sizes.values()) * f.scale ** 2
            print(f"front frames per second at 1x: {fps:.1f} (render scale {f.scale}, "
                  f"{1000 * frame_cost:.0f} ms to render both views)")
            if frame_cost < 0.04:  # a machine that renders both views in < 40 ms: the page gets >= 10 frames a second
                assert fps >= 10, fps  # (test_session_ui checks the pipeline itself with a free renderer)
            for _ in range(2):
                page.keyboard.press("]")  # 4x: an hour of events in a few minutes
            took_over, end = False, time.time() + 600
            while len(events) < 110 and time.time() < end:
                s = session.status()
                if s["phase"] == "ended":
                    _next_episode(page, session, s, events)
                elif s["phase"] == "paused" and s.get("mismatch") and s.get("suggestion"):  # auto-paused on a cue
                    _on_cue(page, session, events, shot="accept" not in events)
                    if not took_over and session.status()["phase"] == "paused":
                        _take_over(page, session, events)
                        took_over = True
                    if session.status()["phase"] == "paused":
                        page.keyboard.press(" ")
                        events.append("resume")
                else:
                    time.sleep(0.05)
            assert len(events) >= 110, (len(events), events[-10:])
            _check_tables(page, session)
            _shot(page, "hour")
            _terminal_events(session, events)
            # finishing: the page says nothing is trained (--no-retrain), then every action is off
            page.keyboard.press("Shift+Q")
            assert "nothing is fine-tuned" in page.inner_text("#confirm-text")
            page.keyboard.press("Enter")
            assert server.finish_requested.wait(10)
            session.finish()
            page.wait_for_function("!document.getElementById('report').hidden && "
                                   "document.getElementById('report-body').textContent.includes('nothing')")
            page.wait_for_timeout(400)
            enabled = _dom(page, "[...document.querySelectorAll('#controls button, #accept, #send')]"
                                 ".filter((b) => !b.disabled).map((b) => b.id)")
            assert enabled == [], enabled
            _shot(page, "end")
            browser.close()
    finally:
        server.shutdown()
        session.control("finish")
        session.wait_finished(10)
