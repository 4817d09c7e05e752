"""The `statements` and `statements_info` collectors on a real server (every version we have)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
from collector_support import SHOP, assert_all_ok, by, database_oid, seed, snapshot

from pgsage.collectors.statements import StatementStats
from pgsage.collectors.statements_info import StatementsInfoStats

if TYPE_CHECKING:
    from conftest import PgDatabase


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
    info = snapshot(pg.dsn).one("statements_info", StatementsInfoStats)
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
