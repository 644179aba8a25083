"""Measure and probe the session server (docs/reliability.md, "Sessions and server"). Not a test module: run it.

    python tests/teleop/server_probe.py bench  [--server-file F] [--clients 50] [--seconds 20]
    python tests/teleop/server_probe.py halfopen [--server-file F] [--clients 200] [--seconds 30]
    python tests/teleop/server_probe.py flood [--server-file F] [--clients 80] [--seconds 30]
    python tests/teleop/server_probe.py probes [--server-file F]
    python tests/teleop/server_probe.py killweb --tree DIR --run RUN [--corrections 6]

--server-file: a server.py to load instead of hirl.teleop.ui.server (e.g. the pre-fix one: `git show HEAD:hirl/teleop/ui/
server.py > "$OLD/server.py"`, OLD a scratch folder). The server runs in its own process on a stub session (every call
it gets is counted), so only the HTTP layer is measured; clients are threads of this process, loopback only."""
from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


class StubResult:
    """Answers both the old handler (a Resolution) and the new one (an Applied)."""

    def __init__(self, text: str) -> None:
        self.text = self.skill = text
        self.how, self.similarity, self.id, self.episode, self.step, self.replaces = "exact", 1.0, "stub", 0, 0, None
        self.resolution = self

    def message(self) -> str:
        return f"accepted: {self.text!r}"

    def answer(self) -> dict[str, Any]:
        return {"ok": True, "message": self.message(), "text": self.text, "skill": self.skill}


class StubSession:
    mode = "correct"

    def __init__(self, calls: Path) -> None:
        self.calls = calls

    def _log(self, what: str) -> None:
        with open(self.calls, "a") as fh:
            fh.write(what + "\n")

    def status(self) -> dict[str, Any]:
        return {"phase": "running", "mode": "correct", "episode": 0, "step": 12, "skills": ["open the drawer"] * 20,
                "episodes": [{"episode": i, "env_success": True} for i in range(10)]}

    def frame(self) -> tuple[bytes, int]:
        return b"\xff\xd8" + b"\0" * 8000, 1

    def correct(self, raw: Any) -> StubResult:
        self._log("correct")
        return StubResult(str(raw))

    def label(self, raw: Any) -> str:
        self._log("label")
        return str(raw)

    def keys(self, held: Any) -> str:
        self._log("keys")
        return "ok"

    def control(self, action: str) -> str:
        self._log(f"control {action}")
        return action


OLD_MODULES = {"hirl.teleop.live": "hirl.teleop.sessions.live", "hirl.teleop.slots": "hirl.teleop.ui.slots"}


def load_server(path: str | None) -> Any:
    if not path:
        from hirl.teleop.ui import server

        return server
    for old_name, module in OLD_MODULES.items():  # a server.py from before hirl/teleop/ was split imports these
        sys.modules.setdefault(old_name, importlib.import_module(module))
    spec = importlib.util.spec_from_file_location("probe_server", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def serve_main(args: argparse.Namespace) -> None:
    mod = load_server(args.server_file)
    srv = mod.SessionServer(StubSession(Path(args.calls)), "127.0.0.1", 0, token=args.token or None)
    srv.serve_in_thread()
    print(srv.server_address[1], flush=True)
    while True:  # until SIGTERM
        time.sleep(3600)


class Served:
    """The stub server in a subprocess."""

    def __init__(self, server_file: str | None, token: str | None = None) -> None:
        self.calls = Path(tempfile.gettempdir()) / f"hirl-probe-calls-{os.getpid()}-{time.monotonic_ns()}"
        cmd = [sys.executable, __file__, "serve", "--calls", str(self.calls)]
        if server_file:
            cmd += ["--server-file", server_file]
        if token:
            cmd += ["--token", token]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())  # type: ignore[union-attr]

    def executed(self) -> list[str]:
        return self.calls.read_text().split() if self.calls.exists() else []

    def threads(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]

    def established(self) -> int:
        """Server-side ESTABLISHED sockets on its port (from /proc/net/tcp)."""
        n = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == self.port and parts[3] == "01":
                n += 1
        return n

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.calls.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------- throughput
def bench(args: argparse.Namespace) -> dict[str, Any]:
    srv = Served(args.server_file)
    lat: list[float] = []
    errors = [0]
    stop = time.monotonic() + args.seconds
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        mine = []
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                conn.request("GET", "/api/state", headers={"Host": f"127.0.0.1:{srv.port}"})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    errors[0] += 1
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
                continue
            mine.append(time.perf_counter() - t0)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    srv.close()
    lat.sort()
    return {"clients": args.clients, "seconds": round(wall, 1), "requests": len(lat),
            "requests_per_s": round(len(lat) / wall, 1), "p50_ms": round(1000 * statistics.median(lat), 1),
            "p99_ms": round(1000 * lat[int(0.99 * (len(lat) - 1))], 1), "errors": errors[0]}


