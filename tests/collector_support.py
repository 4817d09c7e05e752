"""Helpers of the collector tests (tests/collectors/): seeding, snapshots, record lookup."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
import pytest

from pgsage.analyzer.app.throwaway import ThrowawayServer
from pgsage.analyzer.live.collect import classify, collect, run_collector
from pgsage.analyzer.live.connection import Session, SessionLimits
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.collectors import REGISTRY, ServerContext, Skip

if TYPE_CHECKING:
    from conftest import PgDatabase


R = TypeVar("R")


unique_ids = itertools.count()


SHOP = """
CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    status text NOT NULL,
    email text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_pending_idx ON orders (created_at) WHERE status = 'pending';
CREATE INDEX orders_lower_email_idx ON orders (lower(email));
INSERT INTO customers SELECT i, 'c' || i || '@example.com' FROM generate_series(1, 50) i;
INSERT INTO orders (customer_id, status, email)
SELECT 1 + i % 50, CASE WHEN i % 10 = 0 THEN 'pending' ELSE 'shipped' END, 'O' || i || '@x.org'
  FROM generate_series(1, 1000) i;
"""


EVENTS = """
CREATE TABLE events (id int8 NOT NULL, created date NOT NULL, kind text)
    PARTITION BY RANGE (created);
CREATE TABLE events_2026_01 PARTITION OF events
    FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_2026_02 PARTITION OF events
    FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
INSERT INTO events
SELECT i, date '2026-01-01' + (i % 59), CASE WHEN i % 2 = 0 THEN 'click' ELSE 'view' END
  FROM generate_series(1, 600) i;
ANALYZE events;
"""


def snapshot(dsn: str, limits: SessionLimits | None = None, **kwargs: Any) -> Snapshot:
    with Session.open(dsn, limits) as session:
        return collect(session, **kwargs)


def seed(pg: PgDatabase, sql: str) -> None:
    """Run setup SQL as the superuser and make its statistics visible to the next reader."""
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")  # WAL written: pg_current_wal_lsn() moves
        conn.execute(sql.encode())
        flush_stats(conn, pg.version_num)


def flush_stats(conn: psycopg.Connection[Any], version_num: int) -> None:
    if version_num >= 150000:
        # Flushed before the server answers this statement, so the next session sees it.
        conn.execute("SELECT pg_stat_force_next_flush()")
    else:
        # PostgreSQL 14 sends a backend's counters at a transaction's end at most every
        # 500 ms, to a collector that takes them in when it gets to them: wait past the
        # interval, let this statement send them, and read until the collector has them.
        time.sleep(0.6)
        sql = ("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        before = conn.execute(sql).fetchone()
        end = time.monotonic() + 10
        while time.monotonic() < end:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            if conn.execute(sql).fetchone() != before:
                return
            time.sleep(0.1)
        raise AssertionError("PostgreSQL 14's statistics collector did not take the counters in")


def by(records: list[R], **match: Any) -> R:
    """The one record whose fields equal `match`."""
    found = [r for r in records
             if all(getattr(r, k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one record matching {match}, got {len(found)}"
    return found[0]


def assert_all_ok(snap: Snapshot, *, except_: tuple[str, ...] = ()) -> None:
    failed = {name: s.reason for name, s in snap.status.items()
              if not s.ok and name not in except_}
    assert not failed


PG_MONITOR_READS = (
    "server", "settings", "extensions", "statements", "statements_info", "tables", "indexes",
    "constraints", "sequences", "columns", "database", "databases", "activity", "bgwriter",
    "wal", "archiver", "replication", "replication_slots", "prepared_xacts",
)
"""Collectors a role with only pg_monitor must be able to run; others may need more."""


def assert_monitor_snapshot(snap: Snapshot, *, except_: tuple[str, ...] = ()) -> None:
    """Everything pg_monitor allows was collected; whatever failed says why."""
    failed = {name: s.reason for name, s in snap.status.items()
              if not s.ok and name in PG_MONITOR_READS and name not in except_}
    assert not failed
    assert all(s.reason for s in snap.status.values() if not s.ok)


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.1)


def throwaway(pg: PgDatabase) -> ThrowawayServer:
    if pg.server.throwaway is None:
        pytest.skip("needs a throwaway server started by the test session")
    return pg.server.throwaway


def database_oid(pg: PgDatabase) -> int:
    return int(pg.fetch(f"SELECT oid FROM pg_database WHERE datname = '{pg.name}'")[0][0])


def run_as(dsn: str, ctx: ServerContext) -> dict[str, list[Any] | str]:
    """Every registered collector over one session: its records, or why it failed."""
    out: dict[str, list[Any] | str] = {}
    with Session.open(dsn) as session:
        for name, collector in REGISTRY.items():
            try:
                out[name] = run_collector(
                    collector, ctx, lambda q: session.fetch(q.sql, q.params))
            except (Skip, psycopg.Error) as exc:
                out[name] = classify(exc, session.limits.statement_timeout_ms)[1]
    return out
