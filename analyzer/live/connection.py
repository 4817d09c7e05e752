"""Sessions with the watched database, under the safety contract of DESIGN.md.

Every session pgsage opens is read-only, bounded by `statement_timeout` and `lock_timeout`,
named `pgsage`, and watched by a client-side deadline: a frozen backend never fires
`statement_timeout`, so the client cancels the query and, failing that, shuts the socket.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from pgsage.analyzer.errors import ConnectionFailed, ServerError, UsageError


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Timeouts applied to every pgsage session (milliseconds, as PostgreSQL takes them)."""

    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 1000
    connect_timeout_s: int = 10
    client_grace_s: float = 5.0

    @property
    def client_deadline_s(self) -> float:
        """How long the client waits for one query before it gives up on the server."""
        return self.statement_timeout_ms / 1000 + self.client_grace_s


def parse_dsn(dsn: str | None) -> dict[str, str]:
    """Split a DSN (URI or key=value) into libpq parameters; an empty DSN defers to PG* vars."""
    if not dsn:
        return {}
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"malformed DSN: {first_line(str(exc))}") from None
    port = params.get("port")
    if port is not None and not _valid_port(port):
        # Checked here because psycopg resolves host and port itself before libpq sees them,
        # and an empty port would quietly become 5432: a templating mistake, not a choice.
        raise UsageError(f"malformed DSN: port must be a number from 1 to 65535, not {port!r}")
    return params


def _valid_port(port: str) -> bool:
    """One port, or one per host (`5432,5433`; an empty item means the default)."""
    if not port.strip():
        return False
    parts = [p.strip() for p in port.split(",")]
    return all(not p or (p.isdigit() and 0 < int(p) < 65536) for p in parts)


def describe_target(params: Mapping[str, str]) -> str:
    """A printable name for a target, never containing the password."""
    env = os.environ
    host = (params.get("host") or params.get("hostaddr") or env.get("PGHOST")
            or env.get("PGHOSTADDR") or "local socket")
    port = params.get("port") or env.get("PGPORT", "")
    db = params.get("dbname") or env.get("PGDATABASE", "")
    user = params.get("user") or env.get("PGUSER", "")
    where = f"{host}:{port}" if port else host
    who = f"{user}@" if user else ""
    return f"{who}{where}/{db}" if db else f"{who}{where}"


def first_line(message: str) -> str:
    """The first non-empty line of a server or driver message."""
    for line in message.splitlines():
        if line.strip():
            return line.strip()
    return message.strip()


def safety_settings(limits: SessionLimits) -> dict[str, str]:
    """The session settings of the safety contract, for both drivers.

    The CLI's psycopg sessions send them as `-c` options at connection time, the sidecar's
    asyncpg connections as `server_settings`: one list, so the two cannot drift apart.
    """
    return {
        "default_transaction_read_only": "on",
        "statement_timeout": str(limits.statement_timeout_ms),
        "lock_timeout": str(limits.lock_timeout_ms),
        "idle_in_transaction_session_timeout": str(limits.statement_timeout_ms * 4),
        "application_name": "pgsage",
    }


_BAD_OPTION = re.compile(r"invalid .*(value|number)|could not match \d+ port numbers")
"""libpq's words for a connection option it cannot use: the user's input, not the network."""


def connect(dsn: str | None,
            limits: SessionLimits | None = None) -> psycopg.Connection[dict[str, Any]]:
    """Open one safe, autocommit session; raise ConnectionFailed with a one-line reason."""
    limits = limits or SessionLimits()
    params = parse_dsn(dsn)
    extra_options = params.pop("options", "")
    params.setdefault("connect_timeout", str(limits.connect_timeout_s))
    settings = safety_settings(limits)
    options = " ".join(f"-c {k}={v}" for k, v in settings.items())
    try:
        conn = psycopg.connect(
            make_conninfo("", **{
                **params,
                "options": f"{extra_options} {options}".strip(),
                # Also a parameter of its own, replacing the DSN's (which would win otherwise).
                "application_name": settings["application_name"],
            }),
            autocommit=True,
            row_factory=dict_row,
        )
    except psycopg.OperationalError as exc:
        reason = _reason(exc, params)
        if _BAD_OPTION.search(reason):
            raise UsageError(f"malformed DSN: {reason}") from None
        raise ConnectionFailed(
            f"cannot connect to {describe_target(params)}: {reason}"
        ) from None
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"malformed DSN: {first_line(str(exc))}") from None
    return conn


def _reason(exc: BaseException, params: Mapping[str, str]) -> str:
    """The libpq reason with the connection string noise (and any password) removed."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    for marker in ("failed: ", "connection is bad: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    password = params.get("password")
    if password:
        text = text.replace(password, "********")
    return text or type(exc).__name__


class Deadline:
    """Cancel a query that outlives `seconds`; shut the socket if the cancel is ignored."""

    def __init__(self, conn: psycopg.Connection[Any], seconds: float) -> None:
        self._conn = conn
        self._seconds = seconds
        self._timer: threading.Timer | None = None
        self.fired = False

    def __enter__(self) -> Deadline:
        self._timer = threading.Timer(self._seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _expire(self) -> None:
        self.fired = True
        with contextlib.suppress(Exception):
            self._conn.cancel_safe(timeout=2.0)
        # A backend that cannot even answer a cancel request: cut the connection so the
        # waiting client returns with an error instead of hanging forever.
        with contextlib.suppress(Exception):
            fd = self._conn.pgconn.socket
            sock = socket.socket(fileno=socket.dup(fd))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()


class Session:
    """One safe connection and the one way pgsage runs a query on it."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], limits: SessionLimits) -> None:
        self.conn = conn
        self.limits = limits

    @classmethod
    def open(cls, dsn: str | None, limits: SessionLimits | None = None) -> Session:
        limits = limits or SessionLimits()
        return cls(connect(dsn, limits), limits)

    def fetch(self, query: str, params: Mapping[str, Any] | None = None,
              single: bool = False) -> list[dict[str, Any]]:
        """Run one query under the client deadline; server errors propagate as psycopg errors.

        `single` sends the text with the extended protocol (binary results), which the
        server refuses for more than one statement: the guard for texts that are not ours.
        """
        with Deadline(self.conn, self.limits.client_deadline_s) as deadline:
            try:
                cur = self.conn.cursor().execute(query.encode(), params,
                                                 binary=True if single else None)
                return cur.fetchall() if cur.description else []
            except psycopg.OperationalError as exc:
                if exc.sqlstate is not None and not self.conn.broken and not deadline.fired:
                    raise  # the server refused this query (a timeout, a lock): not fatal
                if deadline.fired:
                    raise TimeoutError(
                        f"no answer within {self.limits.client_deadline_s:.0f} s (client deadline)"
                    ) from None
                raise ServerError(f"lost the connection: {first_line(str(exc))}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
