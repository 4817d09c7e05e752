"""One asyncpg connection per target, under the same safety contract as the CLI's sessions.

Every connection sets `default_transaction_read_only = on`, `statement_timeout`,
`lock_timeout`, `idle_in_transaction_session_timeout` and `application_name = pgsage`, and
every query runs under a client deadline (`asyncio.wait_for`): a backend that never answers
costs one connection, which is closed, never a hung job.

A per-target connector task owns every connection attempt, so there is never more than one
connection per target: jobs only borrow the connection it made. When the connection is lost
the connector retries at once, then with bounded exponential backoff and jitter (capped at the
shortest job interval, so pgsage is back within one interval after the database returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from pgsage.analyzer.errors import ConnectionFailed, ServerError
from pgsage.analyzer.live.connection import (
    SessionLimits,
    describe_target,
    first_line,
    safety_settings,
)
from pgsage.analyzer.sidecar.settings import TargetConfig
from pgsage.collectors.base import Query, Row

log = logging.getLogger(__name__)

_PARAM = re.compile(r"%\((\w+)\)s|%%")

# libpq parameters asyncpg reads from a DSN's query string; anything else asyncpg would
# send to the server as a setting, so it is dropped (with a log line) instead.
_ASYNCPG_KEYS = ("host", "port", "user", "password", "dbname", "passfile", "sslmode", "sslcert",
                 "sslkey", "sslrootcert", "sslcrl", "sslpassword", "ssl_min_protocol_version",
                 "ssl_max_protocol_version", "sslnegotiation", "target_session_attrs",
                 "krbsrvname", "gsslib", "service")
_IGNORED_KEYS = ("connect_timeout", "options", "application_name", "fallback_application_name",
                 "hostaddr", "keepalives", "keepalives_idle", "keepalives_interval",
                 "keepalives_count", "client_encoding")


def to_asyncpg(query: Query) -> tuple[str, list[Any]]:
    """`%(name)s` placeholders (psycopg's) as `$n`, and `%%` as `%` when there are params.

    psycopg only interprets `%` when parameters are given, so a query without parameters is
    passed through untouched, exactly as the CLI's session sends it.
    """
    if query.params is None:
        return query.sql, []
    params = query.params
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        name = match.group(1)
        if name not in params:
            raise KeyError(f"query parameter {name!r} has no value")
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(placeholder, query.sql), [params[n] for n in names]


def _options_settings(options: str) -> dict[str, str]:
    """`-c name=value` pairs of a libpq `options` parameter, as server settings."""
    found = re.findall(r"(?:-c\s*|--)([\w.]+)=(\S+)", options)
    return {k.replace("-", "_"): v for k, v in found}


def asyncpg_dsn(params: Mapping[str, str]) -> tuple[str, dict[str, str], float | None]:
    """A `postgresql://?...` URI asyncpg understands, extra server settings, connect timeout.

    Key=value DSNs, URIs, service names and libpq's PG* variables all work: parameters come
    from psycopg's parser (the CLI's), and what asyncpg does not read from a URI is dropped.
    """
    query: dict[str, str] = {}
    for key, value in params.items():
        if key in _ASYNCPG_KEYS:
            query[key] = value
        elif key not in _IGNORED_KEYS:
            log.info("DSN parameter %s is not supported by the sidecar's driver; ignored", key)
    if "host" not in query and "hostaddr" in params:
        query["host"] = params["hostaddr"]
    timeout = float(params["connect_timeout"]) if params.get("connect_timeout") else None
    settings = _options_settings(params.get("options", ""))
    return "postgresql://?" + urllib.parse.urlencode(query), settings, timeout


def redact(text: str, params: Mapping[str, str]) -> str:
    password = params.get("password")
    return text.replace(password, "********") if password else text


class TargetDown(ConnectionFailed):
    """No connection to the target; `kind` is the short reason class used in metric labels."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def classify_connect_error(exc: BaseException) -> tuple[str, str]:
    """(kind, one-line reason) for a failed connection attempt."""
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):  # passwords too
        return "authentication", first_line(str(exc))
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "no_database", first_line(str(exc))
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return "too_many_connections", first_line(str(exc))
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return "starting_up", first_line(str(exc))
    if isinstance(exc, TimeoutError):
        return "timeout", "no answer within the connect timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "unreachable", "connection refused (is the server running and listening?)"
    if isinstance(exc, OSError):
        return "unreachable", exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, asyncpg.PostgresError):
        return "server_error", first_line(str(exc))
    if isinstance(exc, asyncpg.InterfaceError | ValueError):
        return "configuration", first_line(str(exc))
    return "error", f"{type(exc).__name__}: {first_line(str(exc))}"


@dataclass
class Backoff:
    """Bounded exponential backoff with jitter: base * 2^n, at most `cap`, times U(0.5, 1)."""

    base: float = 1.0
    cap: float = 15.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * 2 ** min(self.failures, 30))
        self.failures += 1
        return float(delay * self.rng.uniform(0.5, 1.0))

    def reset(self) -> None:
        self.failures = 0


@dataclass
class ConnectionEvents:
    """What the connector tells the rest of the sidecar (all optional)."""

    on_up: Callable[[], Awaitable[None] | None] | None = None
    on_down: Callable[[str, str], None] | None = None
    """Called with (kind, reason) after each failed attempt and when a connection is lost."""


