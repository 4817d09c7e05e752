"""Every rate over a window that is really known: restarts, crashes, resets, bulk loads.

Each test has a throwaway server of its own (of each version the suite runs), because it
restarts, crashes or resets it. What is asserted is the window the model gives each family
of counters, and that nothing is weighed against counters of another window.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PgDatabase, PgServer, version_matches
from factories import NOW, make_snapshot, make_table

from pgsage.analyzer.advisor.inputs import rows_written
from pgsage.analyzer.app.throwaway import ThrowawayServer
from pgsage.analyzer.engine.advise import advise
from pgsage.analyzer.engine.config import Config, RulesConfig
from pgsage.analyzer.engine.pipeline import estimate_indexes, take_snapshot
from pgsage.analyzer.model.core import Model
from pgsage.collectors.server import Server
from pgsage.collectors.statements_info import StatementsInfoStats


@pytest.fixture
def server(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[ThrowawayServer]:
    for marker in request.node.iter_markers("pg"):
        if marker.args and not version_matches(marker.args[0], pg_server.version_num):
            pytest.skip(f"needs PostgreSQL {marker.args[0]}")
    if pg_server.throwaway is None:
        pytest.skip("restarts its server: needs throwaway servers")
    with ThrowawayServer(pg_server.throwaway.bin_dir) as own:
        own.psql("CREATE EXTENSION pg_stat_statements;")
        yield own


def load(server: ThrowawayServer, rows: int = 20_000) -> None:
    server.psql(f"CREATE TABLE IF NOT EXISTS t (id int);"
                f"INSERT INTO t SELECT generate_series(1, {rows});"
                "SELECT count(*) FROM t; SELECT count(*) FROM t WHERE id = 7;")


def model_of(server: ThrowawayServer) -> Model:
    return Model(take_snapshot(server.dsn(), Config()))


def test_statement_window_after_a_clean_restart_runs_from_the_last_reset(
        server: ThrowawayServer) -> None:
    load(server)
    before = model_of(server)
    server.restart()
    model = model_of(server)
    info = model.snapshot.one("statements_info", StatementsInfoStats)
    started = model.snapshot.one("server", Server)
    assert info is not None and started is not None and info.stats_reset is not None
    assert model.window.start == info.stats_reset == before.window.start
    assert model.window.start < started.started_at  # not the postmaster's start
    assert model.window.kind == "since-reset" and "pg_stat_statements" in model.window.since


@pytest.mark.pg(">= 15")
def test_a_clean_restart_leaves_never_reset_table_counters_without_a_start(
        server: ThrowawayServer) -> None:
    load(server)
    server.restart()
    window = model_of(server).counter_window
    assert not window.known and window.seconds == 0.0 and window.per_second(100) is None
    assert "start unknown" in window.describe()


@pytest.mark.pg(">= 15")
def test_a_crash_restart_dates_the_table_counters_from_that_start(
        server: ThrowawayServer) -> None:
    load(server)
    server.restart(mode="immediate")
    model = model_of(server)
    started = model.snapshot.one("server", Server)
    assert started is not None
    assert model.counter_window.start == started.started_at
    assert "without saved statistics" in model.counter_window.describe()


def test_pg_stat_reset_starts_the_table_window_and_leaves_the_statements_one(
        server: ThrowawayServer) -> None:
    load(server)
    before = model_of(server)
    time.sleep(1.1)
    server.psql("SELECT pg_stat_reset();")
    model = model_of(server)
    assert model.database is not None and model.database.stats_reset is not None
    assert model.counter_window.start == model.database.stats_reset
    assert model.window.start == before.window.start


def test_a_bulk_load_before_a_statements_reset_is_not_weighed_against_the_reads(
        server: ThrowawayServer) -> None:
    load(server, rows=200_000)
    server.psql("SELECT pg_stat_reset();")  # the table counters start with the load...
    server.psql("INSERT INTO t SELECT generate_series(1, 200000);")
    time.sleep(3)
    server.psql("SELECT pg_stat_statements_reset();")  # ...the statements after it
    for _ in range(3):
        server.psql("SELECT count(*) FROM t WHERE id = 7;")
    model = estimate_indexes(model_of(server))
    assert model.window.known and model.counter_window.known and not model.same_window
    assert model.table_counter_over_window(next(iter(model.tables)), "n_tup_ins") is None
    assert any("the table counters cover" in n for n in model.index_plan.notes)
    (relid,) = model.tables
    assert rows_written(model, relid) == (0.0, 0.0)  # the load is not in the reads' window


def test_a_baseline_of_another_database_is_refused(server: ThrowawayServer,
                                                    tmp_path: Path) -> None:
    server.psql("CREATE DATABASE other;")
    files = []
    for db in ("other", "postgres"):
        out = tmp_path / f"{db}.json"
        subprocess.run([sys.executable, "-m", "pgsage.analyzer", "snapshot", server.dsn(db),
                        "-o", str(out)], check=True, capture_output=True)
        files.append(out)
    run = subprocess.run([sys.executable, "-m", "pgsage.analyzer", "analyze", "--snapshot",
                          str(files[1]), "--baseline", str(files[0])],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "baseline snapshot is of database other" in run.stderr


def test_a_bulk_load_with_explicit_keys_projects_no_key_exhaustion(
        pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE events (id serial PRIMARY KEY, v int);"
               "SELECT nextval('events_id_seq');")
    first = take_snapshot(pg.dsn, Config())
    # A load that brings its own ids and a delete-and-reinsert: the sequence never moves.
    pg.execute("INSERT INTO events SELECT g, g FROM generate_series(2, 300000) g;"
               "DELETE FROM events WHERE id < 100000;"
               "INSERT INTO events SELECT g, g FROM generate_series(2, 99999) g;")
    time.sleep(1.1)
    model = estimate_indexes(Model(take_snapshot(pg.dsn, Config()), first))
    (relid,) = model.tables
    assert (model.table_counter(relid, "n_tup_ins") or 0) >= 390_000
    assert advise(model, RulesConfig(select=("SD004",)))[0] == []


@pytest.mark.pg(">= 15")
def test_a_crash_restart_does_not_make_analyzed_tables_never_analyzed(
        server: ThrowawayServer) -> None:
    server.psql("CREATE TABLE big AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 20000) g;"
                "ANALYZE big; CHECKPOINT;")  # durable: the throwaway commits asynchronously
    server.restart(mode="immediate")
    model = estimate_indexes(model_of(server))
    big = next(t for t in model.tables.values() if t.name == "big")
    assert big.last_analyze is None  # the crash discarded the counter...
    found = advise(model, RulesConfig(select=("MT011",), options={"MT011": {"min_rows": 1000}}))
    assert found[0] == []  # ...but pg_stats still describes the table


def test_a_baseline_without_table_counters_gives_no_rate_over_the_anchor_window() -> None:
    # The sidecar's first cycles: statements were read twice, the tables once so far.
    table = make_table("orders", rows=1_000_000, n_tup_ins=5_000_000)
    baseline = make_snapshot(taken_at=NOW - 60, absent=("tables", "database"))
    model = Model(make_snapshot(tables=[table]), baseline)
    assert model.window.kind == "between-snapshots"
    assert model.counter_window.kind == "since-reset"  # not the 60 s between the snapshots
    assert model.table_counter(table.relid, "n_tup_ins") == 5_000_000
    assert not model.same_window


def test_counters_reset_a_moment_apart_around_a_bulk_load_cover_different_windows() -> None:
    # pg_stat_reset(), a load, then pg_stat_statements_reset() 0.3 s later, in one script:
    # the table counters hold the load, the statements' window does not.
    table = make_table("orders", rows=1_000_000, n_tup_ins=1_000_000)
    info = StatementsInfoStats(dealloc=0, stats_reset=NOW - 59.7)
    model = Model(make_snapshot(tables=[table], stats_reset=NOW - 60,
                                data={"statements_info": [info]}))
    assert model.window.known and model.counter_window.known
    assert not model.same_window


def test_counters_reset_together_cover_the_same_window() -> None:
    info = StatementsInfoStats(dealloc=0, stats_reset=NOW - 3600 + 0.002)
    model = Model(make_snapshot(stats_reset=NOW - 3600, data={"statements_info": [info]}))
    assert model.same_window


@pytest.mark.pg(">= 15")
def test_a_database_created_after_the_server_started_dates_its_counters_from_its_creation(
        server: ThrowawayServer) -> None:
    server.restart(mode="immediate")  # the server's start dates the shared statistics
    time.sleep(2.1)  # file times are whole seconds
    server.psql("CREATE DATABASE late;")
    model = Model(take_snapshot(server.dsn("late"), Config()))
    started = model.snapshot.one("server", Server)
    assert started is not None and model.database is not None
    assert model.database.stats_reset is None
    assert model.counter_window.start == model.database.created_at
    assert model.counter_window.start is not None
    assert model.counter_window.start > started.started_at + 1
    assert "this database was created" in model.counter_window.describe()