# ------------------------------------------------------------------------------------------------- half-open
def halfopen(args: argparse.Namespace) -> dict[str, Any]:
    srv = Served(args.server_file)
    base_threads = srv.threads()
    socks = []
    for i in range(args.clients):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        if i % 2:
            s.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half the clients stop mid-headers
        socks.append(s)
    time.sleep(1.0)
    at_1s = {"threads": srv.threads() - base_threads, "connections": srv.established()}
    time.sleep(max(0.0, args.seconds - 1.0))
    held = {"threads": srv.threads() - base_threads, "connections": srv.established()}
    t0 = time.perf_counter()
    ok = False
    try:
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        c.request("GET", "/api/state", headers={"Host": "127.0.0.1"})
        ok = c.getresponse().status == 200
    except OSError:
        pass
    legit_ms = round(1000 * (time.perf_counter() - t0), 1)
    for s in socks:
        s.close()
    srv.close()
    return {"half_open_clients": args.clients, "after_1s": at_1s, f"after_{args.seconds:g}s": held,
            "legit_request_ok": ok, "legit_request_ms": legit_ms}


# ------------------------------------------------------------------------------------------------- flood
def flood(args: argparse.Namespace) -> dict[str, Any]:
    """One local process keeps `clients` slow connections open (each sends part of a request line and stalls; one
    closed by the server is opened again at once) while a real client asks GET /api/state every 0.5 s."""
    srv = Served(args.server_file)
    stop = time.monotonic() + args.seconds
    answers: list[tuple[float, int, float]] = []  # (when, status or 0 for no answer, seconds taken)

    def slow() -> None:
        socks: list[socket.socket] = []
        while time.monotonic() < stop:
            for s in list(socks):
                try:
                    if s.recv(65536, socket.MSG_DONTWAIT) == b"":
                        raise ConnectionError
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                s.close()  # answered (503) or closed by the server: open another
                socks.remove(s)
            while len(socks) < args.clients:
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
                s.sendall(b"GET /api/sta")
                socks.append(s)
            time.sleep(0.02)
        for s in socks:
            s.close()

    flooder = threading.Thread(target=slow, daemon=True)
    flooder.start()
    time.sleep(1.0)  # the slow connections are in place first
    while time.monotonic() < stop:
        t0 = time.monotonic()
        status = 0
        try:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("GET", "/api/state", headers={"Host": "127.0.0.1", "Connection": "close"})
            r = c.getresponse()
            r.read()
            status = r.status
            c.close()
        except (OSError, http.client.HTTPException):
            pass
        answers.append((t0, status, time.monotonic() - t0))
        time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
    flooder.join(15)
    srv.close()
    worst, since = 0.0, None
    for when, status, _took in answers:
        if status != 200 and since is None:
            since = when
        if status == 200 and since is not None:
            worst, since = max(worst, when - since), None
    if since is not None:
        worst = max(worst, answers[-1][0] + answers[-1][2] - since)
    taken = sorted(a[2] for a in answers if a[1] == 200)
    return {"slow_connections": args.clients, "seconds": args.seconds, "real_requests": len(answers),
            "real_200": sum(a[1] == 200 for a in answers), "real_503": sum(a[1] == 503 for a in answers),
            "real_no_answer": sum(a[1] == 0 for a in answers), "longest_without_200_s": round(worst, 1),
            "p50_ms_of_200": round(1000 * statistics.median(taken), 1) if taken else None}


