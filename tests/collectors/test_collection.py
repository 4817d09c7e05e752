"""Collection as a whole: every collector, the session's safety contract, privileges.

Each test seeds what it needs in its own database, runs the real collection path
(`analyzer.live.collect.collect` over a safe `Session`) and states one behaviour. What each
collector reads is in the test module named after it, on every server version the suite has.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import psycopg
import pytest
from collector_support import (
    EVENTS,
    PG_MONITOR_READS,
    SHOP,
    assert_all_ok,
    assert_monitor_snapshot,
    by,
    run_as,
    seed,
    snapshot,
    throwaway,
)
from psycopg import errors as pg_errors

from pgsage.analyzer.engine.pipeline import locked_notes
from pgsage.analyzer.live.collect import collect, server_context
from pgsage.analyzer.live.connection import Session, SessionLimits
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.sidecar.settings import DEFAULT_GROUPS, DEFAULT_INTERVALS
from pgsage.analyzer.sidecar.window import HISTORY
from pgsage.collectors import REGISTRY
from pgsage.collectors.activity import Backend
from pgsage.collectors.columns import Column
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.server import Server
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.tables import TableStats

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_every_registered_collector_runs_on_a_fresh_database(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    assert set(snap.status) == set(REGISTRY)
    assert_all_ok(snap)


def test_collectors_run_in_registry_order_with_new_sources_after_sequences() -> None:
    names = list(REGISTRY)
    assert names.index("sequences") < names.index("columns")
    for name in ("columns", "database", "databases", "activity", "bgwriter", "wal",
                 "archiver", "replication", "replication_slots", "prepared_xacts"):
        assert name in REGISTRY


def test_every_collector_lives_in_the_module_named_after_it() -> None:
    for name, collector in REGISTRY.items():
        assert type(collector).__module__ == f"pgsage.collectors.{name}", name


def test_every_record_is_a_frozen_slotted_dataclass() -> None:
    for name, collector in REGISTRY.items():
        record = collector.record
        assert dataclasses.is_dataclass(record), name
        assert record.__dataclass_params__.frozen, name  # type: ignore[attr-defined]
        assert hasattr(record, "__slots__"), name


def test_every_collector_declares_its_sidecar_group_and_whether_it_is_cumulative() -> None:
    for name, collector in REGISTRY.items():
        assert getattr(collector, "cadence", None) in DEFAULT_INTERVALS, name
        assert isinstance(getattr(collector, "cumulative", None), bool), name


def test_the_sidecar_schedules_and_keeps_collectors_by_their_declarations() -> None:
    assert DEFAULT_GROUPS["tables"] == ("tables", "indexes", "sequences")
    assert "hba" in DEFAULT_GROUPS["schema"]
    assert {"statements", "tables", "activity", "plans"} <= HISTORY
    assert "columns" not in HISTORY and "settings" not in HISTORY


def test_a_snapshot_survives_a_json_round_trip(pg: PgDatabase) -> None:
    seed(pg, SHOP + EVENTS + "ANALYZE;")
    snap = snapshot(pg.dsn)
    text = json.dumps(snap.to_json())
    again = Snapshot.from_json(json.loads(text))
    assert again.data == snap.data


def test_the_session_is_read_only(pg: PgDatabase) -> None:
    with Session.open(pg.dsn) as session:
        assert session.fetch("SHOW transaction_read_only") == [{"transaction_read_only": "on"}]


def test_the_session_refuses_to_write(pg: PgDatabase) -> None:
    with Session.open(pg.dsn) as session, pytest.raises(pg_errors.ReadOnlySqlTransaction):
        session.fetch("CREATE TABLE pgsage_must_not_exist (id int)")
    assert pg.fetch("SELECT to_regclass('pgsage_must_not_exist')") == [(None,)]


def test_the_session_is_named_and_bounded_by_timeouts(pg: PgDatabase) -> None:
    limits = SessionLimits(statement_timeout_ms=1234, lock_timeout_ms=321)
    with Session.open(pg.dsn, limits) as session:
        row = session.fetch("SELECT current_setting('application_name') AS app, "
                            "current_setting('statement_timeout') AS st, "
                            "current_setting('lock_timeout') AS lt")[0]
    assert row == {"app": "pgsage", "st": "1234ms", "lt": "321ms"}


def test_the_session_is_named_pgsage_whatever_the_dsn_says(pg: PgDatabase) -> None:
    with Session.open(f"{pg.dsn} application_name=theirs") as session:
        row = session.fetch("SELECT current_setting('application_name') AS app")[0]
    assert row == {"app": "pgsage"}


def test_collection_logs_only_reads(pg: PgDatabase, make_role: Callable[..., str]) -> None:
    server = throwaway(pg)
    seed(pg, SHOP + EVENTS)
    role = make_role("pg_monitor")
    pg.server.execute(f"ALTER ROLE {role} SET log_statement = 'all'")
    start = server.log_file.stat().st_size
    with Session.open(pg.server.dsn(pg.name, user=role)) as session:
        pid = session.conn.info.backend_pid
        snap = collect(session)
    assert_monitor_snapshot(snap)
    with server.log_file.open("rb") as f:
        f.seek(start)
        log = f.read().decode(errors="replace")

    statements = logged_statements(log, pid)
    assert len(statements) >= len(REGISTRY) - 2
    writes = [s for s in statements if first_keyword(s) not in {"SELECT", "WITH", "SHOW", "SET"}
              or (first_keyword(s) == "WITH" and DATA_MODIFYING.search(uncommented(s)))]
    assert writes == []


DATA_MODIFYING = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.I)


def uncommented(statement: str) -> str:
    return re.sub(r"--[^\n]*", "", statement)


_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] (\w+):  (.*)$")


def logged_statements(log: str, pid: int) -> list[str]:
    """Statements the server logged (`statement:` or `execute <name>:`) for one backend."""
    entries: list[tuple[int, str, str]] = []
    for line in log.splitlines():
        m = _ENTRY.match(line)
        if m:
            entries.append((int(m[1]), m[2], m[3]))
        elif entries:  # continuation of a multi-line statement
            p, level, text = entries[-1]
            entries[-1] = (p, level, text + "\n" + line)
    found = []
    for p, level, text in entries:
        if p != pid or level != "LOG":
            continue
        m = re.match(r"(?:statement|execute [^:]*): (.*)", text, re.S)
        if m:
            found.append(m[1])
    return found


def first_keyword(statement: str) -> str:
    text = re.sub(r"^(\s|--[^\n]*\n)*", "", statement)
    return text.split(None, 1)[0].upper() if text else ""


def test_a_held_lock_skips_only_the_locked_table(pg: PgDatabase) -> None:
    """An ACCESS EXCLUSIVE lock on one table leaves out what would wait for it (that
    table's sizes, its indexes' definitions and sizes), names it, and keeps the rest."""
    seed(pg, SHOP)
    limits = SessionLimits(statement_timeout_ms=1500, lock_timeout_ms=200, client_grace_s=2)
    with psycopg.connect(pg.dsn) as locker:
        locker.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        holder = locker.info.backend_pid
        started = time.monotonic()
        snap = snapshot(pg.dsn, limits)
        elapsed = time.monotonic() - started
        locker.rollback()
    assert {name: s.reason for name, s in snap.status.items() if not s.ok} == {}
    tables = {t.name: t for t in snap.rows("tables", TableStats)}
    assert tables["orders"].locked_by == holder and tables["orders"].table_bytes is None
    assert tables["customers"].locked_by is None and tables["customers"].table_bytes
    indexes = snap.rows("indexes", IndexStats)
    assert {ix.locked_by for ix in indexes if ix.table == "orders"} == {holder}
    assert all(ix.definition is None and ix.bytes is None for ix in indexes
               if ix.table == "orders")
    assert all(ix.definition and ix.locked_by is None for ix in indexes
               if ix.table == "customers")
    notes = locked_notes(Model(snap))
    assert any("public.orders (pid " in n for n in notes) and "catalog" not in " ".join(notes)
    assert elapsed < 15  # generous: a stalled collector would wait for the lock forever


def test_a_pg_monitor_role_collects_everything(pg: PgDatabase,
                                               make_role: Callable[..., str]) -> None:
    seed(pg, SHOP + "ANALYZE;")
    role = make_role("pg_monitor")
    snap = snapshot(pg.server.dsn(pg.name, user=role))
    assert_monitor_snapshot(snap)
    info = snap.one("server", Server)
    assert info is not None
    assert (info.current_user, info.is_superuser, info.has_pg_monitor) == (role, False, True)


def test_a_pg_monitor_role_sees_no_planner_statistics_of_tables_it_cannot_read(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    seed(pg, SHOP + "ANALYZE;")
    role = make_role("pg_monitor")
    pg.execute(f"GRANT SELECT ON customers TO {role}")
    snap = snapshot(pg.server.dsn(pg.name, user=role))
    columns = snap.rows("columns", Column)
    hidden = by(columns, table="orders", name="status")
    assert hidden.type == "text" and hidden.not_null
    assert hidden.null_frac is None and hidden.most_common_vals is None
    granted = by(columns, table="customers", name="id")
    assert granted.n_distinct == -1.0


def test_a_pg_monitor_role_sees_other_sessions_and_their_statement_texts(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    seed(pg, SHOP)
    role = make_role("pg_monitor")
    with psycopg.connect(pg.dsn, application_name="shop-admin") as other:
        other.execute("SELECT count(*) FROM orders WHERE status = 'pending'")
        snap = snapshot(pg.server.dsn(pg.name, user=role))
    admin = by(snap.rows("activity", Backend), application_name="shop-admin")
    assert admin.state == "idle in transaction"
    assert admin.xact_start_age is not None
    texts = [s.query for s in snap.rows("statements", StatementStats) if s.query]
    assert any("FROM orders WHERE status = $1" in t for t in texts)


def test_a_role_without_pg_monitor_still_gets_a_snapshot(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    role = make_role()
    snap = snapshot(pg.server.dsn(pg.name, user=role))
    assert snap.status["activity"].ok


def test_every_collector_query_runs_for_a_role_without_pg_monitor(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    role = make_role()
    with Session.open(pg.dsn) as admin:
        ctx, _ = server_context(admin)
    with psycopg.connect(pg.dsn, application_name="shop-admin") as other:
        other.execute("SELECT 1")
        other_pid = other.info.backend_pid
        results = run_as(pg.server.dsn(pg.name, user=role), ctx)
    # pg_monitor's privileges only widen what these read; none needs them to run.
    assert {k: v for k, v in results.items()
            if isinstance(v, str) and k in PG_MONITOR_READS} == {}
    assert all(reason for reason in results.values() if isinstance(reason, str))
    backends = results["activity"]
    assert isinstance(backends, list)
    admin_backend = by(backends, pid=other_pid)
    assert admin_backend.usename == "postgres"
    assert admin_backend.state is None and admin_backend.xact_start_age is None
    assert admin_backend.client_addr is None


def test_a_revoked_view_fails_its_collector_with_a_reason_and_the_rest_goes_on(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    pg.execute("REVOKE SELECT ON pg_catalog.pg_replication_slots FROM PUBLIC")
    role = make_role("pg_monitor")
    snap = snapshot(pg.server.dsn(pg.name, user=role))
    slots = snap.status["replication_slots"]
    assert not slots.ok
    assert slots.reason is not None and slots.reason.startswith("insufficient privilege")
    assert_monitor_snapshot(snap, except_=("replication_slots",))
