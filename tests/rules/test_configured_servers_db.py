"""The architecture rules on real servers: seeded databases and servers configured for each
family (schema, config, maintenance, backup, security), and a well-run server that stays
quiet.

Settings tests start servers of their own (one per PostgreSQL version found), so the shared
servers of the session keep their configuration: a badly configured one (tiny
pg_stat_statements.max, archive_mode off, track_io_timing off, prepared transactions
allowed) and a well-configured one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pglast
import psycopg
import pytest
from conftest import PgDatabase
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgsage.analyzer.app.throwaway import (
    DEFAULT_SETTINGS,
    ThrowawayServer,
    embedded_bin_dir,
    system_bin_dirs,
)
from pgsage.analyzer.engine.config import Config, validate
from pgsage.analyzer.engine.pipeline import analyze, take_snapshot
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.analyzer.model.host import HostSpec
from pgsage.analyzer.output.report import Report

ARCH_CODES = ("SD", "CF01", "CF02", "MT01", "BK", "SE")
"""The rules of issue 6 (CF001 and MT001 belong to other families)."""


def bin_dirs() -> list[Path]:
    if os.environ.get("PGSAGE_TEST_DSN"):
        return []  # only the given server: these tests need servers of their own
    found = []
    with contextlib.suppress(Exception):
        found.append(embedded_bin_dir())
    found += system_bin_dirs()
    return [d for d in found if (d / "postgres").exists()]


BIN_DIRS = bin_dirs()
needs_binaries = pytest.mark.skipif(not BIN_DIRS, reason="needs PostgreSQL server binaries")


def run(dsn: str, config: Config, host: HostSpec | None = None) -> Report:
    if host is not None:
        config = Config(limits=config.limits, rules=config.rules, host=host, raw=config.raw)
    return analyze(take_snapshot(dsn, config), config)


def rules_config(select: tuple[str, ...] = ARCH_CODES, **options: dict[str, Any]) -> Config:
    return validate({"rules": {"select": list(select), "options": options}})


def by_rule(report: Report, code: str) -> list[Recommendation]:
    return [r for r in report.recommendations if r.rule == code]


def apply(dsn: str, sql: str) -> None:
    """Run an action as a user would paste it: statement by statement, in autocommit."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in pglast.split(sql):
            conn.execute(statement.encode())


def wait_for(check: Any, seconds: float = 10.0) -> None:
    """Cumulative statistics reach shared memory shortly after a backend commits or exits."""
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            raise AssertionError("statistics did not arrive in time")
        time.sleep(0.2)


# --- schema, on the session's servers ------------------------------------------------------------
SCHEMA_SQL = """
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint,
    total double precision NOT NULL,
    created_at timestamp NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    payload jsonb NOT NULL DEFAULT '{}');
CREATE TABLE "Event Log" (user_id bigint, kind text);
INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, total, deleted_at, payload)
     SELECT 1 + g % 2000, g * 1.5, CASE WHEN g % 3 = 0 THEN now() END,
            jsonb_build_object('kind', CASE WHEN g % 10 = 0 THEN 'gift' ELSE 'plain' END)
       FROM generate_series(1, 30000) g;
INSERT INTO "Event Log" SELECT g, 'x' FROM generate_series(1, 20000) g;
CREATE TABLE shipments (id bigint PRIMARY KEY, order_id bigint NOT NULL);
INSERT INTO shipments SELECT g, g FROM generate_series(1, 2000) g;
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey
      FOREIGN KEY (customer_id) REFERENCES customers;
CREATE INDEX ON orders (customer_id);
ANALYZE;
"""


def test_schema_family_on_a_seeded_database(pg: PgDatabase) -> None:
    pg.execute(SCHEMA_SQL)
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for i in range(60):
            conn.execute("SELECT * FROM orders WHERE customer_id = %s AND deleted_at IS NULL",
                         (i,))
            conn.execute("SELECT id FROM orders WHERE payload @> %s::jsonb",
                         (json.dumps({"kind": "gift"}),))
    report = run(pg.dsn, rules_config(("SD", "IX001")))
    assert {f.object.table for f in by_rule(report, "SD001")} == {"Event Log"}
    [money] = by_rule(report, "SD002")
    assert money.object.columns == ("total",)
    [naive] = by_rule(report, "SD003")
    assert naive.object.columns == ("created_at",)
    [nullable] = by_rule(report, "SD009")
    assert nullable.object.columns == ("customer_id",)
    [unlinked] = by_rule(report, "SD008")
    assert unlinked.object.table == "shipments"
    actions = [r.action.sql or "" for r in report.recommendations
               if r.rule in ("SD006", "IX001") and r.action]
    assert any("deleted_at" in a and "IS NULL" in a for a in actions), actions
    actions = [r.action.sql or "" for r in report.recommendations
               if r.rule in ("SD007", "IX001") and r.action]
    assert any("gin" in a.lower() and "payload" in a for a in actions), actions
    for rec in report.recommendations:  # every schema action runs on the database
        if rec.rule.startswith("SD") and rec.action and rec.action.sql:
            apply(pg.dsn, rec.action.sql)


