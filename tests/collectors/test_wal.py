"""The `wal` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import SHOP, seed, snapshot

from pgsage.collectors.wal import WalStats

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_wal_position_advances_with_writes(pg: PgDatabase) -> None:
    before = snapshot(pg.dsn).one("wal", WalStats)
    seed(pg, SHOP)
    after = snapshot(pg.dsn).one("wal", WalStats)
    assert before is not None and after is not None
    assert not after.in_recovery and after.replay_lsn_bytes is None
    assert before.current_lsn_bytes is not None and after.current_lsn_bytes is not None
    assert after.current_lsn_bytes > before.current_lsn_bytes
    assert after.wal_records > before.wal_records and after.wal_bytes > before.wal_bytes
