"""The sidecar against real servers: it collects, serves, survives faults and recovers.

One in-process sidecar per server, with 1-second intervals, goes through the faults of
issue 4 in turn: a terminated backend, pg_stat_statements_reset(), pg_stat_reset(), the
extension dropped, an ACCESS EXCLUSIVE lock held during a cycle, pg_monitor revoked. After
each: the sidecar still answers, the metrics say what happened, it recovers, and it never
holds more than one connection.
"""

from __future__ import annotations

import json
import threading

import psycopg
from conftest import PgDatabase
from sidecar_support import (
    Samples,
    SidecarThread,
    fetch,
    scrape,
    sidecar_config,
    value,
    wait_for,
)

from pgsage.analyzer.model.core import Model

STATEMENT_COUNTERS = ["calls", "total_exec_time", "rows", "shared_blks_hit", "shared_blks_read"]


def _backends(pg: PgDatabase, role: str) -> int:
    with psycopg.connect(pg.server.admin_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                           (role,)).fetchone()
    assert row is not None
    return int(row[0])


def _workload(pg: PgDatabase, rounds: int = 20) -> None:
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for i in range(rounds):
            conn.execute("SELECT count(*) FROM orders WHERE user_id = %s", (i,))
            conn.execute("SELECT sum(total) FROM orders WHERE id < %s", (i * 10,))


def test_sidecar_survives_faults_and_recovers(pg: PgDatabase) -> None:
    role = f"mon_{pg.name}"
    pg.server.execute(f'CREATE ROLE "{role}" LOGIN')
    pg.server.execute(f'GRANT pg_monitor TO "{role}"')
    pg.execute("CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric);"
               "INSERT INTO orders SELECT g, g % 100, g FROM generate_series(1, 5000) g;"
               "ANALYZE orders")
    _workload(pg)
    config = sidecar_config([{"name": "live", "dsn": pg.server.dsn(pg.name, user=role)}])
    try:
        with SidecarThread(config) as sc:
            _exercise(sc, pg, role)
        assert wait_for(lambda: _backends(pg, role) == 0, 10, "pgsage's connection closed")
    finally:
        pg.server.execute(f'DROP ROLE IF EXISTS "{role}"')


def _at_most_one_connection(pg: PgDatabase, role: str) -> None:
    count = _backends(pg, role)
    assert count <= 1, f"pgsage holds {count} connections"


def _collector(sc: SidecarThread, name: str) -> tuple[float | None, str | None]:
    samples = scrape(sc.url)
    success = value(samples, "pgsage_collector_success", collector=name)
    reasons = [dict(ls)["reason"] for (n, ls), v in samples.items()
               if n == "pgsage_collector_error_info" and dict(ls)["collector"] == name]
    return success, reasons[0] if reasons else None


def _locked_rows(sc: SidecarThread) -> int:
    """Rows of the tables collector's latest run that a lock kept from being read whole."""
    def count() -> int:
        result = sc.sidecar.targets["live"].collectors.get("tables")
        return sum(1 for t in (result.records or []) if t.locked_by is not None) \
            if result is not None else 0
    return int(sc.call(count))


