"""The session's local HTTP server (the stdlib ThreadingHTTPServer, hardened): the page, its assets, a JSON API.

    GET  /                      the page (static/index.html)        GET /static/<file>   app.js, style.css
    GET  /api/state             session status (JSON)
    GET  /api/frame.jpg         latest frame of ?view=front|top, rendered at ?w=&h= (the size the page shows it)
    POST /api/correct           {"text": ...}                       (correction sessions; 200 once journaled)
    POST /api/undo              {"id": ...}                         (correction sessions: a correction / takeover
                                                                     leaves the training data; 200 once journaled)
    POST /api/takeover          {"on": true|false|"toggle"}         (correction sessions: the keys drive)
    POST /api/accept            {"accept": true}                    (correction sessions: correct to the suggestion)
    POST /api/note              {"episode": N, "text": ...}         (correction sessions: a note on an episode)
    POST /api/label             {"text": ..., "new_skill": false}   (teleop: label the next segment; 200 once journaled)
    POST /api/keys              {"keys": ["ArrowUp", "g", ...]}     (teleop, takeovers: keys held now)
    POST /api/control           {"action": "start"|"pause"|"resume"|"step"|"slower"|"faster"|"success"|"failure"|
                                            "next"|"finish"}

A web page the person visits must not be able to drive the robot, so every request is checked, in this order:
  1. Host: one of the loopback names (127.0.0.1, localhost, [::1]) or the --host address (DNS rebinding: 421);
  2. the token, when one is set (before routing, so an unknown path answers 401, not 404): header X-Hirl-Token on
     every request; ?token= only on GET / and GET /api/frame.jpg (the page's URL and the <img> frames) (401);
  3. POST only: Origin, or else Referer, when sent, must be the served origin http://<Host> (403), and the body
     must be application/json (415) with a Content-Length of at most MAX_BODY (411 / 413 / 400).
Every error answers JSON {"error": ...} and closes the connection (an unread body can never be parsed as the
next request). Each connection has REQUEST_TIMEOUT seconds to deliver a whole request (slow or half-open clients
are dropped) and at most MAX_CONNECTIONS are served at once: then a newcomer takes the place of the one that has
waited longest for a request's headers, or, when every one has a request under way, gets 503 at once
(hirl.teleop.ui.slots). An HTTP/0.9 request line gets a 400 right away. A handler failure is a 500, never a crash."""
from __future__ import annotations

import hmac
import io
import ipaddress
import json
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Sequence
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hirl.errors import InputError
from hirl.teleop.sessions.live import LiveSession, NotApplied
from hirl.teleop.ui.slots import ConnectionSlots

