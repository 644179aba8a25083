"""The session server as an attacker meets it, on a stub session (fast, and every call it receives is visible):
cross-origin and non-JSON POSTs, DNS rebinding (Host), a request smuggled behind an error, slow / half-open clients
and the connection cap, HTTP/0.9. Loopback only; every socket has a timeout and every test stops by itself."""
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from hirl.errors import InputError
from hirl.teleop.ui import server as server_mod
from hirl.teleop.ui.server import SessionServer, check_bind, host_name
from hirl.teleop.sessions.session import Applied
from hirl.teleop.sessions.skills import Resolution

STEP = b'{"action":"step"}'


class StubSession:
    """Records every call the server makes; accepts everything."""

    mode = "correct"

    def __init__(self):
        self.calls = []

    def status(self):
        return {"phase": "running", "mode": self.mode}

    def frame(self):
        return b"\xff\xd8stub", 1

    def correct(self, raw):
        self.calls.append(("correct", raw))
        return Applied(Resolution(str(raw), str(raw), "exact", 1.0), "stub-e0-s0", 0, 0)

    def label(self, raw):
        self.calls.append(("label", raw))
        return str(raw)

    def keys(self, held):
        self.calls.append(("keys", tuple(held)))
        return "ok"

    def control(self, action):
        self.calls.append(("control", action))
        return action


@pytest.fixture()
def served():
    servers = []

    def make(**kwargs):
        stub = StubSession()
        srv = SessionServer(stub, kwargs.pop("host", "127.0.0.1"), 0, **kwargs)
        srv.serve_in_thread()
        servers.append(srv)
        return stub, srv

    yield make
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def exchange(srv, payload: bytes, timeout: float = 5.0, host: str = "127.0.0.1") -> bytes:
    """Send payload on one connection (left open for writing) and read until the server closes it."""
    with socket.create_connection((host, srv.server_address[1]), timeout=timeout) as s:
        s.sendall(payload)
        chunks = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                c = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not c:
                break
            chunks.append(c)
    return b"".join(chunks)


def closed_by_server(s: socket.socket) -> bool:
    """True when the peer has closed s (end of stream or reset) within a second."""
    s.settimeout(1.0)
    try:
        while s.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def post(srv, path, body, headers=None, ctype="application/json"):
    h = {"Host": f"127.0.0.1:{srv.server_address[1]}", "Content-Type": ctype, "Content-Length": str(len(body)),
         **(headers or {})}
    lines = "".join(f"{k}: {v}\r\n" for k, v in h.items() if v is not None)
    out = exchange(srv, f"POST {path} HTTP/1.1\r\n{lines}Connection: close\r\n\r\n".encode() + body)
    return int(out[9:12] or 0), out


def get(srv, path, host=None, headers=None):
    h = {"Host": f"127.0.0.1:{srv.server_address[1]}" if host is None else host, **(headers or {})}
    lines = "".join(f"{k}: {v}\r\n" for k, v in h.items())
    out = exchange(srv, f"GET {path} HTTP/1.1\r\n{lines}Connection: close\r\n\r\n".encode())
    return int(out[9:12] or 0), out


# ---------------------------------------------------------------------------------------------- Origin, CSRF
@pytest.mark.parametrize("path, body, ctype, headers", [
    ("/api/correct", b"open the drawer", "text/plain", {"Origin": "http://evil.example"}),  # the probe
    ("/api/label", b"open the drawer", "text/plain", {"Origin": "http://evil.example"}),
    ("/api/control", b"action=finish", "application/x-www-form-urlencoded", {"Origin": "http://evil.example"}),
    ("/api/keys", b"keys=ArrowUp", "application/x-www-form-urlencoded", {"Origin": "http://evil.example"}),
    ("/api/correct", b'{"text":"open the drawer"}', "application/json", {"Origin": "http://evil.example"}),
    ("/api/control", STEP, "application/json", {"Origin": "null"}),  # sandboxed frames, file:// pages
    ("/api/control", STEP, "application/json", {"Origin": "http://127.0.0.1:1"}),  # another port is another origin
    ("/api/control", STEP, "application/json", {"Referer": "http://evil.example/page"}),
    ("/api/control", STEP, "text/plain", {}),  # no Origin at all: still not JSON
    ("/api/control", STEP, None, {}),
    ("/api/correct", b"--x\r\n\r\nopen\r\n--x--", "multipart/form-data; boundary=x", {}),
])
def test_cross_origin_or_non_json_posts_are_refused(served, path, body, ctype, headers):
    stub, srv = served()
    status, out = post(srv, path, body, headers, ctype)
    assert status in (403, 415) and b'"error"' in out and stub.calls == []