# ------------------------------------------------------------------------------------------------- probes
HIDDEN = (b"POST /api/control HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          b"Content-Length: 20\r\n\r\n" + b'{"action":"finish"}\n')


def _post(path: str, body: bytes, ctype: str | None, extra: str = "", host: str = "127.0.0.1") -> bytes:
    ct = f"Content-Type: {ctype}\r\n" if ctype else ""
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{ct}{extra}Content-Length: {len(body)}\r\n\r\n").encode() + body


PROBES: list[tuple[str, str, bytes, str | None]] = [
    # (name, kind, request bytes, token)   kind: "refuse" = must be a 4xx and execute nothing; "smuggle" = one answer,
    # the request hidden after the first one never executed; "refuse401" = must be a 401; "answer" = any answer
    ("cross-origin text/plain /api/correct", "refuse",
     _post("/api/correct", b"open the drawer", "text/plain", "Origin: http://evil.example\r\n"), None),
    ("cross-origin text/plain /api/label", "refuse",
     _post("/api/label", b"open the drawer", "text/plain", "Origin: http://evil.example\r\n"), None),
    ("cross-origin form /api/control", "refuse",
     _post("/api/control", b"action=finish", "application/x-www-form-urlencoded", "Origin: http://evil.example\r\n"),
     None),
    ("cross-origin form /api/keys", "refuse",
     _post("/api/keys", b"keys=ArrowUp", "application/x-www-form-urlencoded", "Origin: http://evil.example\r\n"), None),
    ("cross-origin form whose body parses as JSON /api/control", "refuse",
     _post("/api/control", b'{"action":"finish"}', "application/x-www-form-urlencoded", "Origin: http://evil.example\r\n"),
     None),
    ("cross-origin form whose body parses as JSON /api/keys", "refuse",
     _post("/api/keys", b'{"keys":["ArrowUp"]}', "application/x-www-form-urlencoded", "Origin: http://evil.example\r\n"),
     None),
    ("text/plain, no Origin", "refuse", _post("/api/correct", b"open the drawer", "text/plain"), None),
    ("cross-origin JSON (Origin)", "refuse",
     _post("/api/control", b'{"action":"pause"}', "application/json", "Origin: http://evil.example\r\n"), None),
    ("Origin: null", "refuse", _post("/api/control", b'{"action":"pause"}', "application/json", "Origin: null\r\n"), None),
    ("cross-origin JSON (Referer only)", "refuse",
     _post("/api/control", b'{"action":"pause"}', "application/json", "Referer: http://evil.example/x\r\n"), None),
    ("DNS rebinding GET / (Host: evil.example)", "refuse", b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", None),
    ("DNS rebinding GET /api/state", "refuse", b"GET /api/state HTTP/1.1\r\nHost: evil.example:8765\r\n\r\n", None),
    ("DNS rebinding POST (Origin = Host)", "refuse",
     _post("/api/control", b'{"action":"pause"}', "application/json", "Origin: http://evil.example\r\n",
           host="evil.example"), None),
    ("413 then a hidden request", "smuggle",
     b"POST /api/correct HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999\r\n\r\n"
     + HIDDEN, None),
    ("411 then a hidden request", "smuggle",
     b"POST /api/correct HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n" + HIDDEN, None),
    ("401 then a hidden request", "smuggle",
     b"POST /api/correct HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 110\r\n\r\n"
     + HIDDEN, "tok"),
    ("GET with a body hiding a request", "smuggle",
     b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 110\r\n\r\n" + HIDDEN, None),
    ("Content-Length + Transfer-Encoding", "smuggle",
     b"POST /api/correct HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 110\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n" + HIDDEN, None),
    ("two Content-Length headers", "smuggle",
     b"POST /api/control HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 0\r\n"
     b"Content-Length: 110\r\n\r\n" + HIDDEN, None),
    ("Content-Length 1_9", "refuse",
     b"POST /api/control HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1_9\r\n\r\n"
     + b'{"action":"finish"}', None),
    ("?token= on a POST", "refuse",
     _post("/api/control?token=tok", b'{"action":"finish"}', "application/json"), "tok"),
    ("?token= on GET /api/state", "refuse", b"GET /api/state?token=tok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "tok"),
    ("/admin without the token (404 leak)", "refuse401", b"GET /admin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "tok"),
    ("HTTP/0.9 GET /", "answer", b"GET /\r\n", None),
    ("deeply nested JSON body", "refuse",
     _post("/api/control", b"[" * 8000 + b"]" * 8000, "application/json"), None),
    ("non-UTF-8 JSON body", "refuse", _post("/api/correct", b'{"text": "\xff"}', "application/json"), None),
    ("chunked body", "refuse",
     b"POST /api/control HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
     b"\r\n\r\n13\r\n{\"action\":\"finish\"}\r\n0\r\n\r\n", None),
    ("garbage request line", "refuse", b"GARBAGE\r\n\r\n", None),
    ("70 KB header", "refuse", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", None),
    ("unknown method", "refuse", b"BREW / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", None),
]


def _exchange(port: int, payload: bytes, timeout: float) -> tuple[bytes, bool]:
    """(bytes received, closed by the server within timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        out, end = b"", time.monotonic() + timeout
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                c = s.recv(65536)
            except TimeoutError:
                return out, False
            except ConnectionResetError:
                return out, True
            if not c:
                return out, True
            out += c
        return out, False


def probes(args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    servers = {None: Served(args.server_file), "tok": Served(args.server_file, token="tok")}
    for name, kind, payload, token in PROBES:
        srv = servers[token]
        before = len(srv.executed())
        out, closed = _exchange(srv.port, payload, 3.0)
        executed = srv.executed()[before:]
        status = int(out[9:12]) if out[:5] == b"HTTP/" and out[9:12].isdigit() else None
        if status is None:
            verdict = "no answer"
        elif status >= 500:
            verdict = "traceback" if status == 500 else "clean"
        elif executed or (kind.startswith("refuse") and status < 400) or (kind == "smuggle" and out.count(b"HTTP/1.") > 1):
            verdict = "silently accepted"
        elif kind == "refuse401" and status != 401:
            verdict = "silently accepted"  # the path's existence leaks before the token check
        else:
            verdict = "clean"
        rows.append({"probe": name, "status": status, "executed": executed, "closed": closed, "verdict": verdict})
    for srv in servers.values():
        srv.close()
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("clean", "traceback", "silently accepted", "no answer")}
    return {"tried": len(rows), **counts, "rows": rows}


# ------------------------------------------------------------------------------------------------- kill -9 (web)
def killweb(args: argparse.Namespace) -> dict[str, Any]:
    """`hirl correct` of the tree at --tree, paused-free; --corrections acknowledged, then kill -9 at once."""
    env = {**os.environ, "MUJOCO_GL": "egl", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(args.tree)}
    out = Path(args.out)
    proc = subprocess.Popen([sys.executable, "-m", "hirl.cli", "correct", args.run, "--out", str(out), "--port", "0",
                             "speed=1.0", "image_size=32", "chain_length=2"], cwd=args.tree, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    url = None
    while url is None:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit("session did not start")
        m = re.search(r"session page: http://127.0.0.1:(\d+)/", line)
        url = m and int(m.group(1))
    port = int(url)

    def call(path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        data = None if body is None else json.dumps(body).encode()
        c.request("POST" if data else "GET", path, body=data,
                  headers={"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")

    skills = call("/api/state")[1]["skills"]
    acked = 0
    i = 0
    while acked < args.corrections:
        status, _ = call("/api/correct", {"text": skills[i % len(skills)]})
        i += 1
        if status == 200:
            acked += 1
        elif status == 409:
            call("/api/control", {"action": "next"})
    proc.send_signal(signal.SIGKILL)  # right after the last acknowledgement
    proc.wait()
    path = out / "corrections.jsonl"
    lines = [x for x in path.read_bytes().split(b"\n") if x.strip()] if path.exists() else []
    return {"acknowledged": acked, "journaled": len(lines), "lost": max(0, acked - len(lines))}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["serve", "bench", "halfopen", "flood", "probes", "killweb"])
    p.add_argument("--server-file", default=None)
    p.add_argument("--calls", default="/dev/null")
    p.add_argument("--token", default=None)
    p.add_argument("--clients", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--tree", default=".")
    p.add_argument("--run", default=None)
    p.add_argument("--out", default=str(Path(tempfile.gettempdir()) / f"hirl-killweb-{os.getpid()}"))  # a scratch folder
    p.add_argument("--corrections", type=int, default=6)
    args = p.parse_args()
    if args.what == "serve":
        serve_main(args)
        return
    if args.what == "bench":
        args.clients, args.seconds = args.clients or 50, args.seconds or 20.0
    if args.what == "halfopen":
        args.clients, args.seconds = args.clients or 200, args.seconds or 30.0
    if args.what == "flood":
        args.clients, args.seconds = args.clients or 80, args.seconds or 30.0
    result = {"bench": bench, "halfopen": halfopen, "flood": flood, "probes": probes, "killweb": killweb}[args.what](args)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
