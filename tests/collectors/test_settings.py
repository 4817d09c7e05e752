"""The `settings` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import by, snapshot

from pgsage.collectors.settings import Setting

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_settings_carry_value_unit_and_restart_context(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    settings = snap.rows("settings", Setting)
    conns = by(settings, name="max_connections")
    assert (conns.setting, conns.vartype, conns.context) == ("50", "integer", "postmaster")
    assert by(settings, name="shared_buffers").unit == "8kB"
    preload = by(settings, name="shared_preload_libraries")
    assert preload.setting is not None and "pg_stat_statements" in preload.setting