class AsyncSession:
    """The target's one connection, made and remade by a connector task."""

    def __init__(self, target: TargetConfig, limits: SessionLimits, backoff: Backoff,
                 events: ConnectionEvents | None = None) -> None:
        self.target = target
        self.limits = limits
        self.backoff = backoff
        self.events = events or ConnectionEvents()
        self.conn: asyncpg.Connection | None = None
        self.down_kind: str | None = "connecting"
        self.down_reason: str | None = "no connection attempt yet"
        self.attempts = 0
        self.failures = 0
        self.losses = 0
        self._want = asyncio.Event()
        self._want.set()
        self._connected = asyncio.Event()
        self._attempted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._connector(), name=f"connect:{self.target.name}")

    async def first_attempt(self, timeout: float) -> None:
        """Wait until the first connection attempt has finished (or `timeout`)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._attempted.wait(), timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        conn, self.conn = self.conn, None
        self._connected.clear()
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 2.0)
            except (TimeoutError, Exception):
                conn.terminate()

    # --- the connector -----------------------------------------------------------------
    async def _connector(self) -> None:
        while True:
            await self._want.wait()
            if self.conn is not None and not self.conn.is_closed():
                self._want.clear()
                continue
            try:
                await self._connect()
            except TargetDown as exc:
                self._attempted.set()
                if self.events.on_down:
                    self.events.on_down(exc.kind, str(exc))
                await asyncio.sleep(self.backoff.next_delay())
                continue
            self._attempted.set()
            self.backoff.reset()
            self._want.clear()
            if self.events.on_up:
                result = self.events.on_up()
                if result is not None:
                    await result

    async def _connect(self) -> None:
        self.attempts += 1
        try:
            params = self.target.params()
        except OSError as exc:
            raise self._failed("configuration",
                               f"cannot read the password file: {exc.strerror}") from None
        where = describe_target(params)
        uri, extra, timeout = asyncpg_dsn(params)
        timeout = timeout or float(self.limits.connect_timeout_s)
        try:
            conn = await asyncio.wait_for(
                asyncpg.connect(uri, timeout=timeout,
                                server_settings={**extra, **safety_settings(self.limits)}),
                timeout + 1.0)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            kind, reason = classify_connect_error(exc)
            reason = redact(reason, params)
            raise self._failed(kind, f"cannot connect to {where}: {reason}") from None
        self.conn = conn
        self.down_kind = self.down_reason = None
        conn.add_termination_listener(self._terminated)
        self._connected.set()
        log.info("connected to %s", self.target.name, extra={"target": self.target.name})

    def _terminated(self, conn: asyncpg.Connection) -> None:
        """The connection closed under us (the server stopped, crashed or terminated the
        backend): down now, with the reason, and reconnecting, rather than up until the
        next job's query finds out."""
        if conn is self.conn:
            self.lost("the server closed the connection")

    def _failed(self, kind: str, reason: str) -> TargetDown:
        self.failures += 1
        self.down_kind, self.down_reason = kind, reason
        return TargetDown(reason, kind)

    # --- what jobs use -----------------------------------------------------------------
    @property
    def up(self) -> bool:
        return self.conn is not None and not self.conn.is_closed()

    def connection(self) -> asyncpg.Connection:
        if self.conn is not None and self.conn.is_closed():
            self.lost("the server closed the connection")
        if self.conn is None:
            raise TargetDown(self.down_reason or "not connected", self.down_kind or "error")
        return self.conn

    async def wait_connected(self, timeout: float) -> bool:
        """After a loss: give the connector (which retries at once) a moment to reconnect."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def lost(self, reason: str, kind: str = "connection_lost") -> None:
        """Drop the connection (closing its socket) and let the connector make a new one."""
        conn, self.conn = self.conn, None
        self._connected.clear()
        if conn is not None:
            conn.terminate()
            self.losses += 1
        self.down_kind, self.down_reason = kind, reason
        if self.events.on_down:
            self.events.on_down(kind, reason)
        self.backoff.reset()
        self._want.set()

    async def fetch(self, query: Query) -> list[Row]:
        """One query under the client deadline; server errors propagate as asyncpg errors.

        A lost connection raises ServerError and a query past the client deadline raises
        TimeoutError; both drop the connection, as the CLI's session does.
        """
        conn = self.connection()
        sql, args = to_asyncpg(query)
        deadline = self.limits.client_deadline_s
        try:
            records = await asyncio.wait_for(conn.fetch(sql, *args), deadline)
        except TimeoutError:
            self.lost(f"no answer within {deadline:.0f} s (client deadline)", "timeout")
            raise TimeoutError(f"no answer within {deadline:.0f} s (client deadline)") from None
        except asyncpg.PostgresError as exc:
            if conn.is_closed():
                reason = f"lost the connection: {first_line(str(exc))}"
                self.lost(reason)
                raise ServerError(reason) from None
            raise
        except (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as exc:
            # InternalClientError: asyncpg's protocol state machine tripped, seen when the
            # server terminates the session while a query starts; the connection is unusable.
            reason = f"lost the connection: {first_line(str(exc)) or type(exc).__name__}"
            self.lost(reason)
            raise ServerError(reason) from None
        return [dict(r) for r in records]
