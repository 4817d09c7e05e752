"""The planning path sends nothing the server refuses: no ERROR of pgsage's in the log.

Privileges are checked when EXPLAIN starts, not at PREPARE, and `SET
pg_stat_statements.track` needs a superuser (or a grant): pgsage asks first, so a
monitoring role's run leaves the server's log as clean as it found it.
"""

from __future__ import annotations

import itertools
import os

import psycopg
import pytest
from conftest import PgDatabase

from pgsage.analyzer.engine import config
from pgsage.analyzer.engine.pipeline import analyze_live

_unique = itertools.count()


def test_analyze_as_a_monitoring_role_logs_no_error(pg: PgDatabase) -> None:
    server = pg.server.throwaway
    if server is None:
        pytest.skip("needs a throwaway server, whose log the test reads")
    mon = f"mon_{os.getpid()}_{next(_unique)}"
    pg.server.execute(f"CREATE ROLE {mon} LOGIN; GRANT pg_monitor TO {mon}")
    try:
        pg.execute("CREATE TABLE secret (id int PRIMARY KEY, pin text);"
                   "INSERT INTO secret SELECT i, i::text FROM generate_series(1, 100) i;"
                   "CREATE TABLE open (id int PRIMARY KEY); ANALYZE;"
                   f"GRANT SELECT ON open TO {mon}; SELECT pg_stat_statements_reset()")
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            for i in range(5):
                conn.execute("SELECT pin FROM secret WHERE id = %s", (i,))
                conn.execute("SELECT id FROM open WHERE id = %s", (i,))
        start = server.log_file.stat().st_size
        report = analyze_live(pg.server.dsn(pg.name, user=mon), config.load(env={}))
        with server.log_file.open("rb") as f:
            f.seek(start)
            log = f.read().decode(errors="replace")
    finally:
        pg.execute(f"DROP OWNED BY {mon}")
        pg.server.execute(f"DROP ROLE {mon}")
    assert [line for line in log.splitlines() if "ERROR:" in line] == []
    notes = " ".join(report.notes)
    assert "lacks privilege" in notes and "secret" in notes
    assert (report.collectors["plans"].rows or 0) >= 1
