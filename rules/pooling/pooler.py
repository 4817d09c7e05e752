"""The application holds or churns connections a pooler would share: PgBouncer, sized."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from statistics import median
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_duration
from pgsage.collectors.activity import Backend
from pgsage.collectors.database import DatabaseStats
from pgsage.rules.base import Rule, register
from pgsage.rules.pooling._pooler import POOLERS, clients, pooler_in_front

IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")


SESSION_FEATURES = {
    "LISTEN/NOTIFY listeners": re.compile(r"^\s*(UN)?LISTEN\b", re.IGNORECASE),
    "session advisory locks": re.compile(r"\bpg_(try_)?advisory_lock(_shared)?\s*\(",
                                         re.IGNORECASE),
    "session SET": re.compile(r"^\s*SET\s+(?!LOCAL\b|TRANSACTION\b|SESSION\s+CHARACTERISTICS)",
                              re.IGNORECASE),
    "temporary tables": re.compile(r"\bCREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\s+TABLE\b",
                                   re.IGNORECASE),
    "SQL PREPARE": re.compile(r"^\s*PREPARE\s", re.IGNORECASE),
    "cursors WITH HOLD": re.compile(r"\bWITH\s+HOLD\b", re.IGNORECASE),
}
"""What transaction pooling breaks: state that outlives a transaction on one connection."""


def session_features(model: Model) -> dict[str, list[int]]:
    """Statements that keep state in the session, by feature: queryids."""
    out: dict[str, list[int]] = defaultdict(list)
    frame = model.statements
    if frame.empty:
        return {}
    for queryid in sorted({int(q) for q in frame["queryid"]}):
        text = model.statement_text(queryid)
        if not text:
            continue
        for feature, pattern in SESSION_FEATURES.items():
            if pattern.search(text):
                out[feature].append(queryid)
    return dict(out)


def _churn(model: Model) -> tuple[float | None, float | None]:
    """New sessions per second and mean session length (ms) over the window (needs a
    baseline and PostgreSQL 14+ session statistics)."""
    now = model.database
    if model.baseline is None or now is None or model.window.seconds <= 0:
        return None, None
    before = model.baseline.one("database", DatabaseStats)
    if before is None or now.sessions < before.sessions:
        return None, None
    sessions = now.sessions - before.sessions
    if sessions <= 0:
        return 0.0, None
    spent = max(now.session_time - before.session_time, 0.0)
    return sessions / model.window.seconds, spent / sessions


@register
class PoolerNeeded(Rule["PoolerNeeded.Options"]):
    """The application holds or churns connections a pooler would share: PgBouncer, sized.

    What it detects:
        From pg_stat_activity and pg_stat_database, any of: at least `min_clients` client
        connections of which at least `idle_share` are idle; connections using at least
        `used_share` of max_connections (less the reserved ones); at least
        `min_idle_in_transaction` sessions idle in a transaction; connection churn (with
        a baseline: at least `min_sessions_per_second` new sessions a second lasting
        under `short_session_ms` on average; or most connections younger than
        `young_seconds`). Nothing when a pooler is already in front (application names
        matching `pooler_pattern`). Medium when connections are near the limit, churn,
        or many sit idle in a transaction.

        The pool size is the larger of twice the CPUs, 1.5 times the connections active
        at the snapshot, and twice the average number of busy backends over the window
        (total statement time / window), at least 5 and within max_connections; the
        finding gives a ready pgbouncer.ini and lists statements that keep session state,
        which transaction pooling would break.

    Why it matters:
        Each connection is a process with its own memory; hundreds of mostly idle ones
        waste it, crowd the CPU when they wake together, and make max_connections the
        limit on how many clients can connect. Opening a connection costs a fork and
        authentication, often more than the query. A transaction pooler serves thousands
        of clients with a pool about the size of the CPU count.

    Example:
        180 client connections of max_connections 200: 160 idle, 12 idle in transaction,
        4 active

    What to do:
        Put PgBouncer in front with pool_mode = transaction (the action writes the
        pgbouncer.ini fragment; add the users to auth_file), point the application at
        it, and lower max_connections later (CF016). Transaction pooling gives a server
        connection per transaction: session state does not survive (SET, temporary
        tables, session advisory locks, LISTEN, WITH HOLD cursors; protocol-level
        prepared statements need PgBouncer 1.21+ with max_prepared_statements): the
        finding lists such statements; give those clients pool_mode = session.
    References:
        https://www.pgbouncer.org/config.html
        https://www.pgbouncer.org/features.html
    """

    code: ClassVar[str] = "PL001"
    name: ClassVar[str] = "pooling.pooler"
    category: ClassVar[Category] = Category.POOLING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_clients: int = field(default=20, metadata={
            "help": "client connections from which idle ones count."})
        idle_share: float = field(default=0.5, metadata={"help": "share of idle connections."})
        used_share: float = field(default=0.7, metadata={
            "help": "share of max_connections in use."})
        min_idle_in_transaction: int = field(default=5, metadata={
            "help": "sessions idle in a transaction."})
        min_sessions_per_second: float = field(default=2.0, metadata={
            "help": "new sessions a second between snapshots that count as churn."})
        short_session_ms: float = field(default=1000.0, metadata={
            "help": "average session length below which those sessions count as churn."})
        young_seconds: float = field(default=10.0, metadata={
            "help": "connections younger than this count as churn at one snapshot."})
        pooler_pattern: str = field(default=POOLERS, metadata={
            "help": "application names that show a pooler in front."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        if not model.collected("activity"):
            return
        conns = clients(model)
        poolers = pooler_in_front(model, options.pooler_pattern)
        if poolers or not conns:
            return
        states = Counter(b.state or "unknown" for b in conns)
        idle = states.get("idle", 0)
        in_tx = [b for b in conns if b.state in IDLE_IN_TRANSACTION]
        active = states.get("active", 0)
        max_conn = int(model.setting("max_connections") or 100)
        reserved = int(model.setting("superuser_reserved_connections") or 3)
        usable = max(max_conn - reserved, 1)
        used = (len(conns) + 1) / usable  # + pgsage's own
        per_second, session_ms = _churn(model)
        young = [b for b in conns if (b.backend_start_age or 1e9) < options.young_seconds]
        reasons: list[str] = []
        strong = False
        if len(conns) >= options.min_clients and idle / len(conns) >= options.idle_share:
            reasons.append(f"{idle} of {len(conns)} client connections are idle")
        if used >= options.used_share:
            reasons.append(f"{len(conns) + 1} connections use {used:.0%} of max_connections "
                           f"{max_conn} (less {reserved} reserved)")
            strong = True
        if len(in_tx) >= options.min_idle_in_transaction:
            longest = max(b.state_change_age or 0.0 for b in in_tx)
            reasons.append(f"{len(in_tx)} sessions sit idle in a transaction (the longest for "
                           f"{format_duration(longest)}), each holding a connection, its locks "
                           "and its snapshot")
            strong = True
        if per_second is not None and per_second >= options.min_sessions_per_second and (
                session_ms is None or session_ms <= options.short_session_ms):
            length = f", lasting {session_ms:,.0f} ms on average" if session_ms else ""
            reasons.append(f"{per_second:,.1f} new sessions a second{length}: each costs a "
                           "fork and an authentication")
            strong = True
        elif len(conns) >= 10 and len(young) / len(conns) >= 0.5:
            reasons.append(f"{len(young)} of {len(conns)} connections are younger than "
                           f"{options.young_seconds:.0f} s: connections are opened per request")
            strong = True
        if not reasons:
            return
        yield self._finding(model, conns, states, in_tx, active, max_conn, reserved, reasons,
                            strong, per_second, session_ms)

    def _finding(self, model: Model, conns: list[Backend], states: Counter[str],
                 in_tx: list[Backend], active: int, max_conn: int, reserved: int,
                 reasons: list[str], strong: bool, per_second: float | None,
                 session_ms: float | None) -> Recommendation:
        found = model.totals
        window_ms = model.window.seconds * 1000
        busy = (sum(t.exec_ms for t in found.values() if t.toplevel) / window_ms
                if window_ms > 0 else 0.0)
        cpus = model.host.cpu_count
        limit = max(max_conn - reserved - 5, 5)
        pool = min(max(2 * cpus, math.ceil(1.5 * active), math.ceil(2 * busy), 5), limit)
        pairs = sorted({(b.datname or "?", b.usename or "?") for b in conns})
        per_pair = max(math.ceil(pool / max(len(pairs), 1)), 2)
        max_client = max(math.ceil(len(conns) * 2 / 100) * 100, 200)
        features = session_features(model)
        target = model.snapshot.target
        dbname = target.database or "postgres"
        host = target.host or "127.0.0.1"
        port = target.port or 5432
        ini = [
            "[databases]",
            f"{_ini_name(dbname)} = host={host} port={port} dbname={_ini_name(dbname)}",
            "",
            "[pgbouncer]",
            "listen_addr = 0.0.0.0",
            "listen_port = 6432",
            "auth_type = scram-sha-256",
            "auth_file = /etc/pgbouncer/userlist.txt",
            "pool_mode = transaction",
            f"max_client_conn = {max_client}",
            f"default_pool_size = {per_pair}",
            f"min_pool_size = {max(per_pair // 4, 1)}",
            f"reserve_pool_size = {max(per_pair // 4, 2)}",
            "reserve_pool_timeout = 3",
            "server_idle_timeout = 300",
            "idle_transaction_timeout = 60",
            "max_prepared_statements = 200  ; PgBouncer 1.21+: prepared statements in "
            "transaction mode",
        ]
        if features:
            ini.append("; these statements keep session state; give their clients their own "
                       "[databases] entry with pool_mode=session: "
                       + "; ".join(f"{k}: {', '.join(map(str, v[:5]))}"
                                   for k, v in features.items()))
        breaks = ("Transaction pooling would break statements that keep session state: "
                  + "; ".join(f"{k} (queryid {', '.join(map(str, v[:5]))})"
                              for k, v in features.items())
                  + ". Move them to transaction-scoped variants (SET LOCAL, "
                  "pg_advisory_xact_lock) or give those clients pool_mode = session."
                  if features else
                  "No statement in pg_stat_statements keeps session state (session SET, "
                  "temporary tables, session advisory locks, LISTEN, WITH HOLD cursors), so "
                  "transaction pooling fits; prepared statements need PgBouncer 1.21+.")
        timeout = ""
        if in_tx and (model.setting_ms("idle_in_transaction_session_timeout") or 0) <= 0:
            timeout = (" idle_in_transaction_session_timeout is not set: set it for the "
                       "application's role (CF021 proposes it once sessions stay idle in a "
                       "transaction for a minute) so forgotten transactions end.")
        shell = "cat > pgbouncer.ini <<'EOF'\n" + "\n".join(ini) + "\nEOF"
        return self.finding(
            severity=Severity.MEDIUM if strong else self.severity,
            title=f"Put PgBouncer in front: {len(conns)} connections ({states.get('idle', 0)} "
                  f"idle, {len(in_tx)} idle in transaction) -> pool of {pool}",
            detail=(f"At the snapshot: {'; '.join(reasons)}. A transaction pooler gives a "
                    f"server connection only while a transaction runs. Pool size {pool}: the "
                    f"larger of 2 x {model.host.cpu_phrase()}, 1.5 x {active} active "
                    f"connections, and 2 x {busy:,.2f} backends busy on average over "
                    f"{model.window.describe()}; default_pool_size {per_pair} per "
                    f"database/user pair ({len(pairs)} seen). {breaks}{timeout} Once the "
                    "application connects through the pooler, max_connections can come down "
                    "(CF016)."),
            object=ObjectRef(),
            action=Action(shell=shell),
            evidence={"clients": len(conns), "states": dict(states),
                      "idle_in_transaction": len(in_tx),
                      "idle_in_transaction_ages": sorted(round(b.state_change_age or 0.0, 1)
                                                         for b in in_tx)[-10:],
                      "max_connections": max_conn, "reserved": reserved,
                      "busy_backends": round(busy, 3), "active": active,
                      "sessions_per_second": round(per_second, 3) if per_second else per_second,
                      "mean_session_ms": round(session_ms, 1) if session_ms else session_ms,
                      "median_connection_age_s": round(median(
                          b.backend_start_age or 0.0 for b in conns), 1),
                      "pool_size": pool, "default_pool_size": per_pair,
                      "max_client_conn": max_client, "pools": [list(p) for p in pairs],
                      "session_features": {k: [str(q) for q in v] for k, v in features.items()},
                      "pgbouncer_ini": "\n".join(ini)},
            benefit=float(len(conns)),
        )


def _ini_name(name: str) -> str:
    """A database name for pgbouncer.ini (double-quoted when it is not a plain word)."""
    return name if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else '"' + name.replace('"', '""') + '"'
