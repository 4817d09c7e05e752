"""The `bgwriter` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from collector_support import eventually, snapshot

from pgsage.collectors.bgwriter import BgwriterStats

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_bgwriter_counts_a_requested_checkpoint(pg: PgDatabase) -> None:
    def requested() -> int:
        stats = snapshot(pg.dsn, only={"bgwriter"}).one("bgwriter", BgwriterStats)
        assert stats is not None
        return stats.checkpoints_req

    before = requested()
    pg.execute("CHECKPOINT")
    eventually(lambda: requested() > before)


@pytest.mark.pg(">= 17")
def test_bgwriter_reads_the_checkpointer_view_from_17(pg: PgDatabase) -> None:
    stats = snapshot(pg.dsn).one("bgwriter", BgwriterStats)
    assert stats is not None
    assert stats.buffers_backend is None and stats.buffers_backend_fsync is None
    assert stats.restartpoints_done is not None
    assert stats.checkpointer_stats_reset is not None


@pytest.mark.pg(">= 18")
def test_bgwriter_counts_checkpoints_done_from_18(pg: PgDatabase) -> None:
    pg.execute("CHECKPOINT")

    def done() -> bool:
        stats = snapshot(pg.dsn, only={"bgwriter"}).one("bgwriter", BgwriterStats)
        return stats is not None and (stats.checkpoints_done or 0) >= 1

    eventually(done)


@pytest.mark.pg("< 17")
def test_bgwriter_counts_backend_writes_before_17(pg: PgDatabase) -> None:
    stats = snapshot(pg.dsn).one("bgwriter", BgwriterStats)
    assert stats is not None
    assert stats.buffers_backend is not None and stats.buffers_backend_fsync is not None
    assert stats.checkpoints_done is None and stats.restartpoints_done is None
