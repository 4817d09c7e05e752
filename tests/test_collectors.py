"""What each collector reads from a real server, on every server version the suite has.

Each test seeds what it needs in its own database, runs the real collection path
(`analyzer.collect.collect` over a safe `Session`) and states one behaviour.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
import pytest
from psycopg import errors as pg_errors

from pgsage.analyzer.app.throwaway import DEFAULT_SETTINGS, ThrowawayServer
from pgsage.analyzer.live.collect import classify, collect, run_collector, server_context
from pgsage.analyzer.live.connection import Session, SessionLimits
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.sidecar.settings import DEFAULT_GROUPS, DEFAULT_INTERVALS
from pgsage.analyzer.sidecar.window import HISTORY
from pgsage.collectors import REGISTRY, ServerContext, Skip
from pgsage.collectors.activity import Backend
from pgsage.collectors.archiver import ArchiverStats
from pgsage.collectors.bgwriter import BgwriterStats
from pgsage.collectors.columns import ColumnStats
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.database import DatabaseAge, DatabaseStats
from pgsage.collectors.extensions import Extension
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.replication import PreparedXact, Replica, ReplicationSlot
from pgsage.collectors.sequences import SequenceState
from pgsage.collectors.server import ServerInfo
from pgsage.collectors.settings import Setting
from pgsage.collectors.statements import StatementsInfo, StatementStats
from pgsage.collectors.tables import TableStats
from pgsage.collectors.wal import WalStats

if TYPE_CHECKING:
    from conftest import PgDatabase, PgServer

R = TypeVar("R")

_unique = itertools.count()

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


# --- helpers -------------------------------------------------------------------------------


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
        conn.execute("SELECT 1")
        time.sleep(0.6)  # PostgreSQL 14's statistics collector sends at most every 500 ms


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


@pytest.fixture
def make_role(pg: PgDatabase) -> Iterator[Callable[..., str]]:
    """Create login roles (cluster-wide) for one test and drop them afterwards."""
    created: list[str] = []

    def make(*grants: str) -> str:
        name = f"pgsage_{os.getpid()}_{next(_unique)}"
        pg.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'not-checked-under-trust'")
        for grant in grants:
            pg.execute(f"GRANT {grant} TO {name}")
        created.append(name)
        return name

    yield make
    for name in created:
        pg.execute(f"DROP OWNED BY {name}")
        pg.server.execute(f"DROP ROLE IF EXISTS {name}")


# --- the whole snapshot ------------------------------------------------------------------


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


# --- safety contract ---------------------------------------------------------------------


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
    writes = [s for s in statements if first_keyword(s) not in {"SELECT", "SHOW", "SET"}]
    assert writes == []


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


def test_a_held_lock_does_not_stall_collection(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    limits = SessionLimits(statement_timeout_ms=1500, lock_timeout_ms=200, client_grace_s=2)
    with psycopg.connect(pg.dsn) as locker:
        locker.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        snap = snapshot(pg.dsn, limits)
        elapsed = time.monotonic() - started
        locker.rollback()
    assert not snap.status["tables"].ok
    failed = {name: s.reason for name, s in snap.status.items() if not s.ok}
    # Whatever needs a lock on the table (pg_table_size, pg_get_expr) gives up, and says why.
    assert all(str(reason).startswith(("lock_timeout", "statement_timeout"))
               for reason in failed.values()), failed
    for name in ("server", "settings", "statements", "activity", "database", "wal"):
        assert snap.status[name].ok, name
    assert elapsed < 15  # generous: a stalled collector would wait for the lock forever


# --- privileges ----------------------------------------------------------------------------


def test_a_pg_monitor_role_collects_everything(pg: PgDatabase,
                                               make_role: Callable[..., str]) -> None:
    seed(pg, SHOP + "ANALYZE;")
    role = make_role("pg_monitor")
    snap = snapshot(pg.server.dsn(pg.name, user=role))
    assert_monitor_snapshot(snap)
    info = snap.one("server", ServerInfo)
    assert info is not None
    assert (info.current_user, info.is_superuser, info.has_pg_monitor) == (role, False, True)


def test_a_pg_monitor_role_sees_no_planner_statistics_of_tables_it_cannot_read(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    seed(pg, SHOP + "ANALYZE;")
    role = make_role("pg_monitor")
    pg.execute(f"GRANT SELECT ON customers TO {role}")
    snap = snapshot(pg.server.dsn(pg.name, user=role))
    columns = snap.rows("columns", ColumnStats)
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


def test_sequences_a_role_may_not_read_have_no_last_value(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    seed(pg, "CREATE SEQUENCE ticket_no AS integer; SELECT setval('ticket_no', 42);")
    role = make_role("pg_monitor")
    snap = snapshot(pg.server.dsn(pg.name, user=role))
    seq = by(snap.rows("sequences", SequenceState), name="ticket_no")
    assert (seq.readable, seq.last_value) == (False, None)


# --- server, settings, extensions --------------------------------------------------------


def test_server_identifies_version_database_and_role(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    info = snap.one("server", ServerInfo)
    assert info is not None
    assert info.server_version_num == pg.version_num
    assert info.database == pg.name
    assert (info.current_user, info.is_superuser, info.in_recovery) == ("postgres", True, False)
    assert info.started_at <= info.collected_at
    assert info.database_bytes is not None and info.database_bytes > 0


def test_settings_carry_value_unit_and_restart_context(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    settings = snap.rows("settings", Setting)
    conns = by(settings, name="max_connections")
    assert (conns.setting, conns.vartype, conns.context) == ("50", "integer", "postmaster")
    assert by(settings, name="shared_buffers").unit == "8kB"
    preload = by(settings, name="shared_preload_libraries")
    assert preload.setting is not None and "pg_stat_statements" in preload.setting


def test_extensions_list_installed_ones_with_schema(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    pgss = by(snap.rows("extensions", Extension), name="pg_stat_statements")
    assert pgss.installed_version is not None
    assert (pgss.schema, pgss.available) == ("public", True)


def test_extensions_list_useful_ones_that_are_only_available(pg: PgDatabase) -> None:
    pg.execute("DROP EXTENSION pg_stat_statements")
    snap = snapshot(pg.dsn)
    pgss = by(snap.rows("extensions", Extension), name="pg_stat_statements")
    assert (pgss.installed_version, pgss.schema, pgss.available) == (None, None, True)


# --- pg_stat_statements ------------------------------------------------------------------


def run_shipped_query(pg: PgDatabase, times: int = 3) -> None:
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for _ in range(times):
            conn.execute("SELECT count(*) FROM orders WHERE status = 'shipped'")


def test_statements_count_calls_of_this_database_only(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    run_shipped_query(pg)
    snap = snapshot(pg.dsn)
    stats = snap.rows("statements", StatementStats)
    shipped = [s for s in stats if s.query and "FROM orders WHERE status = $1" in s.query]
    assert len(shipped) == 1
    assert shipped[0].calls == 3 and shipped[0].rows == 3
    assert {s.dbid for s in stats} == {database_oid(pg)}


def test_statement_texts_are_read_only_for_queryids_not_already_known(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    run_shipped_query(pg)
    first = snapshot(pg.dsn).rows("statements", StatementStats)
    known = {s.queryid for s in first if s.query and "FROM orders WHERE status" in s.query}
    assert len(known) == 1

    second = snapshot(pg.dsn, known_query_texts=known).rows("statements", StatementStats)
    again = by(second, queryid=next(iter(known)))
    assert again.query is None and again.calls >= 3
    assert any(s.query for s in second if s.queryid not in known)


def test_statements_info_reports_evictions(pg: PgDatabase) -> None:
    info = snapshot(pg.dsn).one("statements_info", StatementsInfo)
    assert info is not None and info.dealloc >= 0


def test_statements_are_skipped_with_the_fix_when_the_extension_is_missing(
        pg: PgDatabase) -> None:
    pg.execute("DROP EXTENSION pg_stat_statements")
    snap = snapshot(pg.dsn)
    for name in ("statements", "statements_info"):
        status = snap.status[name]
        assert not status.ok
        assert status.reason is not None
        assert "CREATE EXTENSION pg_stat_statements" in status.reason
    assert_all_ok(snap, except_=("statements", "statements_info"))


# --- tables, indexes, constraints, sequences ---------------------------------------------


def test_tables_count_live_rows_and_scans(pg: PgDatabase) -> None:
    seed(pg, SHOP + "SELECT count(*) FROM orders;")
    orders = by(snapshot(pg.dsn).rows("tables", TableStats), name="orders")
    assert (orders.schema, orders.relkind, orders.persistence) == ("public", "r", "p")
    assert orders.n_live_tup == 1000 and orders.n_tup_ins == 1000
    assert orders.seq_scan is not None and orders.seq_scan >= 1
    assert orders.table_bytes is not None and orders.table_bytes > 0
    assert orders.frozenxid_age is not None and orders.frozenxid_age >= 0


def test_tables_describe_a_partitioned_table_and_its_partitions(pg: PgDatabase) -> None:
    seed(pg, EVENTS)
    tables = snapshot(pg.dsn).rows("tables", TableStats)
    parent = by(tables, name="events")
    assert (parent.relkind, parent.partition_strategy) == ("p", "r")
    assert parent.partition_key == "RANGE (created)"
    assert parent.table_bytes is None and parent.frozenxid_age is None
    part = by(tables, name="events_2026_01")
    assert part.is_partition and part.parent_relid == parent.relid


def index_scan_orders(pg: PgDatabase) -> None:
    seed(pg, "SET enable_seqscan = off; SET enable_bitmapscan = off;"
             "SELECT * FROM orders WHERE id = 7;")


@pytest.mark.pg(">= 16")
def test_tables_and_indexes_have_last_scan_times_from_16(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    index_scan_orders(pg)
    snap = snapshot(pg.dsn)
    orders = by(snap.rows("tables", TableStats), name="orders")
    assert orders.last_idx_scan is not None and orders.last_idx_scan <= time.time() + 1
    assert orders.n_tup_newpage_upd == 0
    pkey = by(snap.rows("indexes", IndexStats), name="orders_pkey")
    assert pkey.last_idx_scan is not None and pkey.idx_scan == 1


@pytest.mark.pg("< 16")
def test_tables_and_indexes_have_no_last_scan_times_before_16(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    index_scan_orders(pg)
    snap = snapshot(pg.dsn)
    orders = by(snap.rows("tables", TableStats), name="orders")
    assert (orders.last_idx_scan, orders.last_seq_scan, orders.n_tup_newpage_upd) == (
        None, None, None)
    pkey = by(snap.rows("indexes", IndexStats), name="orders_pkey")
    assert pkey.last_idx_scan is None and pkey.idx_scan == 1


def test_indexes_show_a_partial_index_predicate(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    idx = by(snapshot(pg.dsn).rows("indexes", IndexStats), name="orders_pending_idx")
    assert idx.predicate == "(status = 'pending'::text)"
    assert idx.columns == ("created_at",) and idx.method == "btree"


def test_indexes_show_an_expression_key_as_none_column(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    idx = by(snapshot(pg.dsn).rows("indexes", IndexStats), name="orders_lower_email_idx")
    assert idx.columns == (None,)
    assert idx.expressions == "lower(email)"


def test_indexes_flag_an_invalid_index_left_by_a_failed_concurrent_build(
        pg: PgDatabase) -> None:
    seed(pg, SHOP)
    with pytest.raises(pg_errors.UniqueViolation):
        pg.execute("CREATE UNIQUE INDEX CONCURRENTLY orders_status_uniq ON orders (status)")
    idx = by(snapshot(pg.dsn).rows("indexes", IndexStats), name="orders_status_uniq")
    assert idx.is_unique and not idx.is_valid


def test_indexes_tell_which_back_constraints_and_foreign_keys(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    indexes = snapshot(pg.dsn).rows("indexes", IndexStats)
    pkey = by(indexes, name="customers_pkey")
    assert pkey.is_primary and pkey.constraint_type == "p"
    assert pkey.referenced_by_fk
    assert not by(indexes, name="orders_pkey").referenced_by_fk


def test_constraints_describe_a_foreign_key(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    fk = by(snapshot(pg.dsn).rows("constraints", Constraint), type="f")
    assert (fk.table, fk.columns) == ("orders", ("customer_id",))
    assert (fk.ref_table, fk.ref_columns) == ("customers", ("id",))
    assert (fk.on_delete, fk.on_update) == ("c", "a")
    assert fk.validated and not fk.deferrable


def test_sequences_show_an_int4_sequence_close_to_its_maximum(pg: PgDatabase) -> None:
    seed(pg, "CREATE SEQUENCE ticket_no AS integer; SELECT setval('ticket_no', 2000000000);")
    seq = by(snapshot(pg.dsn).rows("sequences", SequenceState), name="ticket_no")
    assert (seq.data_type, seq.last_value, seq.max_value) == ("integer", 2000000000, 2147483647)
    assert seq.readable and seq.owner_table is None


def test_sequences_name_an_int4_column_fed_by_a_bigint_sequence(pg: PgDatabase) -> None:
    seed(pg, """
        CREATE TABLE legacy (id int4 NOT NULL);
        CREATE SEQUENCE legacy_id_seq OWNED BY legacy.id;
        ALTER TABLE legacy ALTER id SET DEFAULT nextval('legacy_id_seq');
    """)
    seq = by(snapshot(pg.dsn).rows("sequences", SequenceState), name="legacy_id_seq")
    assert (seq.data_type, seq.owner_table, seq.owner_column) == ("bigint", "legacy", "id")
    assert seq.owner_column_type == "integer" and seq.last_value is None


# --- columns -------------------------------------------------------------------------------

TRICKY = ["a,b", 'say "hi"', "{brace}", "NULL", " spaced ", "back\\slash"]

ITEMS = """
CREATE TABLE items (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku varchar(20) NOT NULL,
    price numeric(10,2) DEFAULT 0,
    price_cents int8 GENERATED ALWAYS AS ((price * 100)::int8) STORED,
    tag text,
    dropped int,
    note text
);
ALTER TABLE items DROP COLUMN dropped;
INSERT INTO items (sku, price, tag, note)
SELECT 'sku-' || i, CASE WHEN i % 2 = 0 THEN i END, 'tag' || (i % 30),
       (ARRAY[{tricky}])[1 + i % 6]
  FROM generate_series(1, 300) i;