def _exercise(sc: SidecarThread, pg: PgDatabase, role: str) -> None:
    # --- it collects, serves and becomes ready ---------------------------------------------
    wait_for(lambda: fetch(f"{sc.url}/readyz")[0] == 200, 20, "/readyz 200")
    def statement_metrics() -> Samples | None:
        s = scrape(sc.url)
        ok = value(s, "pgsage_collector_success", collector="statements") == 1
        return s if ok and any(n == "pgsage_statement_calls_total" for n, _ in s) else None

    samples = wait_for(statement_metrics, 20, "statement metrics")
    assert value(samples, "pgsage_up", target="live") == 1
    assert value(samples, "pgsage_parse_failures_total", target="live") is not None
    assert fetch(f"{sc.url}/healthz")[0] == 200
    def a_report() -> tuple[int, dict[str, str], bytes] | None:
        r = fetch(f"{sc.url}/recommendations?target=live")
        return r if r[0] == 200 else None

    _, headers, body = wait_for(a_report, 20, "a report")
    report = json.loads(body)
    assert headers["Content-Type"] == "application/json"
    assert report["schema_version"] == 1 and report["target"]["name"] == "live"
    assert report["target"]["database"] == pg.name
    assert isinstance(report["recommendations"], list)
    assert set(json.loads(fetch(f"{sc.url}/recommendations")[2])["targets"]) == {"live"}
    assert fetch(f"{sc.url}/recommendations?target=nope")[0] == 404
    _at_most_one_connection(pg, role)

    # --- a terminated backend: reconnects, counts the loss ---------------------------------
    with psycopg.connect(pg.server.admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE usename = %s", (role,))
    def lost_then_up() -> bool:
        s = scrape(sc.url)
        lost = value(s, "pgsage_connections_lost_total") or 0
        return lost >= 1 and value(s, "pgsage_up") == 1

    wait_for(lost_then_up, 20, "a lost connection, then up again")
    _at_most_one_connection(pg, role)

    # --- pg_stat_statements_reset(): detected, never negative -----------------------------
    _workload(pg)
    pg.execute("SELECT pg_stat_statements_reset()")
    wait_for(lambda: (value(scrape(sc.url), "pgsage_stats_resets_total", kind="statements")
                      or 0) >= 1, 20, "the statements reset detected")
    _workload(pg, 5)

    def deltas_not_negative() -> bool:
        state = sc.sidecar.targets["live"]
        current = state.window.current()
        assert current is not None
        frame = Model(current, state.window.baseline()).statements
        return bool(frame.empty or (frame[STATEMENT_COUNTERS] >= 0).all().all())

    assert sc.call(deltas_not_negative)

    # --- pg_stat_reset(): detected, the cache hit ratio stays a ratio ---------------------
    pg.execute("SELECT pg_stat_reset()")
    def database_reset() -> Samples | None:
        s = scrape(sc.url)
        return s if (value(s, "pgsage_stats_resets_total", kind="database") or 0) >= 1 else None

    samples = wait_for(database_reset, 20, "the database reset detected")
    ratio = value(samples, "pgsage_database_cache_hit_ratio")
    assert ratio is None or 0 <= ratio <= 1

    # --- the extension dropped, then created again ----------------------------------------
    pg.execute("DROP EXTENSION pg_stat_statements")
    assert wait_for(lambda: _collector(sc, "statements") == (0, "skipped"), 20,
                    "statements skipped")
    assert value(scrape(sc.url), "pgsage_up") == 1
    pg.execute("CREATE EXTENSION pg_stat_statements")
    wait_for(lambda: _collector(sc, "statements") == (1, None), 20, "statements back")

    # --- an ACCESS EXCLUSIVE lock held during a cycle --------------------------------------
    locked = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with psycopg.connect(pg.dsn) as conn:
            conn.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)
            conn.rollback()

    holder = threading.Thread(target=hold_lock, daemon=True)
    holder.start()
    try:
        assert locked.wait(10)
        wait_for(lambda: _locked_rows(sc) > 0, 20, "the locked table read, its sizes left out")
        assert _collector(sc, "tables") == (1, None) and _collector(sc, "indexes") == (1, None)
        assert value(scrape(sc.url), "pgsage_up") == 1
        _at_most_one_connection(pg, role)
    finally:
        release.set()
        holder.join(10)
    wait_for(lambda: _collector(sc, "tables") == (1, None), 20, "tables back")

    # --- privileges revoked, then granted again ------------------------------------------
    # Without pg_monitor the views hide other roles' rows (no error): the metric says so.
    pg.server.execute(f'REVOKE pg_monitor FROM "{role}"')
    try:
        wait_for(lambda: value(scrape(sc.url), "pgsage_role_has_pg_monitor") == 0, 20,
                 "pg_monitor reported missing")
    finally:
        pg.server.execute(f'GRANT pg_monitor TO "{role}"')
    wait_for(lambda: value(scrape(sc.url), "pgsage_role_has_pg_monitor") == 1, 20,
             "pg_monitor back")
    function = "pg_stat_statements(boolean)"
    pg.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
    try:
        wait_for(lambda: _collector(sc, "statements") == (0, "insufficient_privilege"), 20,
                 "a privilege error")
        samples = scrape(sc.url)
        assert value(samples, "pgsage_up") == 1
        assert (value(samples, "pgsage_cycle_failures_total", group="statements") or 0) >= 1
    finally:
        pg.execute(f"GRANT EXECUTE ON FUNCTION {function} TO PUBLIC")
    wait_for(lambda: _collector(sc, "statements") == (1, None), 20, "statements back")
    assert fetch(f"{sc.url}/readyz")[0] == 200
    _at_most_one_connection(pg, role)
