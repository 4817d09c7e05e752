"""The `replication`, `replication_slots` and `prepared_xacts` collectors on a real server.

On every server version the suite has; a standby and a two-phase server are started here.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

import psycopg
import pytest
from collector_support import SHOP, by, eventually, seed, snapshot, throwaway, unique_ids
from psycopg import errors as pg_errors

from pgsage.analyzer.app.throwaway import DEFAULT_SETTINGS, ThrowawayServer
from pgsage.collectors.prepared_xacts import PreparedXact
from pgsage.collectors.replication import Replica
from pgsage.collectors.replication_slots import ReplicationSlot

if TYPE_CHECKING:
    from conftest import PgDatabase, PgServer


@pytest.fixture
def physical_slot(pg: PgDatabase) -> Iterator[str]:
    name = f"pgsage_slot_{os.getpid()}_{next(unique_ids)}"
    pg.execute(f"SELECT pg_create_physical_replication_slot('{name}', true)")
    yield name

    def dropped() -> bool:
        try:
            pg.fetch(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     f"WHERE slot_name = '{name}' AND NOT active")
        except pg_errors.ObjectInUse:  # the walsender has not released it yet
            return False
        return pg.fetch(f"SELECT count(*) FROM pg_replication_slots "
                        f"WHERE slot_name = '{name}'")[0][0] == 0

    eventually(dropped)


def test_replication_is_empty_without_standbys(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    assert snap.status["replication"].ok and snap.rows("replication", Replica) == []


def test_replication_slots_show_wal_retained_by_an_inactive_slot(
        pg: PgDatabase, physical_slot: str) -> None:
    seed(pg, SHOP)
    slot = by(snapshot(pg.dsn).rows("replication_slots", ReplicationSlot),
              slot_name=physical_slot)
    assert (slot.slot_type, slot.active, slot.wal_status) == ("physical", False, "reserved")
    assert slot.retained_bytes is not None and slot.retained_bytes > 0
    assert slot.xmin_age is None and slot.catalog_xmin_age is None


@pytest.mark.pg(">= 17")
def test_replication_slots_tell_since_when_a_slot_is_inactive_from_17(
        pg: PgDatabase, physical_slot: str) -> None:
    slot = by(snapshot(pg.dsn).rows("replication_slots", ReplicationSlot),
              slot_name=physical_slot)
    assert slot.inactive_since is not None and slot.failover is False


def test_replication_shows_a_streaming_wal_receiver_and_its_slot(
        pg: PgDatabase, physical_slot: str) -> None:
    server = throwaway(pg)
    with tempfile.TemporaryDirectory() as target:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        receiver = subprocess.Popen(
            [str(server.tool("pg_receivewal")), "-d", server.dsn(), "-D", target,
             "-S", physical_slot, "--no-loop", "--no-password"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            eventually(lambda: pg.fetch(
                "SELECT count(*) FROM pg_stat_replication "
                "WHERE application_name = 'pg_receivewal' AND state = 'streaming'")[0][0] == 1)
            snap = snapshot(pg.dsn)
        finally:
            receiver.terminate()
            receiver.wait(10)
    replica = by(snap.rows("replication", Replica), application_name="pg_receivewal")
    assert (replica.state, replica.sync_state, replica.client_addr) == (
        "streaming", "async", "127.0.0.1")
    assert replica.sent_lag_bytes is not None and replica.sent_lag_bytes >= 0
    slot = by(snap.rows("replication_slots", ReplicationSlot), slot_name=physical_slot)
    assert slot.active and slot.active_pid == replica.pid


@pytest.fixture(scope="module")
def twophase_server(pg_server: PgServer) -> Iterator[ThrowawayServer]:
    """A server of the same version with prepared transactions and logical decoding on."""
    if pg_server.throwaway is None:
        pytest.skip("needs throwaway servers")
    settings = {**DEFAULT_SETTINGS, "max_prepared_transactions": "2", "wal_level": "logical",
                "shared_buffers": "16MB"}
    with ThrowawayServer(pg_server.throwaway.bin_dir, settings=settings) as server:
        yield server


def test_prepared_xacts_is_empty_without_prepared_transactions(pg: PgDatabase) -> None:
    snap = snapshot(pg.dsn)
    assert snap.status["prepared_xacts"].ok and snap.rows("prepared_xacts", PreparedXact) == []


def test_prepared_xacts_show_a_forgotten_prepared_transaction(
        twophase_server: ThrowawayServer) -> None:
    with psycopg.connect(twophase_server.dsn()) as conn:
        conn.tpc_begin("pgsage-forgotten")
        conn.execute("CREATE TABLE twophase (id int)")
        conn.tpc_prepare()
        try:
            snap = snapshot(twophase_server.dsn())
        finally:
            conn.tpc_rollback()
    xact = by(snap.rows("prepared_xacts", PreparedXact), gid="pgsage-forgotten")
    assert (xact.owner, xact.database) == ("postgres", "postgres")
    assert xact.prepared_age >= 0 and xact.xid_age >= 0


def test_replication_slots_show_a_logical_slot_holding_catalog_xmin(
        twophase_server: ThrowawayServer) -> None:
    with psycopg.connect(twophase_server.dsn(), autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot('pgsage_logical', "
                     "'test_decoding')")
        try:
            conn.execute("SET synchronous_commit = on")
            conn.execute("CREATE TABLE decoded (id int); INSERT INTO decoded VALUES (1)")
            snap = snapshot(twophase_server.dsn())
        finally:
            conn.execute("SELECT pg_drop_replication_slot('pgsage_logical')")
    slot = by(snap.rows("replication_slots", ReplicationSlot), slot_name="pgsage_logical")
    assert (slot.slot_type, slot.plugin, slot.database) == ("logical", "test_decoding",
                                                            "postgres")
    assert slot.catalog_xmin_age is not None and slot.catalog_xmin_age >= 1
    assert slot.confirmed_flush_lag_bytes is not None and slot.confirmed_flush_lag_bytes > 0
    assert slot.two_phase is False