# --- maintenance, on the session's servers -------------------------------------------------------
def test_dead_tuples_stale_statistics_and_bloat(pg: PgDatabase) -> None:
    pg.execute("""
        CREATE TABLE queue (id bigint PRIMARY KEY, body text) WITH (autovacuum_enabled = false);
        INSERT INTO queue SELECT g, repeat('x', 100) FROM generate_series(1, 60000) g;
        ANALYZE queue;
        DELETE FROM queue WHERE id % 4 <> 0;
        CREATE TABLE fresh (id bigint PRIMARY KEY) WITH (autovacuum_enabled = false);
        INSERT INTO fresh SELECT generate_series(1, 5000);
        SELECT count(*) FROM fresh WHERE id > 100;  -- statistics serve the tables read
        CREATE TABLE purged (id bigint PRIMARY KEY, body text)
               WITH (autovacuum_enabled = false);
        INSERT INTO purged SELECT g, repeat('y', 200) FROM generate_series(1, 40000) g;
        DELETE FROM purged WHERE id % 8 <> 0;  -- scattered: vacuum cannot truncate
    """)

    def dead_rows(table: str) -> int:
        found = pg.fetch(f"SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = '{table}'")
        return int(str(found[0][0]))

    # Wait for the DELETE's count, or it would overwrite the one VACUUM reports; and for
    # VACUUM's (PostgreSQL 14's statistics collector delivers it a moment later).
    wait_for(lambda: dead_rows("purged") >= 35000)
    pg.execute("VACUUM ANALYZE purged")
    wait_for(lambda: dead_rows("purged") == 0)
    wait_for(lambda: dead_rows("queue") >= 45000)
    config = rules_config(("MT010", "MT011", "MT014", "MT015"),
                          MT014={"min_bytes": 1024**2}, MT015={"min_bytes": 256 * 1024})
    report = run(pg.dsn, config)
    [dead] = by_rule(report, "MT010")
    assert dead.object.table == "queue" and dead.evidence["n_dead_tup"] == 45000
    assert dead.evidence["autovacuum_disabled"] is True
    stats = {f.object.table: f.severity for f in by_rule(report, "MT011")}
    assert stats == {"fresh": Severity.MEDIUM, "queue": Severity.LOW}  # never / stale
    [table_bloat] = by_rule(report, "MT014")
    assert table_bloat.object.table == "purged" and table_bloat.evidence["bloat_ratio"] > 0.7
    assert "purged_pkey" in {f.object.index for f in by_rule(report, "MT015")}
    for rec in (dead, table_bloat, *by_rule(report, "MT015")):
        assert rec.action and rec.action.sql
        apply(pg.dsn, rec.action.sql)  # VACUUM, ALTER TABLE ... SET/RESET, REINDEX CONCURRENTLY
    wait_for(lambda: dead_rows("queue") == 0)
    after = run(pg.dsn, config)
    assert "purged" not in {f.object.table for f in by_rule(after, "MT014")}
    assert "purged_pkey" not in {f.object.index for f in by_rule(after, "MT015")}
    # VACUUM made queue's dead rows free space, which it keeps: now that is the bloat.
    assert "queue" in {f.object.table for f in by_rule(after, "MT014")}


