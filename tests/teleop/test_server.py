"""The session server: the API on a live correction session, malformed requests (4xx, never a crash), the
token rule, page reloads, and the CLI's bind check."""
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from hirl.errors import InputError
from hirl.teleop.sessions.config import FinetuneSpec, SessionConfig
from hirl.teleop.ui.server import SessionServer, check_bind
from hirl.teleop.sessions.session import CorrectionSession

CFG = SessionConfig(speed=20.0, max_fps=10.0, image_size=64, chain_length=2, max_text=60, eval_episodes=1,
                    finetune=FinetuneSpec(steps=3, batch_size=32))


@pytest.fixture(scope="module")
def live(tiny_run, tmp_path_factory):
    session = CorrectionSession.open(tiny_run, tmp_path_factory.mktemp("s") / "session", CFG, paused=True)
    server = SessionServer(session, "127.0.0.1", 0)
    server.serve_in_thread()
    session.start()
    yield session, server
    server.shutdown()
    session.control("finish")
    session.wait_finished(10)


def request(server, path, body=None, ctype="application/json", headers=None, method=None):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{server.server_address[1]}{path}", data=data, method=method,
                                 headers={"Content-Type": ctype, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def raw(server, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
    return b"".join(chunks)


def state(server):
    return json.loads(request(server, "/api/state")[1])


def test_page_state_and_frame(live):
    session, server = live
    status, page, _ = request(server, "/")
    assert status == 200 and b'id="correction"' in page and b"/static/app.js" in page
    assert request(server, "/static/app.js")[0] == 200 and request(server, "/static/style.css")[0] == 200
    status, jpeg, headers = request(server, "/api/frame.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
    s = state(server)
    assert s["mode"] == "correct" and s["phase"] == "ready" and s["skills"] == session.resolver.skills  # not started
    assert s["started"] is False and s["step"] == 0  # opened paused: nothing ran before anyone looked
    status, jpeg, _ = request(server, "/api/frame.jpg?view=top&w=210&h=120")
    from PIL import Image
    import io
    from hirl.teleop.sessions.views import snap
    k = session.frames.scale  # 1 unless this machine cannot render the views shown at max_fps (then smaller)
    asked = (snap(round(210 * k)), snap(round(120 * k)))  # the asked size (x16)
    assert status == 200 and Image.open(io.BytesIO(jpeg)).size == asked
    assert request(server, "/api/frame.jpg?view=side")[0] == 400 and request(server, "/api/frame.jpg?w=big")[0] == 400


def test_a_correction_takes_effect_at_the_next_control_step(live):
    session, server = live
    skill = session.resolver.skills[-1]
    status, body, _ = request(server, "/api/correct", {"text": skill.upper()})
    assert status == 200 and json.loads(body)["skill"] == skill
    assert state(server)["pending"] == skill  # paused: pending until the session steps on
    assert request(server, "/api/control", {"action": "step"})[0] == 200
    deadline = time.time() + 10
    while (session.agent.subgoal is None or session.agent.subgoal.text != skill) and time.time() < deadline:
        time.sleep(0.02)
    # the low level executes the MATCHED skill, not the typed text
    assert session.agent.subgoal.text == skill and session.agent.subgoal.source == "human"
    assert session.agent.trace[-1].reason == "override"
    assert state(server)["subgoal"]["text"] == skill and state(server)["pending"] is None
    assert len(session.journal.read()) >= 1
    # a browser reload: the page and state are served again, the session goes on where it was
    assert request(server, "/")[0] == 200 and state(server)["corrections"] >= 1


@pytest.mark.parametrize("path, body, ctype, code, needle", [
    ("/api/correct", b"{not json", "application/json", 400, "not valid JSON"),
    ("/api/correct", b'["text"]', "application/json", 400, 'JSON object with "text"'),
    ("/api/correct", b"\xff\xfe bad", "application/json", 400, "not valid UTF-8"),
    ("/api/correct", b"open the drawer", "text/plain", 415, "send application/json"),
    ("/api/correct", b"text=open+the+drawer", "application/x-www-form-urlencoded", 415, "send application/json"),
    ("/api/correct", b'{"text": ""}', "application/json", 400, "empty"),
    ("/api/correct", json.dumps({"text": "x" * 61}).encode(), "application/json", 400, "the limit is 60"),
    ("/api/correct", b'{"text": "qqq zzz www"}', "application/json", 400, "not a known skill"),
    ("/api/correct", b'{"text": 5}', "application/json", 400, "expected text"),
    ("/api/control", b'{"action": "explode"}', "application/json", 400, "unknown control"),
    ("/api/keys", b'{"keys": ["w"]}', "application/json", 400, "unknown key"),
    ("/api/undo", b'{"id": "nope"}', "application/json", 400, "no such correction"),
    ("/api/takeover", b'{"on": "yes"}', "application/json", 400, "must be true"),
    ("/api/label", b'{"text": "open the drawer"}', "application/json", 404, "correction session"),
    ("/api/nothing", b"{}", "application/json", 404, "no such path"),
])
def test_bad_requests_get_4xx_with_a_reason(live, path, body, ctype, code, needle):
    _, server = live
    status, out, _ = request(server, path, body, ctype)
    assert status == code and needle in json.loads(out)["error"]


def test_malformed_http_never_crashes_the_server(live):
    _, server = live
    h = b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
    assert raw(server, b"GARBAGE\r\n\r\n")[9:12] == b"400"
    huge_header = b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n"
    assert raw(server, huge_header)[:12] in (b"HTTP/1.1 431", b"HTTP/1.1 400")
    assert raw(server, b"POST /api/correct HTTP/1.1\r\n" + h + b"\r\n").startswith(b"HTTP/1.1 411")
    assert raw(server, b"POST /api/correct HTTP/1.1\r\n" + h + b"Content-Length: abc\r\n\r\n").startswith(b"HTTP/1.1 400")
    too_long = b"POST /api/correct HTTP/1.1\r\n" + h + b"Content-Length: 99999999\r\n\r\n"
    assert raw(server, too_long).startswith(b"HTTP/1.1 413")
    assert raw(server, b"POST /api/correct HTTP/1.1\r\n" + h + b"Content-Length: 50\r\n\r\n{\"te").startswith(b"HTTP/1.1 400")
    assert raw(server, b"DELETE /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert raw(server, b"POST /api/state HTTP/1.1\r\n" + h + b"Content-Length: 0\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert state(server)["phase"] in ("ready", "paused", "running") and server.errors == []


def test_token_is_required_when_set(tiny_run, tmp_path):
    session = CorrectionSession.open(tiny_run, tmp_path / "s", CFG, paused=True)
    server = SessionServer(session, "127.0.0.1", 0, token="s3cret")
    server.serve_in_thread()
    try:
        assert request(server, "/api/state")[0] == 401
        assert request(server, "/api/state", headers={"X-Hirl-Token": "wrong"})[0] == 401
        assert request(server, "/api/state", headers={"X-Hirl-Token": "s3cret"})[0] == 200
        assert request(server, "/?token=s3cret")[0] == 200 and server.url.endswith("?token=s3cret")
        assert request(server, "/api/frame.jpg?token=s3cret")[0] == 503  # let in (<img> cannot send a header): no frame
        assert request(server, "/api/frame.jpg")[0] == 401
        assert request(server, "/static/app.js")[0] == 200  # the page's own script: no session data, no token
        # the token check comes before routing: an unknown path does not answer 404 to a stranger
        assert request(server, "/admin")[0] == 401 and request(server, "/admin", headers={"X-Hirl-Token": "s3cret"})[0] == 404
        # ?token= is for the page and the frames only: not for the API, and never on a POST
        assert request(server, "/api/state?token=s3cret")[0] == 401
        assert request(server, "/api/control?token=s3cret", {"action": "pause"})[0] == 401
        assert request(server, "/api/control", {"action": "pause"}, headers={"X-Hirl-Token": "s3cret"})[0] == 200
    finally:
        server.shutdown()
        server.server_close()
        session.control("finish")


def test_non_loopback_without_token_is_refused():
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "tok")
    with pytest.raises(InputError, match=r"--host 0\.0\.0\.0: .*needs --token"):
        check_bind("0.0.0.0", None)
    out = subprocess.run([sys.executable, "-m", "hirl.cli", "correct", "no-such-run", "--host", "192.168.1.5"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "needs --token" in out.stderr


def test_finish_retrains_and_reports_before_and_after(live):
    session, _ = live
    report = session.finish(eval_episodes=1)
    assert report["summary"]["corrections"] >= 1 and report["finetune"]["high"]["correction_rows"] >= 1
    assert "effort" in report and session.status()["report"]["stage"] == "done"  # the page shows the report
    assert set(report) >= {"before", "after"} and session.status()["phase"] == "finished"
    assert (session.out / "episodes" / "data").is_dir()  # the episode (with its correction) was written
