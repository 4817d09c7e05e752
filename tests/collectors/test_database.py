"""The `database` and `databases` collectors on a real server, on every version the suite has."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from collector_support import SHOP, by, database_oid, run_as, seed, snapshot

from pgsage.analyzer.live.collect import server_context
from pgsage.analyzer.live.connection import Session
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.databases import Database

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_database_counts_this_database_transactions_and_tuples(pg: PgDatabase) -> None:
    seed(pg, SHOP)
    stats = snapshot(pg.dsn).rows("database", DatabaseStats)
    assert len(stats) == 1
    db = stats[0]
    assert (db.datname, db.datid) == (pg.name, database_oid(pg))
    assert db.xact_commit > 0 and db.tup_inserted >= 1050
    assert db.sessions >= 1 and db.numbackends >= 1
    assert db.deadlocks == 0 and db.temp_files == 0


@pytest.mark.pg(">= 18")
def test_database_counts_parallel_workers_from_18(pg: PgDatabase) -> None:
    db = snapshot(pg.dsn).one("database", DatabaseStats)
    assert db is not None and db.parallel_workers_launched is not None


@pytest.mark.pg("< 18")
def test_database_has_no_parallel_worker_counts_before_18(pg: PgDatabase) -> None:
    db = snapshot(pg.dsn).one("database", DatabaseStats)
    assert db is not None and db.parallel_workers_launched is None


def test_databases_give_wraparound_ages_of_every_database(pg: PgDatabase) -> None:
    ages = snapshot(pg.dsn).rows("databases", Database)
    mine = by(ages, datname=pg.name)
    assert mine.frozenxid_age >= 0 and mine.minmxid_age >= 0
    assert mine.bytes is not None and mine.bytes > 0
    template0 = by(ages, datname="template0")
    assert (template0.allow_connections, template0.is_template) == (False, True)


def test_databases_hide_sizes_the_role_may_not_measure(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    role = make_role()
    pg.execute(f'REVOKE CONNECT ON DATABASE "{pg.name}" FROM PUBLIC')
    with Session.open(pg.dsn) as admin:
        ctx, _ = server_context(admin)
    ages = run_as(pg.server.dsn("postgres", user=role), ctx)["databases"]
    assert isinstance(ages, list)
    mine = by(ages, datname=pg.name)
    assert mine.bytes is None and mine.frozenxid_age >= 0
    assert by(ages, datname="postgres").bytes is not None
