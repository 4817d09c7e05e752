"""The sidecar's HTTP endpoints: the standard library's threading server, TLS, basic auth.

Why not prometheus-client's own server: it serves only the registry (no /readyz or
/recommendations), and its TLS handshake runs on the accepting thread. Why not aiohttp:
one more dependency for four GET endpoints. `http.server.ThreadingHTTPServer` runs in a
thread beside the event loop, so a scrape never waits for a job and a job never waits for a
scrape; each connection gets its own thread, where the TLS handshake happens too (a slow
client cannot hold the accept loop), under a socket timeout.

Basic auth checks bcrypt hashes from the configuration on every endpoint. A bcrypt check
costs ~0.2 s of CPU by design, so verified credentials are remembered (as a SHA-256 of
user and password, never the password) until the configuration is reloaded — the same
trade-off Prometheus' exporter-toolkit makes. Failed attempts are never cached; they are
rate-limited (`FAILURES_PER_WINDOW`), and an unknown user costs a bcrypt check of the same
work factor as a known one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import bcrypt

from pgsage.analyzer.errors import UsageError
from pgsage.analyzer.sidecar.settings import TlsConfig

log = logging.getLogger(__name__)

Body = bytes | Sequence[bytes]
Response = tuple[int, str, Body]
"""Status, content type, body (chunks are written one after the other, never joined)."""

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
METRICS = "text/plain; version=0.0.4; charset=utf-8"

class ListenError(UsageError):
    """The address to listen on is taken or cannot be used: the user's input (exit 2)."""


FAILURES_PER_WINDOW = 10
FAILURE_WINDOW_S = 10.0
"""At most this many failed logins are checked (with bcrypt) per window; later ones in the
window are refused unchecked, so bad requests cannot take the CPUs. Credentials verified
before are remembered, so known clients keep working meanwhile."""


def _cost(hashed: bytes) -> int:
    """The work factor of a bcrypt hash (`$2b$12$...` -> 12)."""
    try:
        return int(hashed.split(b"$")[2])
    except (IndexError, ValueError):
        return 12


class Authenticator:
    """HTTP basic auth against bcrypt hashes; None users means auth is off."""

    def __init__(self, users: Mapping[str, bytes] | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.users = dict(users) if users else None
        self._verified: set[bytes] = set()
        self._failures: deque[float] = deque()
        self._clock = clock
        self._lock = threading.Lock()
        # An unknown user is checked against a hash of the same cost as the real ones, so
        # that both take as long and timing does not tell which user names exist.
        cost = max((_cost(h) for h in (self.users or {}).values()), default=12)
        self._dummy = bcrypt.hashpw(b"pgsage-timing-equaliser", bcrypt.gensalt(rounds=cost))

    def check(self, header: str | None) -> bool:
        if self.users is None:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        if not sep:
            return False
        token = hashlib.sha256(f"{user}\0{password}".encode()).digest()
        with self._lock:
            if any(hmac.compare_digest(token, known) for known in self._verified):
                return True
            if not self._may_check():
                return False
        hashed = self.users.get(user)
        ok = bcrypt.checkpw(password.encode(), hashed or self._dummy) and hashed is not None
        with self._lock:
            if ok and len(self._verified) < 1000:
                self._verified.add(token)
            elif not ok:
                self._failures.append(self._clock())
        return ok

    def _may_check(self) -> bool:
        """Whether the failed-login budget of the current window has room (under the lock)."""
        now = self._clock()
        while self._failures and now - self._failures[0] > FAILURE_WINDOW_S:
            self._failures.popleft()
        return len(self._failures) < FAILURES_PER_WINDOW


def ssl_context(tls: TlsConfig | None) -> ssl.SSLContext | None:
    """A server context for the configured cert and key; ValueError saying what is wrong."""
    if tls is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(tls.cert), str(tls.key))
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"cannot use TLS certificate {tls.cert} with key {tls.key}: "
                         f"{getattr(exc, 'reason', None) or exc}") from None
    return context


@dataclass(frozen=True)
class App:
    """What the server answers with; replaced whole on reload."""

    routes: Mapping[str, Callable[[Mapping[str, list[str]]], Response]]
    auth: Authenticator
    tls: ssl.SSLContext | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: App

    def finish_request(self, request: Any, client_address: Any) -> None:
        context = self.app.tls
        if context is not None:
            request.settimeout(10)
            try:
                request = context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address[0], exc)
                return
        self.RequestHandlerClass(request, client_address, self)  # type: ignore[arg-type]

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("HTTP request from %s failed", client_address[0], exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "pgsage"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30

    def do_GET(self) -> None:
        app = self.server.app
        if not app.auth.check(self.headers.get("Authorization")):
            self._send(401, TEXT, b"authentication required\n",
                       {"WWW-Authenticate": 'Basic realm="pgsage", charset="UTF-8"'})
            return
        url = urllib.parse.urlsplit(self.path)
        route = app.routes.get(url.path)
        if route is None:
            self._send(404, TEXT, f"no such endpoint; try {', '.join(app.routes)}\n".encode())
            return
        try:
            status, content_type, body = route(urllib.parse.parse_qs(url.query))
        except Exception:
            log.exception("endpoint %s failed", url.path)
            status, content_type, body = 500, TEXT, b"internal error (see the pgsage log)\n"
        self._send(status, content_type, body)

    def _send(self, status: int, content_type: str, body: Body,
              headers: Mapping[str, str] | None = None) -> None:
        chunks = [body] if isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(sum(len(c) for c in chunks)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class WebServer:
    """One listening socket served by a background thread."""

    def __init__(self, host: str, port: int, app: App) -> None:
        cls = _Server6 if ":" in host else _Server
        try:
            self._server = cls((host, port), _Handler, bind_and_activate=True)
        except OSError as exc:
            raise ListenError(f"cannot listen on {host}:{port}: "
                              f"{(exc.strerror or str(exc)).lower()}") from None
        self._server.app = app
        self.host = host
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": 0.25}, name="pgsage-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def app(self) -> App:
        return self._server.app

    @app.setter
    def app(self, value: App) -> None:
        self._server.app = value

    def start(self) -> WebServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)
