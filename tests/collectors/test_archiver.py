"""The `archiver` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import by, snapshot

from pgsage.collectors.archiver import ArchiverStats
from pgsage.collectors.settings import Setting

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_archiver_reports_nothing_archived_when_archiving_is_off(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    archiver = snap.one("archiver", ArchiverStats)
    assert by(snap.rows("settings", Setting), name="archive_mode").setting == "off"
    assert archiver is not None
    assert (archiver.archived_count, archiver.failed_count) == (0, 0)
    assert archiver.last_archived_wal is None and archiver.last_failed_time is None
