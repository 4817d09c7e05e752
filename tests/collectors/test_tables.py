"""The `tables` collector on a real server, on every server version the suite has."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from collector_support import EVENTS, SHOP, by, seed, snapshot

from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_tables_count_live_rows_and_scans(pg: PgDatabase) -> None:
    seed(pg, SHOP + "SELECT count(*) FROM orders;")
    orders = by(snapshot(pg.dsn).rows("tables", TableStats), name="orders")
    assert (orders.schema, orders.relkind, orders.persistence) == ("public", "r", "p")
    assert orders.n_live_tup == 1000 and orders.n_tup_ins == 1000
    assert orders.seq_scan is not None and orders.seq_scan >= 1
    assert orders.table_bytes is not None and orders.table_bytes > 0
    assert orders.frozenxid_age is not None and orders.frozenxid_age >= 0


def test_tables_describe_a_partitioned_table_and_its_partitions(pg: PgDatabase) -> None:
    seed(pg, EVENTS)
    tables = snapshot(pg.dsn).rows("tables", TableStats)
    parent = by(tables, name="events")
    assert (parent.relkind, parent.partition_strategy) == ("p", "r")
    assert parent.partition_key == "RANGE (created)"
    assert parent.table_bytes is None and parent.frozenxid_age is None
    part = by(tables, name="events_2026_01")
    assert part.is_partition and part.parent_relid == parent.relid


def index_scan_orders(pg: PgDatabase) -> None:
    seed(pg, "SET enable_seqscan = off; SET enable_bitmapscan = off;"
             "SELECT * FROM orders WHERE id = 7;")


@pytest.mark.pg(">= 16")
def test_tables_and_indexes_have_last_scan_times_from_16(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    index_scan_orders(pg)
    snap = snapshot(pg.dsn)
    orders = by(snap.rows("tables", TableStats), name="orders")
    assert orders.last_idx_scan is not None and orders.last_idx_scan <= time.time() + 1
    assert orders.n_tup_newpage_upd == 0
    pkey = by(snap.rows("indexes", IndexStats), name="orders_pkey")
    assert pkey.last_idx_scan is not None and pkey.idx_scan == 1


@pytest.mark.pg("< 16")
def test_tables_and_indexes_have_no_last_scan_times_before_16(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    index_scan_orders(pg)
    snap = snapshot(pg.dsn)
    orders = by(snap.rows("tables", TableStats), name="orders")
    assert (orders.last_idx_scan, orders.last_seq_scan, orders.n_tup_newpage_upd) == (
        None, None, None)
    pkey = by(snap.rows("indexes", IndexStats), name="orders_pkey")
    assert pkey.last_idx_scan is None and pkey.idx_scan == 1