def test_long_transaction_holding_xmin(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE t (id int)")
    with psycopg.connect(pg.dsn, application_name="stuck-worker") as holder:
        holder.execute("INSERT INTO t VALUES (1)")  # opens the transaction, takes an xid
        pid = holder.info.backend_pid
        time.sleep(1.2)
        report = run(pg.dsn, rules_config(("MT016", "CF021"), MT016={"min_seconds": 1.0},
                                          CF021={"idle_seconds": 1.0}))
        holder.rollback()
    [long] = [f for f in by_rule(report, "MT016") if f.evidence["pid"] == pid]
    assert long.action and long.action.sql == f"SELECT pg_terminate_backend({pid});"
    [timeout] = by_rule(report, "CF021")
    assert pid in timeout.evidence["idle_in_transaction_pids"]
    assert timeout.action and "idle_in_transaction_session_timeout = '5min'" in (
        timeout.action.sql or "")


# --- the password literal never leaves the database ----------------------------------------------
def pgsage(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PGSAGE_"))}
    return subprocess.run([sys.executable, "-m", "pgsage.analyzer", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_password_literal_is_reported_and_never_printed(pg: PgDatabase, tmp_path: Path) -> None:
    role = f"pgsage_pw_{pg.name}"
    secret = "secretliteral-" + pg.name
    pg.execute(f"CREATE ROLE {role} LOGIN")
    try:
        pg.execute(f"ALTER ROLE {role} PASSWORD '{secret}'")
        assert any(secret in str(row[0]) for row in pg.fetch(
            "SELECT query FROM pg_stat_statements WHERE query LIKE '%PASSWORD%'"))
        outputs = []
        for fmt in ("json", "table", "markdown"):
            done = pgsage("analyze", pg.dsn, "--format", fmt, "--select", "SE008")
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout + done.stderr)
        snap = tmp_path / "snap.json"
        done = pgsage("snapshot", pg.dsn, "--output", str(snap))
        assert done.returncode == 0, done.stderr
        outputs.append(snap.read_text() + done.stderr)
        done = pgsage("analyze", "--snapshot", str(snap), "--format", "json")
        outputs.append(done.stdout + done.stderr)
        for out in outputs:
            assert secret not in out
        report = json.loads(outputs[0])
        [rec] = [r for r in report["recommendations"] if r["rule"] == "SE008"]
        queryid = pg.fetch("SELECT queryid FROM pg_stat_statements "
                           f"WHERE query LIKE 'ALTER ROLE {role} PASSWORD%'")[0][0]
        assert str(queryid) in rec["impact"]["queryids"]
        assert rec["evidence"]["cleartext"] >= 1
        apply(pg.dsn, rec["action"]["sql"].split("\n-- and")[0])  # the reset removes the entry
        assert not pg.fetch(f"SELECT 1 FROM pg_stat_statements WHERE queryid = {queryid}")
    finally:
        pg.execute(f"DROP ROLE IF EXISTS {role}")


# --- a badly configured server of our own --------------------------------------------------------
BAD_SETTINGS = {
    **DEFAULT_SETTINGS,  # fsync, full_page_writes and synchronous_commit off
    "pg_stat_statements.max": "100",
    "track_io_timing": "off",
    "max_prepared_transactions": "5",
    "archive_mode": "off",
}


@pytest.fixture(scope="module", params=BIN_DIRS, ids=lambda d: d.parent.name
                if d.parent.name.isdigit() else "embedded")
def bad_server(request: pytest.FixtureRequest) -> Iterator[ThrowawayServer]:
    server = ThrowawayServer(request.param, settings=BAD_SETTINGS).start()
    try:
        server.psql("CREATE DATABASE shop")
        server.psql("CREATE EXTENSION pg_stat_statements", "shop")
        yield server
    finally:
        server.stop()


@needs_binaries
@pytest.mark.pg  # bad_server starts a server of its own
def test_badly_configured_server(bad_server: ThrowawayServer) -> None:
    dsn = bad_server.dsn("shop")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(1, 151):  # more distinct statements than pg_stat_statements keeps
            conn.execute("SELECT " + ", ".join(["1"] * i))  # (aliases would not differ)
    report = run(dsn, rules_config(("CF", "BK")))
    assert by_rule(report, "CF018")[0].evidence["dealloc"] > 0
    assert by_rule(report, "CF018")[0].evidence["restart_required"] is True
    assert by_rule(report, "CF017")[0].evidence["current"] == "off"
    [archiving] = by_rule(report, "BK001")
    assert archiving.severity is Severity.HIGH and "archive_mode is off" in archiving.detail
    durability = {f.evidence["setting"]: f.severity for f in by_rule(report, "BK008")}
    assert durability == {"fsync": Severity.CRITICAL, "full_page_writes": Severity.HIGH,
                          "synchronous_commit": Severity.MEDIUM}
    assert report.questions and report.questions[0].rule == "BK001"
    for rec in (*by_rule(report, "CF017"), *by_rule(report, "BK008")):
        assert rec.action and rec.action.sql
        bad_server.psql(rec.action.sql, "shop")  # ALTER SYSTEM ... and a reload
    fixed = run(dsn, rules_config(("CF017", "BK008")))
    assert fixed.recommendations == []
    bad_server.psql("ALTER SYSTEM RESET ALL; SELECT pg_reload_conf();", "shop")


def test_a_workload_that_ran_as_a_superuser_is_found_after_it_disconnected(
        pg: PgDatabase) -> None:
    """pgbench's way: the application ran every statement as the superuser and is gone;
    pg_stat_statements still says under which role."""
    pg.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int);"
               "INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 1000) g;")
    with psycopg.connect(pg.dsn, application_name="shop-api", autocommit=True) as app:
        for i in range(1200):
            app.execute("SELECT balance FROM accounts WHERE id = %s", (i,)).fetchall()
    [superuser] = by_rule(run(pg.dsn, rules_config(("SE001",))), "SE001")
    assert superuser.evidence["sessions"] == 0
    assert superuser.evidence["statement_calls"] >= 1200
    assert superuser.title.startswith("Application statements ran as superuser")


@needs_binaries
@pytest.mark.pg
def test_superuser_application_prepared_transaction_and_inactive_slot(
        bad_server: ThrowawayServer) -> None:
    dsn = bad_server.dsn("shop")
    bad_server.psql("CREATE ROLE appsu SUPERUSER LOGIN; CREATE TABLE t (id int);", "shop")
    bad_server.psql("SELECT pg_create_physical_replication_slot('pgsage_test_slot', true)")
    params = conninfo_to_dict(dsn)
    app_dsn = make_conninfo(**{**params, "user": "appsu"})
    try:
        with psycopg.connect(app_dsn, application_name="shop-api", autocommit=True) as app:
            app.execute("BEGIN")
            app.execute("INSERT INTO t VALUES (1)")
            app.execute("PREPARE TRANSACTION 'pgsage-left-behind'")
            report = run(dsn, rules_config(("SE001", "MT017", "MT018"),
                                           MT018={"min_seconds": 0.0}))
        [superuser] = by_rule(report, "SE001")
        assert superuser.evidence["role"] == "appsu"
        assert superuser.evidence["applications"] == ["shop-api"]
        assert superuser.action and superuser.action.sql and \
            superuser.action.sql.startswith('ALTER ROLE appsu NOSUPERUSER;')
        [slot] = by_rule(report, "MT017")
        assert slot.evidence["slot_name"] == "pgsage_test_slot"
        assert slot.evidence["retained_bytes"] is not None
        [prepared] = by_rule(report, "MT018")
        assert prepared.evidence["gid"] == "pgsage-left-behind"
        for rec in (slot, prepared):  # the actions resolve what they report
            assert rec.action and rec.action.sql
            bad_server.psql(rec.action.sql, "shop")
        after = run(dsn, rules_config(("MT017", "MT018"), MT018={"min_seconds": 0.0}))
        assert after.recommendations == []
    finally:
        if bad_server.psql("SELECT count(*) FROM pg_prepared_xacts").strip() != "0":
            bad_server.psql("ROLLBACK PREPARED 'pgsage-left-behind'", "shop")
        bad_server.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots")
        bad_server.psql("DROP TABLE IF EXISTS t; DROP ROLE IF EXISTS appsu;", "shop")


def follow(server: ThrowawayServer, sql: str) -> None:
    """Do what an action says: run its SQL, and restart the server when it says so."""
    server.psql(sql, "shop")
    if "restart PostgreSQL" in sql:
        server.restart()


def pending(server: ThrowawayServer, name: str) -> tuple[str, str]:
    value, restart = server.psql("SELECT setting, pending_restart FROM pg_settings "
                                 f"WHERE name = '{name}'").strip().split("|")
    return value, restart


@needs_binaries
@pytest.mark.pg
def test_a_restart_only_change_and_its_undo_take_effect_as_they_say(
        bad_server: ThrowawayServer) -> None:
    """CF018's pg_stat_statements.max is read only at server start: the action and the
    undo each say so, and doing what they say leaves the value changed, nothing pending."""
    dsn = bad_server.dsn("shop")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(1, 151):
            conn.execute("SELECT " + ", ".join(["1"] * i))
    [rec] = by_rule(run(dsn, rules_config(("CF018",))), "CF018")
    assert rec.action and rec.action.sql and rec.action.undo_sql
    try:
        follow(bad_server, rec.action.sql)
        assert pending(bad_server, "pg_stat_statements.max") == (rec.evidence["proposed"], "f")
        follow(bad_server, rec.action.undo_sql)
        assert pending(bad_server, "pg_stat_statements.max") == ("100", "f")
    finally:
        bad_server.psql("ALTER SYSTEM RESET ALL", "shop")
        bad_server.restart()


# --- a well-configured server with a clean schema stays quiet ------------------------------------
GOOD_HOST = HostSpec(memory_bytes=1024**3, cpus=2, storage="ssd")
GOOD_SETTINGS = {
    # What "well configured" means here, for a 1 GB, 2-CPU host with SSD storage:
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "top",
    "listen_addresses": "127.0.0.1",  # loopback only: clients on the host, so no TLS needed
    "unix_socket_directories": "''",
    "max_connections": "50",
    "shared_buffers": "256MB",  # a quarter of RAM
    "effective_cache_size": "768MB",  # three quarters
    "maintenance_work_mem": "64MB",  # RAM / 16
    "work_mem": "8MB",
    "random_page_cost": "1.1",  # SSD
    "effective_io_concurrency": "200",
    "track_io_timing": "on",
    "log_min_duration_statement": "1s",
    "fsync": "on",  # durability as shipped
    "full_page_writes": "on",
    "synchronous_commit": "on",
    "wal_level": "replica",
    "archive_mode": "on",  # WAL archived by a real command (a local directory stands in for
    "archive_command": "mkdir -p ../archive && test ! -f ../archive/%f && cp %p ../archive/%f",
    "archive_timeout": "5min",  # remote storage), at least every 5 minutes: RPO well under 1 h
    "password_encryption": "scram-sha-256",
    "log_min_messages": "warning",
}
GOOD_HBA = """\
local all all peer
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
"""
CLEAN_SCHEMA = """
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        email text NOT NULL UNIQUE,
                        created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     customer_id bigint NOT NULL REFERENCES customers,
                     total numeric(12,2) NOT NULL,
                     created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 5000) g;
INSERT INTO orders (customer_id, total) SELECT 1 + g % 5000, g % 100
  FROM generate_series(1, 50000) g;
VACUUM ANALYZE;
"""


@needs_binaries
@pytest.mark.pg
@pytest.mark.parametrize("bin_dir", BIN_DIRS, ids=lambda d: d.parent.name
                         if d.parent.name.isdigit() else "embedded")
def test_well_configured_server_stays_quiet(bin_dir: Path) -> None:
    """Production-like settings, a clean schema, no standby: nothing above low.

    The standby is the one thing left out (BK004 is low by design: a single server with
    archived WAL can be a deliberate choice); TLS is unnecessary as the server listens on
    the loopback interface only.
    """
    server = ThrowawayServer(bin_dir, settings=GOOD_SETTINGS,
                             initdb_args=("--data-checksums",)).start()
    try:
        password = "quiet-" + os.urandom(6).hex()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("SET pg_stat_statements.track_utility = off")  # keep it unrecorded
            conn.execute(f"ALTER ROLE postgres PASSWORD '{password}'".encode())
            conn.execute(f"CREATE ROLE shop_app LOGIN PASSWORD '{password}'".encode())
            conn.execute("CREATE DATABASE shop")
        (server.data_dir / "pg_hba.conf").write_text(GOOD_HBA)
        server.restart()
        dsn = make_conninfo(server.dsn("shop"), password=password)
        apply(dsn, "CREATE EXTENSION pg_stat_statements;" + CLEAN_SCHEMA)
        # The loading session's insert counts can reach shared statistics after its ANALYZE
        # did (backends flush them at most once a second): analyze once more after that.
        time.sleep(1.5)
        apply(dsn, "ANALYZE; GRANT SELECT ON ALL TABLES IN SCHEMA public TO shop_app;")
        app_dsn = make_conninfo(dsn, user="shop_app")  # the application's own role
        with psycopg.connect(app_dsn, autocommit=True) as conn:
            for i in range(50):
                conn.execute("SELECT * FROM orders WHERE customer_id = %s", (i,))
                conn.execute("SELECT o.total FROM orders o JOIN customers c ON "
                             "c.id = o.customer_id WHERE c.email = %s", (f"c{i}@example.com",))
        report = run(dsn, rules_config(), host=GOOD_HOST)
        loud = [f"{r.rule} {r.severity.value}: {r.title}" for r in report.recommendations
                if r.severity.rank > Severity.LOW.rank]
        assert loud == []
        assert {r.rule for r in report.recommendations} <= {"BK004"}
        assert all(status.ok for name, status in report.collectors.items()
                   if name in ("hba", "roles", "archiver", "replication"))
    finally:
        server.stop()
