"""The `extensions` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import by, snapshot

from pgsage.collectors.extensions import Extension

if TYPE_CHECKING:
    from conftest import PgDatabase


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
