"""`migration check` with a DSN: the catalog, the traffic, the lock queue and the timeouts
of a real server change the verdicts."""

from __future__ import annotations

import threading
import time

import psycopg

from pgsage.analyzer.app.migration import check_report


def _report(pg, sql: str, sample_s: float = 0.0):
    return check_report([("m.sql", sql)], pg.dsn, None, False, sample_s, 200 * 1024 * 1024)


def _codes(report) -> list[str]:
    return [r.rule for r in report.recommendations]


def test_known_old_type_decides_the_rewrite(pg) -> None:
    pg.execute("CREATE TABLE users (id int PRIMARY KEY, email varchar(100))")
    assert "MG006" not in _codes(_report(pg, "ALTER TABLE users ALTER COLUMN email "
                                             "TYPE varchar(200)"))
    assert "MG006" in _codes(_report(pg, "ALTER TABLE users ALTER COLUMN email "
                                         "TYPE varchar(50)"))


def test_a_valid_not_null_check_in_the_catalog_spares_the_scan(pg) -> None:
    pg.execute("CREATE TABLE users (id int, name text);"
               "ALTER TABLE users ADD CONSTRAINT name_nn CHECK (name IS NOT NULL)")
    codes = _codes(_report(pg, "ALTER TABLE users ALTER COLUMN name SET NOT NULL"))
    assert "MG007" not in codes


def test_a_held_lock_and_a_queued_alter_are_named(pg) -> None:
    pg.execute("CREATE TABLE users (id int, name text)")
    with psycopg.connect(pg.dsn, autocommit=True) as holder, \
            psycopg.connect(pg.dsn, autocommit=True) as queued:
        holder.execute("BEGIN")
        holder.execute("SELECT * FROM users")
        waiting = threading.Thread(
            target=lambda: queued.execute("ALTER TABLE users ADD COLUMN x int"))
        waiting.start()
        time.sleep(0.5)
        try:
            report = _report(pg, "SET lock_timeout = '2s';\n"
                                 "ALTER TABLE users DROP COLUMN name;")
        finally:
            holder.execute("ROLLBACK")
            waiting.join()
    queue = [r for r in report.recommendations if r.rule == "MG023"]
    assert queue and queue[0].severity.value == "high"
    sessions = queue[0].evidence["sessions"]
    assert {(s["mode"], s["granted"]) for s in sessions} >= {
        ("ACCESS SHARE", True), ("ACCESS EXCLUSIVE", False)}


def test_a_busy_table_reports_the_writes_it_would_block(pg) -> None:
    pg.execute("CREATE TABLE events (id bigserial PRIMARY KEY, v int)")
    stop = threading.Event()

    def write() -> None:
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO events (v) VALUES (1)")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        report = _report(pg, "CREATE INDEX events_v_idx ON events (v);", sample_s=2.0)
    finally:
        stop.set()
        writer.join()
    mg001 = next(r for r in report.recommendations if r.rule == "MG001")
    assert mg001.impact["writes_per_s"] > 10
    assert mg001.impact["sample_seconds"] >= 2.0
    assert "writes/s" in mg001.detail and "measured over 2 s" in mg001.detail


def test_a_big_table_gets_a_hold_time_with_its_method(pg) -> None:
    pg.execute("CREATE TABLE big (id bigint, pad text);"
               "INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;"
               "ANALYZE big")
    report = _report(pg, "ALTER TABLE big ALTER COLUMN id TYPE numeric;")
    mg006 = next(r for r in report.recommendations if r.rule == "MG006")
    assert mg006.impact["relation_bytes"] > 20_000_000
    assert mg006.impact["estimated_hold_seconds"] > 0
    assert "rewrite: read + write" in mg006.impact["hold_estimate_method"]
    assert "at 200.0 MB/s, an assumed sequential rate" in mg006.impact["hold_estimate_method"]


def test_the_roles_lock_timeout_is_reported(pg) -> None:
    pg.execute(f'ALTER ROLE CURRENT_USER IN DATABASE "{pg.name}" SET lock_timeout = \'3s\'')
    try:
        report = _report(pg, "SELECT 1;")
    finally:
        pg.execute(f'ALTER ROLE CURRENT_USER IN DATABASE "{pg.name}" RESET lock_timeout')
    assert any("lock_timeout = 3s" in n for n in report.notes)
