"""The session's local HTTP server (stdlib ThreadingHTTPServer): the page, its assets and a small JSON API.

    GET  /                      the page (static/index.html)        GET /static/<file>   app.js, style.css
    GET  /api/state             session status (JSON)               GET /api/frame.jpg   latest camera frame
    POST /api/correct           {"text": ...} or a text/plain body  (correction sessions)
    POST /api/label             {"text": ...} or a text/plain body  (teleop: label the next segment)
    POST /api/keys              {"keys": ["ArrowUp", "g", ...]}     (teleop: keys held now)
    POST /api/control           {"action": "pause"|"resume"|"step"|"success"|"failure"|"next"|"finish"}

Every request outside this gets a 4xx with a JSON {"error": ...}; a handler failure is a 500, never a crash.
With a token, every request must carry it (header X-Hirl-Token, or ?token= for the page and the frame)."""
from __future__ import annotations

import hmac
import ipaddress
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hirl.errors import InputError
from hirl.teleop.live import LiveSession

MAX_BODY = 16 * 1024  # bytes: the largest request body accepted (a correction is capped far below this)
STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "style.css": "text/css; charset=utf-8"}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """InputError when a non-loopback address is asked for without a token."""
    if not is_loopback(host) and not token:
        raise InputError(
            f"--host {host}: serving beyond this machine needs --token (anyone on the network could drive the robot)")


def _static(name: str) -> bytes:
    return resources.files("hirl.teleop").joinpath("static", name).read_bytes()


class _ClientError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server: SessionServer
    protocol_version = "HTTP/1.1"
    server_version = "hirl-session"

    def log_message(self, format: str, *args: Any) -> None:  # quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json")

    def _authorised(self, query: dict[str, list[str]]) -> bool:
        token = self.server.token
        if not token:
            return True
        given = self.headers.get("X-Hirl-Token") or (query.get("token") or [""])[0]
        return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise _ClientError(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted; send Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None:
            raise _ClientError(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        try:
            n = int(raw)
        except ValueError:
            raise _ClientError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {raw[:20]!r}") from None
        if n < 0:
            raise _ClientError(HTTPStatus.BAD_REQUEST, "negative Content-Length")
        if n > MAX_BODY:
            raise _ClientError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {n} bytes, the limit is {MAX_BODY}")
        data = self.rfile.read(n)
        if len(data) != n:
            raise _ClientError(HTTPStatus.BAD_REQUEST, "body shorter than Content-Length")
        return data

    def _payload(self, key: str) -> Any:
        """The request's `key`: from a JSON object body, or the raw body when it is text/plain."""
        body = self._body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "text/plain":
            return body
        try:
            obj = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise _ClientError(HTTPStatus.BAD_REQUEST, "body is not valid UTF-8") from None
        except ValueError:
            raise _ClientError(HTTPStatus.BAD_REQUEST, "body is not valid JSON") from None
        if not isinstance(obj, dict) or key not in obj:
            raise _ClientError(HTTPStatus.BAD_REQUEST, f'body must be a JSON object with "{key}"')
        return obj[key]

    def _dispatch(self, routes: dict[str, str]) -> None:
        try:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path not in routes:
                known = {p for m in ROUTES.values() for p in m}
                if url.path in known:
                    raise _ClientError(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} not allowed on {url.path}")
                raise _ClientError(HTTPStatus.NOT_FOUND, f"no such path {url.path[:80]!r}")
            if not self._authorised(query):
                raise _ClientError(HTTPStatus.UNAUTHORIZED, "missing or wrong token (open the URL printed at start)")
            getattr(self, routes[url.path])(query)
        except _ClientError as exc:
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

    def state(self, query: dict[str, list[str]]) -> None:
        self._json(HTTPStatus.OK, self.server.session.status())

    def frame(self, query: dict[str, list[str]]) -> None:
        jpeg, frame_id = self.server.session.frame()
        if jpeg is None:
            raise _ClientError(HTTPStatus.SERVICE_UNAVAILABLE, "no camera frame yet")
        self._send(HTTPStatus.OK, jpeg, "image/jpeg", {"X-Frame-Id": str(frame_id)})

    def correct(self, query: dict[str, list[str]]) -> None:
        session = self.server.session
        if not hasattr(session, "correct"):
            raise _ClientError(HTTPStatus.NOT_FOUND, "this is a teleop session: use /api/label")
        r = session.correct(self._payload("text"))
        self._json(HTTPStatus.OK, {"ok": True, "message": r.message(), "text": r.text, "skill": r.skill, "how": r.how,
                                   "similarity": round(r.similarity, 3)})

    def label(self, query: dict[str, list[str]]) -> None:
        session = self.server.session
        if not hasattr(session, "label"):
            raise _ClientError(HTTPStatus.NOT_FOUND, "this is a correction session: use /api/correct")
        text = session.label(self._payload("text"))
        self._json(HTTPStatus.OK, {"ok": True, "message": f"labelled: {text!r}", "text": text})

    def keys(self, query: dict[str, list[str]]) -> None:
        session = self.server.session
        if not hasattr(session, "keys"):
            raise _ClientError(HTTPStatus.NOT_FOUND, "this is a correction session: keys drive only in teleop")
        held = self._payload("keys")
        if not isinstance(held, list) or not all(isinstance(k, str) for k in held) or len(held) > 16:
            raise _ClientError(HTTPStatus.BAD_REQUEST, '"keys" must be a list of at most 16 key names')
        self._json(HTTPStatus.OK, {"ok": True, "message": session.keys(held)})

    def control(self, query: dict[str, list[str]]) -> None:
        action = self._payload("action")
        if not isinstance(action, str):
            raise _ClientError(HTTPStatus.BAD_REQUEST, '"action" must be a string')
        try:
            message = self.server.session.control(action)
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

    do_DELETE = do_PATCH = do_PUT

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed request lines / headers (rejected by http.server itself) also answer in JSON."""
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
    "POST": {"/api/correct": "correct", "/api/label": "label", "/api/keys": "keys", "/api/control": "control"},
}


class SessionServer(ThreadingHTTPServer):
    """Serves one LiveSession (a CorrectionSession or a TeleopSession) until shutdown()."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 32

    def __init__(self, session: LiveSession, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 verbose: bool = False) -> None:
        check_bind(host, token)
        self.session, self.token, self.verbose = session, token, verbose
        self.errors: list[str] = []
        self.finish_requested = threading.Event()  # set by the page's "finish session"
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Handler)

    @property
    def url(self) -> str:
        addr, port = self.server_address[:2]
        host = addr.decode() if isinstance(addr, bytes) else str(addr)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")

    def serve_in_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="hirl-http")
        t.start()
        return t