ANALYZE items;
""".replace("{tricky}", ", ".join("'" + t.replace("'", "''") + "'" for t in TRICKY))


def test_columns_describe_types_defaults_identity_and_generated(pg: PgDatabase) -> None:
    seed(pg, ITEMS)
    columns = [c for c in snapshot(pg.dsn).rows("columns", ColumnStats) if c.table == "items"]
    assert [(c.name, c.attnum, c.type) for c in columns] == [
        ("id", 1, "integer"), ("sku", 2, "character varying(20)"),
        ("price", 3, "numeric(10,2)"), ("price_cents", 4, "bigint"), ("tag", 5, "text"),
        ("note", 7, "text")]
    ident = by(columns, name="id")
    assert (ident.identity, ident.not_null, ident.has_default) == ("a", True, False)
    assert by(columns, name="price_cents").generated == "s"
    assert by(columns, name="price").has_default and not by(columns, name="price").not_null


def test_columns_carry_planner_statistics(pg: PgDatabase) -> None:
    seed(pg, ITEMS)
    columns = snapshot(pg.dsn).rows("columns", ColumnStats)
    assert by(columns, table="items", name="price").null_frac == 0.5
    sku = by(columns, table="items", name="sku")
    assert (sku.n_distinct, sku.inherited, sku.most_common_vals) == (-1.0, False, None)
    assert by(columns, table="items", name="id").correlation == 1.0


def test_columns_keep_most_common_values_only_where_they_list_every_value(
        pg: PgDatabase) -> None:
    seed(pg, ITEMS)
    columns = snapshot(pg.dsn).rows("columns", ColumnStats)
    tag = by(columns, table="items", name="tag")
    assert tag.n_distinct == 30.0  # more than 20 values: no rule reads them, none read
    assert (tag.most_common_vals, tag.most_common_freqs) == (None, None)
    note = by(columns, table="items", name="note")
    assert note.most_common_vals is not None and note.most_common_freqs is not None
    assert len(note.most_common_vals) == len(note.most_common_freqs) == len(TRICKY)
    assert all(abs(f - 1 / 6) < 1e-6 for f in note.most_common_freqs)


def test_columns_return_most_common_values_exactly_as_stored(pg: PgDatabase) -> None:
    seed(pg, ITEMS)
    note = by(snapshot(pg.dsn).rows("columns", ColumnStats), table="items", name="note")
    assert note.most_common_vals is not None
    assert sorted(note.most_common_vals) == sorted(TRICKY)


def test_columns_of_a_partitioned_table_have_inherited_statistics(pg: PgDatabase) -> None:
    seed(pg, EVENTS)
    columns = snapshot(pg.dsn).rows("columns", ColumnStats)
    parent = by(columns, table="events", name="kind")
    assert parent.inherited is True and parent.n_distinct == 2.0
    assert set(parent.most_common_vals or ()) == {"click", "view"}
    assert by(columns, table="events_2026_01", name="kind").inherited is False


def test_columns_never_analyzed_have_no_statistics(pg: PgDatabase) -> None:
    seed(pg, "CREATE TABLE fresh (id int, label text)")
    label = by(snapshot(pg.dsn).rows("columns", ColumnStats), table="fresh", name="label")
    assert (label.inherited, label.null_frac, label.n_distinct) == (None, None, None)


# --- activity ------------------------------------------------------------------------------


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


# --- database, databases -----------------------------------------------------------------


def test_database_counts_this_database_transactions_and_tuples(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    stats = snapshot(pg.dsn).rows("database", DatabaseStats)
    assert len(stats) == 1
    db = stats[0]
    assert (db.datname, db.datid) == (pg.name, database_oid(pg))
    assert db.xact_commit > 0 and db.tup_inserted >= 1050
    assert db.sessions >= 1 and db.numbackends >= 1
    assert db.deadlocks == 0 and db.temp_files == 0


@pytest.mark.pg(">= 18")
def test_database_counts_parallel_workers_from_18(pg: PgDatabase) -> None:
    db = snapshot(pg.dsn).one("database", DatabaseStats)
    assert db is not None and db.parallel_workers_launched is not None


@pytest.mark.pg("< 18")
def test_database_has_no_parallel_worker_counts_before_18(pg: PgDatabase) -> None:
    db = snapshot(pg.dsn).one("database", DatabaseStats)
    assert db is not None and db.parallel_workers_launched is None


def test_databases_give_wraparound_ages_of_every_database(pg: PgDatabase) -> None:
    ages = snapshot(pg.dsn).rows("databases", DatabaseAge)
    mine = by(ages, datname=pg.name)
    assert mine.frozenxid_age >= 0 and mine.minmxid_age >= 0
    assert mine.bytes is not None and mine.bytes > 0
    template0 = by(ages, datname="template0")
    assert (template0.allow_connections, template0.is_template) == (False, True)


def test_databases_hide_sizes_the_role_may_not_measure(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    role = make_role()
    pg.execute(f'REVOKE CONNECT ON DATABASE "{pg.name}" FROM PUBLIC')
    with Session.open(pg.dsn) as admin:
        ctx, _ = server_context(admin)
    ages = run_as(pg.server.dsn("postgres", user=role), ctx)["databases"]
    assert isinstance(ages, list)
    mine = by(ages, datname=pg.name)
    assert mine.bytes is None and mine.frozenxid_age >= 0
    assert by(ages, datname="postgres").bytes is not None


# --- bgwriter, wal, archiver -------------------------------------------------------------


def test_bgwriter_counts_a_requested_checkpoint(pg: PgDatabase) -> None:
    def requested() -> int:
        stats = snapshot(pg.dsn, only={"bgwriter"}).one("bgwriter", BgwriterStats)
        assert stats is not None
        return stats.checkpoints_req

    before = requested()
    pg.execute("CHECKPOINT")
    eventually(lambda: requested() > before)


@pytest.mark.pg(">= 17")
def test_bgwriter_reads_the_checkpointer_view_from_17(pg: PgDatabase) -> None:
    stats = snapshot(pg.dsn).one("bgwriter", BgwriterStats)
    assert stats is not None
    assert stats.buffers_backend is None and stats.buffers_backend_fsync is None
    assert stats.restartpoints_done is not None
    assert stats.checkpointer_stats_reset is not None


@pytest.mark.pg(">= 18")
def test_bgwriter_counts_checkpoints_done_from_18(pg: PgDatabase) -> None:
    pg.execute("CHECKPOINT")

    def done() -> bool:
        stats = snapshot(pg.dsn, only={"bgwriter"}).one("bgwriter", BgwriterStats)
        return stats is not None and (stats.checkpoints_done or 0) >= 1

    eventually(done)


@pytest.mark.pg("< 17")
def test_bgwriter_counts_backend_writes_before_17(pg: PgDatabase) -> None:
    stats = snapshot(pg.dsn).one("bgwriter", BgwriterStats)
    assert stats is not None
    assert stats.buffers_backend is not None and stats.buffers_backend_fsync is not None
    assert stats.checkpoints_done is None and stats.restartpoints_done is None


def test_wal_position_advances_with_writes(pg: PgDatabase) -> None:
    before = snapshot(pg.dsn).one("wal", WalStats)
    seed(pg, SHOP)
    after = snapshot(pg.dsn).one("wal", WalStats)
    assert before is not None and after is not None
    assert not after.in_recovery and after.replay_lsn_bytes is None
    assert before.current_lsn_bytes is not None and after.current_lsn_bytes is not None
    assert after.current_lsn_bytes > before.current_lsn_bytes
    assert after.wal_records > before.wal_records and after.wal_bytes > before.wal_bytes


def test_archiver_reports_nothing_archived_when_archiving_is_off(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    archiver = snap.one("archiver", ArchiverStats)
    assert by(snap.rows("settings", Setting), name="archive_mode").setting == "off"
    assert archiver is not None
    assert (archiver.archived_count, archiver.failed_count) == (0, 0)
    assert archiver.last_archived_wal is None and archiver.last_failed_time is None


# --- replication, slots, prepared transactions -------------------------------------------


@pytest.fixture
def physical_slot(pg: PgDatabase) -> Iterator[str]:
    name = f"pgsage_slot_{os.getpid()}_{next(_unique)}"
    pg.execute(f"SELECT pg_create_physical_replication_slot('{name}', true)")
    yield name

    def dropped() -> bool:
        try:
            pg.fetch(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     f"WHERE slot_name = '{name}' AND NOT active")
        except pg_errors.ObjectInUse:  # the walsender has not released it yet
            return False
        return pg.fetch(f"SELECT count(*) FROM pg_replication_slots "
                        f"WHERE slot_name = '{name}'")[0][0] == 0

    eventually(dropped)


def test_replication_is_empty_without_standbys(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    assert snap.status["replication"].ok and snap.rows("replication", Replica) == []


def test_replication_slots_show_wal_retained_by_an_inactive_slot(
        pg: PgDatabase, physical_slot: str) -> None:
    seed(pg, SHOP)
    slot = by(snapshot(pg.dsn).rows("replication_slots", ReplicationSlot),
              slot_name=physical_slot)
    assert (slot.slot_type, slot.active, slot.wal_status) == ("physical", False, "reserved")
    assert slot.retained_bytes is not None and slot.retained_bytes > 0
    assert slot.xmin_age is None and slot.catalog_xmin_age is None


@pytest.mark.pg(">= 17")
def test_replication_slots_tell_since_when_a_slot_is_inactive_from_17(
        pg: PgDatabase, physical_slot: str) -> None:
    slot = by(snapshot(pg.dsn).rows("replication_slots", ReplicationSlot),
              slot_name=physical_slot)
    assert slot.inactive_since is not None and slot.failover is False


def test_replication_shows_a_streaming_wal_receiver_and_its_slot(
        pg: PgDatabase, physical_slot: str) -> None:
    server = throwaway(pg)
    with tempfile.TemporaryDirectory() as target:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        receiver = subprocess.Popen(
            [str(server.bin_dir / "pg_receivewal"), "-d", server.dsn(), "-D", target,
             "-S", physical_slot, "--no-loop", "--no-password"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            eventually(lambda: pg.fetch(
                "SELECT count(*) FROM pg_stat_replication "
                "WHERE application_name = 'pg_receivewal' AND state = 'streaming'")[0][0] == 1)
            snap = snapshot(pg.dsn)
        finally:
            receiver.terminate()
            receiver.wait(10)
    replica = by(snap.rows("replication", Replica), application_name="pg_receivewal")
    assert (replica.state, replica.sync_state, replica.client_addr) == (
        "streaming", "async", "127.0.0.1")
    assert replica.sent_lag_bytes is not None and replica.sent_lag_bytes >= 0
    slot = by(snap.rows("replication_slots", ReplicationSlot), slot_name=physical_slot)
    assert slot.active and slot.active_pid == replica.pid


@pytest.fixture(scope="module")
def twophase_server(pg_server: PgServer) -> Iterator[ThrowawayServer]:
    """A server of the same version with prepared transactions and logical decoding on."""
    if pg_server.throwaway is None:
        pytest.skip("needs throwaway servers")
    settings = {**DEFAULT_SETTINGS, "max_prepared_transactions": "2", "wal_level": "logical",
                "shared_buffers": "16MB"}
    with ThrowawayServer(pg_server.throwaway.bin_dir, settings=settings) as server:
        yield server


def test_prepared_xacts_is_empty_without_prepared_transactions(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    assert snap.status["prepared_xacts"].ok and snap.rows("prepared_xacts", PreparedXact) == []


def test_prepared_xacts_show_a_forgotten_prepared_transaction(
        twophase_server: ThrowawayServer) -> None:
    with psycopg.connect(twophase_server.dsn()) as conn:
        conn.tpc_begin("pgsage-forgotten")
        conn.execute("CREATE TABLE twophase (id int)")
        conn.tpc_prepare()
        try:
            snap = snapshot(twophase_server.dsn())
        finally:
            conn.tpc_rollback()
    xact = by(snap.rows("prepared_xacts", PreparedXact), gid="pgsage-forgotten")
    assert (xact.owner, xact.database) == ("postgres", "postgres")
    assert xact.prepared_age >= 0 and xact.xid_age >= 0


def test_replication_slots_show_a_logical_slot_holding_catalog_xmin(
        twophase_server: ThrowawayServer) -> None:
    with psycopg.connect(twophase_server.dsn(), autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot('pgsage_logical', "
                     "'test_decoding')")
        try:
            conn.execute("SET synchronous_commit = on")
            conn.execute("CREATE TABLE decoded (id int); INSERT INTO decoded VALUES (1)")
            snap = snapshot(twophase_server.dsn())
        finally:
            conn.execute("SELECT pg_drop_replication_slot('pgsage_logical')")
    slot = by(snap.rows("replication_slots", ReplicationSlot), slot_name="pgsage_logical")
    assert (slot.slot_type, slot.plugin, slot.database) == ("logical", "test_decoding",
                                                            "postgres")
    assert slot.catalog_xmin_age is not None and slot.catalog_xmin_age >= 1
    assert slot.confirmed_flush_lag_bytes is not None and slot.confirmed_flush_lag_bytes > 0
    assert slot.two_phase is False
