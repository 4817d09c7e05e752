"""The `activity` collector on a real server, on every server version the suite has."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import psycopg
from collector_support import SHOP, by, seed, snapshot

from pgsage.analyzer.live.collect import collect
from pgsage.analyzer.live.connection import Session
from pgsage.collectors.activity import Backend

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_activity_reports_an_idle_transaction_holding_an_xid(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    with psycopg.connect(pg.dsn, application_name="shop-worker", autocommit=True) as worker:
        worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        worker.execute("UPDATE orders SET status = 'cancelled' WHERE id = 1")
        snap = snapshot(pg.dsn)
        worker.execute("ROLLBACK")
    backend = by(snap.rows("activity", Backend), application_name="shop-worker")
    assert (backend.state, backend.datname, backend.usename) == (
        "idle in transaction", pg.name, "postgres")
    assert (backend.backend_type, backend.client_addr, backend.ssl) == (
        "client backend", "127.0.0.1", False)
    assert backend.is_superuser is True
    assert backend.backend_xid_age is not None and backend.backend_xid_age >= 0
    assert backend.backend_xmin_age is not None and backend.backend_xmin_age >= 0
    assert backend.xact_start_age is not None and backend.xact_start_age >= 0
    assert backend.state_change_age is not None
    assert backend.backend_start_age is not None
    assert backend.backend_start_age >= backend.xact_start_age


def test_activity_leaves_out_pgsage_own_backend(pg: PgDatabase) -> None:
    with Session.open(pg.dsn) as session:
        own = session.conn.info.backend_pid
        backends = collect(session, only={"activity"}).rows("activity", Backend)
    assert backends  # background processes at least
    assert own not in {b.pid for b in backends}


def test_activity_never_carries_query_text(pg: PgDatabase) -> None:
    with psycopg.connect(pg.dsn, autocommit=True) as other:
        other.execute("SELECT 'hunter2-secret' AS password")
        other_pid = other.info.backend_pid
        snap = snapshot(pg.dsn)
    assert by(snap.rows("activity", Backend), pid=other_pid).state == "idle"
    assert "query" not in {f.name for f in dataclasses.fields(Backend)}
    assert "hunter2" not in json.dumps(snap.to_json())