MAX_BODY = 16 * 1024  # bytes: the largest request body accepted (a correction is capped far below this)
MAX_CONNECTIONS = 64  # connections served at once; then a newcomer evicts the longest-waiting one, or gets 503
REQUEST_TIMEOUT = 10.0  # seconds a connection has to deliver a whole request (line, headers, body), idle included
WRITE_TIMEOUT = 10.0  # seconds to send a response
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")  # Host names always accepted
STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "style.css": "text/css; charset=utf-8"}
PUBLIC = ("/static/app.js", "/static/style.css")  # served without the token: the package's own files, no session data
TOKEN_IN_QUERY = ("/", "/api/frame.jpg")  # GET paths that may carry ?token= (the page's URL, <img> frames)
_DIGITS = re.compile(r"[0-9]{1,12}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, port: int = 0) -> None:
    """InputError when a non-loopback address is asked for without a token, or the port is out of range."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise InputError(f"--port {port}: must be in 0..65535 (0: any free port)")
    if not host or any(c.isspace() or c in "/?#@" for c in host):
        raise InputError(f"--host {host!r}: not an address or host name")
    if not is_loopback(host) and not token:
        raise InputError(
            f"--host {host}: serving beyond this machine needs --token (anyone on the network could drive the robot)")


def _static(name: str) -> bytes:
    return resources.files("hirl.teleop.ui").joinpath("static", name).read_bytes()


# name[:port], [v6][:port], or a bare v6 address (no port)
_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9._-]+))(?::\d{1,5})?|(?P<bare>[0-9a-f]*:[0-9a-f:]+)")


def host_name(value: str) -> str:
    """A Host header value -> its lower-case name without the port ("[::1]:8765" -> "::1"); "" when the value is not
    exactly a host name or bracketed IPv6 address with an optional port ("[::1]evil.example", "127.0.0.1:1@evil")."""
    m = _HOST.fullmatch(value.strip().lower())
    return "" if m is None else (m["v6"] or m["name"] or m["bare"])


def machine_names() -> set[str]:
    """This machine's host name, FQDN and the addresses they resolve to (best effort, lower case)."""
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    for name in list(names):
        try:
            names |= {str(info[4][0]).lower() for info in socket.getaddrinfo(name, None)}
        except OSError:
            pass
    return {n for n in names if n}


def _has_surrogate(obj: Any) -> bool:
    """Whether a decoded JSON value holds a lone surrogate code point in any string (key or value)."""
    if isinstance(obj, str):
        return any("\ud800" <= c <= "\udfff" for c in obj)
    if isinstance(obj, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_has_surrogate(v) for v in obj)
    return False


class _ClientError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _DeadlineReader(io.RawIOBase):
    """The connection's read side with one deadline per request: every recv gets only the time left."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = time.monotonic() + REQUEST_TIMEOUT

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request not received in time")
        self.sock.settimeout(left)
        return self.sock.recv_into(buf)


class Handler(BaseHTTPRequestHandler):
    server: SessionServer
    protocol_version = "HTTP/1.1"
    server_version = "hirl-session"
    timeout = REQUEST_TIMEOUT

    _last_body: dict[str, Any] = {}

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the plain socket file: replaced by one that keeps the request deadline
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader, 8192)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + REQUEST_TIMEOUT
        self._body_done = False
        if not self.server.slots.waiting(self.connection):  # evicted: its place went to a newer connection
            self.close_connection = True
            return
        try:
            super().handle_one_request()
        except ConnectionError:  # the client reset or dropped the connection between requests: nothing to answer
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)

    def parse_request(self) -> bool:
        raw: bytes = getattr(self, "raw_requestline", b"")
        words = raw.split()
        if len(words) == 2:  # HTTP/0.9 ("GET /"): no headers will follow; answer now instead of waiting for them
            self.command, self.request_version = "", "HTTP/1.0"
            self.requestline = str(raw, "iso-8859-1").rstrip("\r\n")
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 requests are not supported; send HTTP/1.1")
            return False
        if not super().parse_request():
            return False
        if not self.server.slots.received(self.connection):  # evicted while the headers came in: not acted on
            self.close_connection = True
            return False
        return True

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        if status >= 400 or not self._body_done:
            self.close_connection = True  # never parse what may be left of this request as the next one
        self.connection.settimeout(WRITE_TIMEOUT)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "same-origin")  # no-referrer would make the page's POSTs "Origin: null"
        if self.close_connection:
            self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json")

    def _check_host(self) -> None:
        values = self.headers.get_all("Host") or []
        if len(values) != 1:
            raise _ClientError(HTTPStatus.BAD_REQUEST, "exactly one Host header is required")
        if host_name(values[0]) not in self.server.allowed_hosts:
            raise _ClientError(HTTPStatus.MISDIRECTED_REQUEST,
                               f"Host {values[0][:80]!r} is not this server (open the URL printed at start)")

    def _check_token(self, path: str, query: dict[str, list[str]]) -> None:
        token = self.server.token
        if not token or path in PUBLIC:
            return
        given = self.headers.get("X-Hirl-Token")
        if given is None and self.command in ("GET", "HEAD") and path in TOKEN_IN_QUERY:
            given = (query.get("token") or [""])[0]
        if not hmac.compare_digest((given or "").encode("utf-8", "replace"), token.encode("utf-8")):
            raise _ClientError(HTTPStatus.UNAUTHORIZED, "missing or wrong token (open the URL printed at start)")

    def _check_origin(self) -> None:
        """A state-changing request from a browser carries Origin (or at least Referer): it must be this server."""
        for header in ("Origin", "Referer"):
            if len(self.headers.get_all(header) or []) > 1:
                raise _ClientError(HTTPStatus.BAD_REQUEST, f"more than one {header} header")
        served = "http://" + (self.headers.get("Host") or "").strip().lower()
        origin = self.headers.get("Origin")
        if origin is not None:
            if origin.strip().lower().rstrip("/") != served:
                raise _ClientError(HTTPStatus.FORBIDDEN, f"cross-origin request from {origin[:80]!r} refused")
            return
        referer = self.headers.get("Referer")
        if referer is not None:
            r = urlsplit(referer.strip().lower())
            if f"{r.scheme}://{r.netloc}" != served:
                raise _ClientError(HTTPStatus.FORBIDDEN, "cross-origin request (Referer) refused")

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") is not None:
            raise _ClientError(HTTPStatus.LENGTH_REQUIRED, "Transfer-Encoding is not accepted; send Content-Length")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            raise _ClientError(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        raw = values[0].strip()
        if len(values) != 1 or not _DIGITS.fullmatch(raw):
            raise _ClientError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {values[0][:20]!r}")
        n = int(raw)
        if n > MAX_BODY:
            raise _ClientError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {n} bytes, the limit is {MAX_BODY}")
        data = self.rfile.read(n)
        if len(data) != n:
            raise _ClientError(HTTPStatus.BAD_REQUEST, "body shorter than Content-Length")
        self._body_done = True
        return data

    def _payload(self, key: str) -> Any:
        """The request's `key` from its JSON object body."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise _ClientError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                               f"Content-Type {ctype or 'missing'!r}: send application/json")
        body = self._body()
        try:
            obj = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise _ClientError(HTTPStatus.BAD_REQUEST, "body is not valid UTF-8") from None
        except (ValueError, RecursionError):
            raise _ClientError(HTTPStatus.BAD_REQUEST, "body is not valid JSON") from None
        if not isinstance(obj, dict) or key not in obj:
            raise _ClientError(HTTPStatus.BAD_REQUEST, f'body must be a JSON object with "{key}"')
        if _has_surrogate(obj):  # JSON's \ud800 escapes decode to strings that cannot be written as UTF-8
            raise _ClientError(HTTPStatus.BAD_REQUEST, "body holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)")
        self._last_body = obj
        return obj[key]

    def _dispatch(self, routes: dict[str, str]) -> None:
        has_body = self.headers.get("Transfer-Encoding") is not None or (self.headers.get("Content-Length") or "0") != "0"
        self._body_done = not has_body
        try:
            self._check_host()
            if not self.path.startswith("/"):  # absolute-form (http://host/...) or asterisk targets: not a proxy
                raise _ClientError(HTTPStatus.BAD_REQUEST, "request target must be a path starting with /")
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            self._check_token(url.path, query)
            if url.path not in routes:
                known = {p for m in ROUTES.values() for p in m}
                if url.path in known:
                    raise _ClientError(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} not allowed on {url.path}")
                raise _ClientError(HTTPStatus.NOT_FOUND, f"no such path {url.path[:80]!r}")
            if self.command == "POST":
                self._check_origin()
            getattr(self, routes[url.path])(query)
        except _ClientError as exc:
            self._json(exc.status, {"error": str(exc)})
        except NotApplied as exc:
            self._json(exc.status, {"error": str(exc)})
        except InputError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception as exc:  # a bug must not take the session down
            self.server.errors.append(f"{type(exc).__name__}: {exc}")
            try:
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {type(exc).__name__}"})
            except OSError:
                self.close_connection = True

    # ------------------------------------------------------------------ routes
    def page(self, query: dict[str, list[str]]) -> None:
        self._send(HTTPStatus.OK, _static("index.html"), STATIC["index.html"])

    def asset(self, query: dict[str, list[str]]) -> None:
        name = urlsplit(self.path).path.rsplit("/", 1)[-1]
        self._send(HTTPStatus.OK, _static(name), STATIC[name])

    def _session(self) -> LiveSession:
        if self.server.session is None:
            raise _ClientError(HTTPStatus.SERVICE_UNAVAILABLE, "the session is still starting; retry")
        return self.server.session

    def _session_with(self, method: str, otherwise: str) -> Any:
        """The live session when it has `method` (a correction or a teleop session); else 404 with `otherwise`."""
        session = self._session()
        if not hasattr(session, method):
            raise _ClientError(HTTPStatus.NOT_FOUND, otherwise)
        return session

    def state(self, query: dict[str, list[str]]) -> None:
        self._json(HTTPStatus.OK, self._session().status())

    def frame(self, query: dict[str, list[str]]) -> None:
        view = (query.get("view") or ["front"])[0]
        size = []
        for key in ("w", "h"):
            raw = (query.get(key) or [""])[0]
            if raw and not _DIGITS.fullmatch(raw):
                raise _ClientError(HTTPStatus.BAD_REQUEST, f"?{key}= must be a number of pixels")
            size.append(int(raw) if raw else None)
        jpeg, frame_id = self._session().frame(view=view, width=size[0], height=size[1])
        if jpeg is None:
            raise _ClientError(HTTPStatus.SERVICE_UNAVAILABLE, "no camera frame yet")
        self._send(HTTPStatus.OK, jpeg, "image/jpeg", {"X-Frame-Id": str(frame_id)})

    def correct(self, query: dict[str, list[str]]) -> None:
        session = self._session_with("correct", "this is a teleop session: use /api/label")
        self._json(HTTPStatus.OK, session.correct(self._payload("text")).answer())

    def accept(self, query: dict[str, list[str]]) -> None:
        session = self._session_with("accept", "this is a teleop session: nothing to accept")
        self._payload("accept")  # the body: {"accept": true}
        self._json(HTTPStatus.OK, session.accept().answer())

    def note(self, query: dict[str, list[str]]) -> None:
        session, text = self._session_with("note", "no episode notes in this session"), self._payload("text")
        if type(episode := self._last_body.get("episode")) is not int or not isinstance(text, str):
            raise _ClientError(HTTPStatus.BAD_REQUEST, '"episode" must be an episode number and "text" a string')
        self._json(HTTPStatus.OK, {"ok": True, "message": session.note(episode, text)})

    def undo(self, query: dict[str, list[str]]) -> None:
        session = self._session_with("undo", "this is a teleop session: nothing to undo")
        rid = self._payload("id")
        if not isinstance(rid, str) or not rid:
            raise _ClientError(HTTPStatus.BAD_REQUEST, '"id" must be a history entry id')
        self._json(HTTPStatus.OK, {"ok": True, "message": session.undo(rid)})

    def takeover(self, query: dict[str, list[str]]) -> None:
        session = self._session_with("takeover", "this is a teleop session: you drive all the time")
        on = self._payload("on")
        if not isinstance(on, bool) and on != "toggle":
            raise _ClientError(HTTPStatus.BAD_REQUEST, '"on" must be true, false or "toggle"')
        self._json(HTTPStatus.OK, {"ok": True, "message": session.takeover(None if on == "toggle" else on)})

    def label(self, query: dict[str, list[str]]) -> None:
        session = self._session_with("label", "this is a correction session: use /api/correct")
        text, new = self._payload("text"), bool(self._last_body.get("new_skill", False))
        skill = session.label(text, new_skill=new)
        self._json(HTTPStatus.OK, {"ok": True, "message": f"labelled: {skill!r}" + (" (a new skill)" if new else ""),
                                   "text": skill})

    def keys(self, query: dict[str, list[str]]) -> None:
        session = self._session_with("keys", "this session takes no keys")
        held = self._payload("keys")
        if not isinstance(held, list) or not all(isinstance(k, str) for k in held) or len(held) > 16:
            raise _ClientError(HTTPStatus.BAD_REQUEST, '"keys" must be a list of at most 16 key names')
        self._json(HTTPStatus.OK, {"ok": True, "message": session.keys(held)})

    def control(self, query: dict[str, list[str]]) -> None:
        action = self._payload("action")
        if not isinstance(action, str):
            raise _ClientError(HTTPStatus.BAD_REQUEST, '"action" must be a string')
        try:
            message = self._session().control(action)
        except ValueError as exc:
            raise _ClientError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        self._json(HTTPStatus.OK, {"ok": True, "message": message})
        if action == "finish":
            self.server.finish_requested.set()

    def do_GET(self) -> None:
        self._dispatch(ROUTES["GET"])

    def do_HEAD(self) -> None:
        self._dispatch(ROUTES["GET"])

    def do_POST(self) -> None:
        self._dispatch(ROUTES["POST"])

    def do_PUT(self) -> None:
        self._dispatch({})

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed request lines / headers (rejected by http.server itself) also answer in JSON, and close."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unparseable request line: still answer with a status line
            self.request_version = "HTTP/1.0"
        try:
            self._json(code, {"error": message or HTTPStatus(code).phrase})
        except Exception:
            pass


ROUTES: dict[str, dict[str, str]] = {
    "GET": {"/": "page", "/static/app.js": "asset", "/static/style.css": "asset", "/api/state": "state",
            "/api/frame.jpg": "frame"},
    "POST": {"/api/correct": "correct", "/api/label": "label", "/api/keys": "keys", "/api/control": "control",
             "/api/undo": "undo", "/api/takeover": "takeover", "/api/accept": "accept", "/api/note": "note"},
}
_BUSY_BODY = json.dumps({"error": f"more than {MAX_CONNECTIONS} connections at once; retry"}).encode()
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
         b"Content-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY)


class SessionServer(ThreadingHTTPServer):
    """Serves one LiveSession (a CorrectionSession or a TeleopSession) until shutdown(). session may be None at first
    (bind the port before the session folder is touched) and set later; until then requests get 503."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, session: LiveSession | None, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 verbose: bool = False, max_connections: int = MAX_CONNECTIONS, allowed_hosts: Sequence[str] = ()) -> None:
        """allowed_hosts: more Host names the page may be reached by (besides the loopback names and host; with a
        wildcard host such as 0.0.0.0, also this machine's name and addresses)."""
        check_bind(host, token, port)
        self.session, self.token, self.verbose = session, token, verbose
        self.errors: list[str] = []
        self.finish_requested = threading.Event()  # set by the page's "finish session"
        self.allowed_hosts = {*LOOPBACK_NAMES, host_name(host), *(host_name(h) for h in allowed_hosts)}
        if host.strip("[]") in ("0.0.0.0", "::"):
            self.allowed_hosts |= machine_names()
        self.slots = ConnectionSlots(max_connections)  # at most max_connections served; the longest-waiting evicted
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host.strip("[]"), port), Handler)

    @property
    def url(self) -> str:
        addr, port = self.server_address[:2]
        host = addr.decode() if isinstance(addr, bytes) else str(addr)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")

    def process_request(self, request: Any, client_address: Any) -> None:
        admitted, victim = self.slots.admit(request)
        if victim is not None:
            try:  # its handler thread wakes up from recv with end of stream, sees it was evicted and closes it
                victim.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if admitted:
            super().process_request(request, client_address)
            return
        try:  # a fresh socket's send buffer is empty: this never blocks the accepting thread
            request.setblocking(False)
            request.send(_BUSY)
            request.recv(MAX_BODY)  # what already arrived (closing on unread data would reset the answer away)
        except OSError:
            pass
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.ended(request)

    def serve_in_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="hirl-http")
        t.start()
        return t