def test_same_origin_and_non_browser_posts_are_accepted(served):
    stub, srv = served()
    port = srv.server_address[1]
    assert post(srv, "/api/control", STEP, {"Origin": f"http://127.0.0.1:{port}"})[0] == 200
    assert post(srv, "/api/control", STEP, {"Referer": f"http://127.0.0.1:{port}/?token=x"})[0] == 200
    assert post(srv, "/api/control", STEP)[0] == 200  # curl / scripts send neither Origin nor Referer
    assert post(srv, "/api/correct", b'{"text":"open the drawer"}', ctype="application/json; charset=utf-8")[0] == 200
    assert post(srv, "/api/control", STEP, {"Origin": f"http://localhost:{port}", "Host": f"localhost:{port}"})[0] == 200
    assert [c[0] for c in stub.calls] == ["control", "control", "control", "correct", "control"]


# ---------------------------------------------------------------------------------------------- Host, DNS rebinding
def test_host_header_is_restricted_to_the_bound_address(served):
    stub, srv = served()
    port = srv.server_address[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "", "localhost.evil"):
        assert get(srv, "/", host=host)[0] in (400, 421), host
        assert get(srv, "/api/state", host=host)[0] in (400, 421), host
    # a rebinding page is same-origin with itself: its Origin matches its Host, and the Host check stops it
    status, _ = post(srv, "/api/control", STEP, {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"})
    assert status == 421 and stub.calls == []
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST", "localhost:9000"):
        assert get(srv, "/api/state", host=host)[0] == 200, host  # (another port: an ssh tunnel's)
    two_hosts = b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n"
    assert exchange(srv, two_hosts)[9:12] == b"400"


def test_host_given_with_host_and_allowed_hosts_is_accepted(served):
    _, srv = served(host="127.0.0.2", allowed_hosts=["tunnel.example"])
    port = srv.server_address[1]
    assert exchange(srv, f"GET /api/state HTTP/1.1\r\nHost: 127.0.0.2:{port}\r\nConnection: close\r\n\r\n".encode(),
                    host="127.0.0.2")[9:12] == b"200"
    assert exchange(srv, b"GET /api/state HTTP/1.1\r\nHost: tunnel.example\r\nConnection: close\r\n\r\n",
                    host="127.0.0.2")[9:12] == b"200"
    assert exchange(srv, b"GET /api/state HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n",
                    host="127.0.0.2")[9:12] == b"421"


def test_host_name_parsing():
    assert host_name("127.0.0.1:8765") == "127.0.0.1" and host_name("[::1]:8765") == "::1"
    assert host_name("LocalHost") == "localhost" and host_name("::1") == "::1"
    for bad in ("[::1]evil.example", "127.0.0.1:1@evil.example", "127.0.0.1:99999999", "local host", "[::1", "a/b"):
        assert host_name(bad) == "", bad  # not exactly a host (and port): matches no allowed name


def test_smuggled_hosts_origins_and_targets_are_refused(served):
    stub, srv = served()
    port = srv.server_address[1]
    for host in ("[::1]evil.example", f"127.0.0.1:{port}@evil.example", "127.0.0.1:1@evil.example"):
        assert get(srv, "/api/state", host=host)[0] in (400, 421), host
    same = f"http://127.0.0.1:{port}"
    two_origins = (f"POST /api/control HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {same}\r\nOrigin: http://evil.example"
                   f"\r\nContent-Type: application/json\r\nContent-Length: {len(STEP)}\r\nConnection: close\r\n\r\n")
    assert exchange(srv, two_origins.encode() + STEP)[9:12] == b"400"
    absolute = f"GET http://evil.example/api/state HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    assert exchange(srv, absolute.encode())[9:12] == b"400"
    status, out = post(srv, "/api/correct", b'{"text": "open the \\ud800 drawer"}')
    assert status == 400 and b"surrogate" in out
    assert stub.calls == [] and srv.errors == []  # nothing reached the session, no 500


# ---------------------------------------------------------------------------------------------- smuggling
HIDDEN = (b"POST /api/control HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          b"Content-Length: 17\r\n\r\n" + STEP)


def _h(extra: bytes = b"") -> bytes:
    return b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra


@pytest.mark.parametrize("name, first, token", [
    ("413", b"POST /api/correct HTTP/1.1\r\n" + _h(b"Content-Length: 999999\r\n\r\n"), None),
    ("411", b"POST /api/correct HTTP/1.1\r\n" + _h(b"\r\n"), None),
    ("411 chunked", b"POST /api/correct HTTP/1.1\r\n" + _h(b"Transfer-Encoding: chunked\r\n\r\n"), None),
    ("400 CL+TE", b"POST /api/correct HTTP/1.1\r\n" + _h(b"Content-Length: 170\r\nTransfer-Encoding: chunked\r\n\r\n"), None),
    ("400 two CL", b"POST /api/correct HTTP/1.1\r\n" + _h(b"Content-Length: 0\r\nContent-Length: 170\r\n\r\n"), None),
    ("400 CL +1", b"POST /api/correct HTTP/1.1\r\n" + _h(b"Content-Length: +170\r\n\r\n"), None),
    ("401", b"POST /api/correct HTTP/1.1\r\n" + _h(b"Content-Length: 170\r\n\r\n"), "tok"),
    ("403", b"POST /api/correct HTTP/1.1\r\n" + _h(b"Origin: http://evil.example\r\nContent-Length: 170\r\n\r\n"), None),
    ("415", b"POST /api/correct HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 170\r\n\r\n",
     None),
    ("404", b"POST /admin HTTP/1.1\r\n" + _h(b"Content-Length: 170\r\n\r\n"), None),
    ("GET with a body", b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 170\r\n\r\n", None),
])
def test_a_request_hidden_behind_an_error_is_never_executed(served, name, first, token):
    stub, srv = served(token=token)
    out = exchange(srv, first + HIDDEN)
    assert out.count(b"HTTP/1.") == 1, (name, out[:300])  # one answer, then the connection is closed
    assert b"Connection: close" in out and ("control", "step") not in stub.calls


GET_STATE = b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def test_keep_alive_still_serves_several_good_requests(served):
    stub, srv = served()
    one = b"POST /api/control HTTP/1.1\r\n" + _h(b"Content-Length: 17\r\n\r\n") + STEP
    out = exchange(srv, one + one + b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 3 and stub.calls == [("control", "step")] * 2


# ---------------------------------------------------------------------------------------------- slow clients
def test_half_open_and_slow_clients_are_dropped_and_capped(served, monkeypatch):
    monkeypatch.setattr(server_mod, "REQUEST_TIMEOUT", 0.6)
    _, srv = served(max_connections=6)
    port = srv.server_address[1]
    held = []
    try:
        for i in range(6):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
            held.append(s)
        end = time.monotonic() + 5
        while srv.slots.active < 6 and time.monotonic() < end:
            time.sleep(0.01)
        assert srv.slots.active == 6
        t0 = time.monotonic()  # all 6 places taken, none with a request: the newcomer takes the oldest one's place
        assert exchange(srv, GET_STATE, timeout=3)[9:12] == b"200"
        assert time.monotonic() - t0 < 0.5 and srv.slots.refused == 0 and srv.slots.evicted == 1
        assert closed_by_server(held[0])  # the longest-waiting (silent) connection, closed unanswered

        stop = threading.Event()
        loris_closed = []

        def slowloris():  # a byte every 0.1 s: each recv is quick, the whole request never arrives in time
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                try:
                    for b in b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 200:
                        if stop.is_set():
                            return
                        s.sendall(bytes([b]))
                        time.sleep(0.1)
                except OSError:
                    loris_closed.append(True)

        end = time.monotonic() + 5
        while srv.slots.active and time.monotonic() < end:  # the idle and half-open ones time out
            time.sleep(0.02)
        assert srv.slots.active == 0
        assert all(closed_by_server(s) for s in held[1:])
        loris = threading.Thread(target=slowloris, daemon=True)
        loris.start()
        loris.join(5)
        stop.set()
        assert loris_closed, "a slowloris client kept its connection past the request deadline"
        assert exchange(srv, b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")[9:12] == b"200"
    finally:
        for s in held:
            s.close()


def wait_for(predicate, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while not predicate() and time.monotonic() < end:
        time.sleep(0.01)
    return predicate()


def stalled(port: int, first_bytes: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(first_bytes)
    return s


def test_slow_connections_cannot_lock_a_real_client_out(served):
    """The issue's probe, small: one process holds every place with connections that sent part of a request line
    and stalled, and keeps opening more; a real client is still answered at once (not at REQUEST_TIMEOUT)."""
    _, srv = served(max_connections=4)
    port = srv.server_address[1]
    held = [stalled(port, b"GET /api/sta") for _ in range(4)]
    stop = threading.Event()
    try:
        assert wait_for(lambda: srv.slots.active == 4)

        def flood():  # one more stalled connection every 50 ms, as a reconnecting slowloris would
            while not stop.is_set():
                held.append(stalled(port, b"GET /api/sta"))
                time.sleep(0.05)

        flooding = threading.Thread(target=flood, daemon=True)
        flooding.start()
        for _ in range(3):
            assert wait_for(lambda: srv.slots.active == 4)  # every place held by a stalled connection again
            t0 = time.monotonic()
            assert exchange(srv, GET_STATE, timeout=3)[9:12] == b"200"
            assert time.monotonic() - t0 < 1.0 < server_mod.REQUEST_TIMEOUT
        stop.set()
        flooding.join(5)
        # nothing refused, and stalled connections were evicted to make room (how many depends on how the flood's
        # connections and the real requests interleave: a place a stalled connection gave up needs no eviction)
        assert srv.slots.refused == 0 and srv.slots.evicted >= 1 and srv.slots.active <= 4
        assert closed_by_server(held[0])  # evicted without an answer: nothing of its request was acted on
    finally:
        stop.set()
        for s in held:
            s.close()


def test_503_only_when_every_connection_has_a_request_under_way(served):
    stub, srv = served(max_connections=2)
    port = srv.server_address[1]
    partial_post = b"POST /api/control HTTP/1.1\r\n" + _h(b"Content-Length: 17\r\n\r\n") + STEP[:5]  # body stalls
    held = [stalled(port, partial_post) for _ in range(2)]
    try:
        assert wait_for(lambda: srv.slots.active == 2 and srv.slots.waiting_count == 0)
        t0 = time.monotonic()
        assert exchange(srv, GET_STATE, timeout=3)[9:12] == b"503"
        assert time.monotonic() - t0 < 1.0 and srv.slots.refused == 1 and srv.slots.evicted == 0
        held[0].sendall(STEP[5:])  # the requests under way were left alone and finish normally
        held[0].settimeout(3)
        assert held[0].recv(65536)[9:12] == b"200" and stub.calls == [("control", "step")]
    finally:
        for s in held:
            s.close()


def test_http_09_gets_an_answer_at_once(served):
    _, srv = served()
    t0 = time.monotonic()
    out = exchange(srv, b"GET /\r\n", timeout=5)
    assert out[:12] in (b"HTTP/1.0 400", b"HTTP/1.1 400") and b"HTTP/0.9" in out and time.monotonic() - t0 < 2


# ---------------------------------------------------------------------------------------------- bind checks
def test_bind_arguments_are_checked():
    for port in (-1, 65536, 99999):
        with pytest.raises(InputError, match=r"--port .*0\.\.65535"):
            check_bind("127.0.0.1", None, port)
    with pytest.raises(InputError, match="not an address"):
        check_bind("127.0.0.1/evil", None, 0)
    out = subprocess.run([sys.executable, "-m", "hirl.cli", "correct", "no-such-run", "--port", "99999"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "0..65535" in out.stderr


def test_page_script_sends_json_with_the_token_header():
    """The page's fetch() calls are same-origin POSTs with application/json (the browser adds Origin itself)."""
    from importlib import resources

    js = resources.files("hirl.teleop.ui").joinpath("static", "app.js").read_text()
    assert '"Content-Type"] = "application/json"' in js and "JSON.stringify(body)" in js and '"X-Hirl-Token"' in js
    assert "text/plain" not in js and "mode: \"no-cors\"" not in js


def test_response_is_json_even_for_refusals(served):
    _, srv = served()
    status, out = get(srv, "/api/state", host="evil.example")
    assert status == 421 and "error" in json.loads(out.split(b"\r\n\r\n", 1)[1])
