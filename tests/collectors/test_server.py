"""The `server` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import snapshot

from pgsage.collectors.server import Server

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_server_identifies_version_database_and_role(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    info = snap.one("server", Server)
    assert info is not None
    assert info.server_version_num == pg.version_num
    assert info.database == pg.name
    assert (info.current_user, info.is_superuser, info.in_recovery) == ("postgres", True, False)
    assert info.started_at <= info.collected_at
    assert info.database_bytes is not None and info.database_bytes > 0
