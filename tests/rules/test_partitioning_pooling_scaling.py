"""Partitioning (PT), pooling (PL) and scaling (SC) rules on small models: fire and quiet."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from factories import (
    NOW,
    make_backend,
    make_column,
    make_database,
    make_extension,
    make_fk,
    make_index,
    make_pkey,
    make_server,
    make_setting,
    make_snapshot,
    make_statement,
    make_table,
)

from pgsage.analyzer.engine.pipeline import estimate_indexes
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.analyzer.model.host import HostSpec
from pgsage.analyzer.model.index_plan import (
    Candidate,
    IndexChoice,
    IndexKey,
    IndexPlan,
    StatementEffect,
)
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.model.workload import TableRef
from pgsage.analyzer.units import GB, MB
from pgsage.collectors.activity import Backend
from pgsage.collectors.bgwriter import BgwriterStats
from pgsage.collectors.databases import Database
from pgsage.collectors.wal import WalStats
from pgsage.rules import REGISTRY, build_options
from pgsage.rules.partitioning.range_candidate import choose_interval


def run(code: str, model: Model, **options: Any) -> list[Recommendation]:
    rule = REGISTRY[code]
    opts, errors = build_options(rule, options)
    assert not errors
    return list(rule.check(model, opts))


def stmt(queryid: int, text: str, calls: int = 100, ms: float = 100.0, rows: int = 100,
         **fields: Any) -> Any:
    return make_statement(queryid, text, calls, total_exec_time=ms, rows=rows, **fields)


def model_of(snapshot: Snapshot, baseline: Snapshot | None = None, cpus: int | None = None
             ) -> Model:
    return estimate_indexes(Model(snapshot, baseline, host=HostSpec(cpus=cpus)))


# --- PT001 range partitioning ----------------------------------------------------------------

def events(bytes_: int = 3 * GB, **fields: Any) -> Any:
    return make_table("events", rows=30_000_000, table_bytes=bytes_, **fields)


def events_columns(t: Any) -> list[Any]:
    return [make_column(t, "id", "bigint", 1),
            make_column(t, "created_at", "timestamp with time zone", 2, correlation=0.99),
            make_column(t, "user_id", "bigint", 3)]


RANGE_READ = "SELECT * FROM events WHERE created_at >= $1 AND created_at < $2"
RETENTION = "DELETE FROM events WHERE created_at < now() - $1::interval"


def test_time_series_with_retention_is_a_range_partitioning_candidate() -> None:
    t = events(n_tup_ins=1_000_000)
    snap = make_snapshot(tables=[t], indexes=[make_pkey(t)],
                         statements=[stmt(1, RANGE_READ, 500), stmt(2, RETENTION, 1)],
                         data={"columns": events_columns(t)})
    found = run("PT001", model_of(snap))
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.MEDIUM
    assert f.object.columns == ("created_at",)
    sql = f.action.sql if f.action else ""
    assert 'PARTITION BY RANGE (created_at);' in (sql or "")
    assert 'ADD PRIMARY KEY (id, created_at);' in (sql or "")
    assert "PARTITION OF public.events_partitioned FOR VALUES FROM" in (sql or "")
    assert any("ATTACH PARTITION" in line for line in f.evidence["migration_sql"])


def test_partman_creates_the_partitions_when_installed() -> None:
    t = events()
    snap = make_snapshot(tables=[t], statements=[stmt(2, RETENTION, 1)],
                         extensions=[make_extension(),
                                     dataclasses.replace(make_extension("pg_partman", "5.1.0"),
                                                         schema="partman")],
                         data={"columns": events_columns(t)})
    sql = run("PT001", model_of(snap))[0].action
    assert sql is not None and 'partman.create_parent(' in (sql.sql or "")


@pytest.mark.parametrize("case", ["small", "no range access"])
def test_size_alone_is_no_reason_to_partition(case: str) -> None:
    t = events(bytes_=100 * MB if case == "small" else 3 * GB)
    statements = ([stmt(1, "SELECT * FROM events WHERE user_id = $1", 500)]
                  if case == "no range access" else [stmt(2, RETENTION, 1)])
    snap = make_snapshot(tables=[t], statements=statements, data={"columns": events_columns(t)})
    assert run("PT001", model_of(snap)) == []


def growing(before_bytes: int, now_bytes: int, seconds: float = 86_400.0,
            **snapshot: Any) -> Model:
    """A 400 MB time series with range reads and retention deletes, measured twice."""
    def events_at(size: int, inserted: int, taken_at: float, calls: int) -> Snapshot:
        t = dataclasses.replace(events(size, n_tup_ins=inserted), relid=EVENTS_RELID)
        return make_snapshot(tables=[t], taken_at=taken_at,
                             statements=[stmt(1, RANGE_READ, calls), stmt(2, RETENTION, calls)],
                             data={"columns": events_columns(t)}, **snapshot)
    before = events_at(before_bytes, 1_000_000, NOW - seconds, 1)
    return model_of(events_at(now_bytes, 2_000_000, NOW, 501), before)


EVENTS_RELID = 99_001


def test_a_small_time_series_growing_fast_is_partitioned_before_it_is_large() -> None:
    """+100 MB a day over a measured day: about 36 GB within the year's horizon."""
    [f] = run("PT001", growing(300 * MB, 400 * MB))
    assert f.evidence["projected_bytes"] >= 30 * GB
    assert f.evidence["growth_window_seconds"] == 86_400
    assert "within 365 days" in f.title
    assert "planning horizon" in f.detail


def test_no_projection_from_growth_that_retention_keeps_flat_or_a_short_window() -> None:
    assert run("PT001", growing(400 * MB, 400 * MB)) == []
    assert run("PT001", growing(399 * MB, 400 * MB, seconds=60.0)) == []


def test_no_projection_without_a_known_window() -> None:
    """One snapshot, table counters never reset: the rows inserted say no rate."""
    t = events(400 * MB, n_tup_ins=50_000_000)
    snap = make_snapshot(tables=[t], statements=[stmt(1, RANGE_READ, 500), stmt(2, RETENTION, 1)],
                         data={"columns": events_columns(t), "database": [make_database(None)]})
    model = model_of(snap)
    assert not model.counter_window.known
    assert run("PT001", model) == []


def test_the_interval_follows_growth() -> None:
    assert choose_interval(100 * MB, GB) == "week"
    assert choose_interval(2 * GB, GB) == "day"
    assert choose_interval(20 * MB, GB) == "month"
    assert choose_interval(0, GB) == "month"


# --- PT002 tenant partitioning ---------------------------------------------------------------

def test_tenant_scoped_access_on_a_huge_table_proposes_hash_partitions() -> None:
    t = make_table("invoices", rows=500_000_000, table_bytes=60 * GB)
    cols = [make_column(t, "id"), make_column(t, "account_id", "bigint", 2, n_distinct=50_000)]
    snap = make_snapshot(tables=[t], statements=[
        stmt(1, "SELECT * FROM invoices WHERE account_id = $1", 900),
        stmt(2, "SELECT * FROM invoices WHERE id = $1", 100)], data={"columns": cols})
    found = run("PT002", model_of(snap))
    assert len(found) == 1
    assert "PARTITION BY HASH (account_id)" in (found[0].action.sql or "") \
        if found[0].action else False
    assert "(MODULUS 8, REMAINDER 7)" in (found[0].action.sql or "") if found[0].action else False
    mixed = make_snapshot(tables=[t], statements=[
        stmt(1, "SELECT * FROM invoices WHERE account_id = $1", 500),
        stmt(2, "SELECT * FROM invoices WHERE id = $1", 500)], data={"columns": cols})
    assert run("PT002", model_of(mixed)) == []


# --- PT003 .. PT006 existing partitioned tables ----------------------------------------------

def partitioned_events(n: int = 5, **part_fields: Any) -> tuple[Any, list[Any]]:
    parent = make_table("events", rows=0, relkind="p", table_bytes=None,
                        partition_strategy="r", partition_key="RANGE (created_at)")
    parts = [make_table(f"events_p{i}", rows=100_000, is_partition=True,
                        parent_relid=parent.relid, **part_fields) for i in range(n)]
    return parent, parts


def test_statements_without_the_partition_key_cannot_prune() -> None:
    parent, parts = partitioned_events()
    cols = events_columns(parent)
    snap = make_snapshot(tables=[parent, *parts], data={"columns": cols}, statements=[
        stmt(1, "SELECT * FROM events WHERE user_id = $1", 100),
        stmt(2, "SELECT * FROM events WHERE user_id = $1 AND created_at >= $2", 100)])
    found = run("PT003", model_of(snap))
    assert [f.evidence["statements"] for f in found] == [1]
    assert found[0].object.columns == ("created_at",)


def test_too_many_and_too_uneven_partitions() -> None:
    parent, parts = partitioned_events(1200, table_bytes=MB)
    assert len(run("PT004", model_of(make_snapshot(tables=[parent, *parts])))) == 1
    parent, parts = partitioned_events(2)
    parts = [dataclasses.replace(parts[0], table_bytes=19 * GB),
             dataclasses.replace(parts[1], table_bytes=GB)]
    found = run("PT004", model_of(make_snapshot(tables=[parent, *parts])))
    assert [f.evidence["largest_partition"] for f in found] == ["events_p0"]
    parent, parts = partitioned_events(12, table_bytes=GB)
    assert run("PT004", model_of(make_snapshot(tables=[parent, *parts]))) == []


def test_a_growing_default_partition_is_reported_with_a_probe() -> None:
    parent, parts = partitioned_events(3)
    default = make_table("events_default", rows=50_000, is_partition=True,
                         parent_relid=parent.relid, partition_bound="DEFAULT", n_tup_ins=1000)
    found = run("PT005", model_of(make_snapshot(tables=[parent, *parts, default])))
    assert len(found) == 1
    assert found[0].action is not None and found[0].action.sql == (
        'SELECT min(created_at), max(created_at), count(*) FROM '
        'public.events_default;')
    idle = dataclasses.replace(default, n_tup_ins=0)
    assert run("PT005", model_of(make_snapshot(tables=[parent, *parts, idle]))) == []


def test_an_index_missing_on_one_partition_is_created_there() -> None:
    parent, parts = partitioned_events(3)
    indexes = [make_index(p, f"{p.name}_user_id_idx", ("user_id",)) for p in parts[:2]]
    found = run("PT006", model_of(make_snapshot(tables=[parent, *parts], indexes=indexes)))
    assert len(found) == 1
    assert found[0].evidence["missing_on"] == ["events_p2"]
    assert found[0].action is not None and found[0].action.sql == (
        'CREATE INDEX CONCURRENTLY events_p2_user_id_idx ON public.events_p2 USING '
        'btree (user_id);')
    all_three = [make_index(p, f"{p.name}_user_id_idx", ("user_id",)) for p in parts]
    assert run("PT006", model_of(make_snapshot(tables=[parent, *parts],
                                               indexes=all_three))) == []


# --- PL001 / PL002 pooling -------------------------------------------------------------------

def backend(pid: int, state: str, age: float = 5.0, **fields: Any) -> Backend:
    return dataclasses.replace(make_backend(pid, state=state), state_change_age=age,
                               backend_start_age=3600.0, **fields)


def crowded(app: str = "shop-api", extra: list[Any] | None = None) -> Model:
    conns = ([backend(i, "idle", application_name=app) for i in range(20)]
             + [backend(100 + i, "idle in transaction", 30.0, application_name=app)
                for i in range(6)]
             + [backend(200 + i, "active", application_name=app) for i in range(4)])
    snap = make_snapshot(activity=conns, statements=extra or [],
                         settings=[make_setting("max_connections", "50")])
    return model_of(snap)


def test_many_idle_and_idle_in_transaction_connections_want_a_pooler() -> None:
    found = run("PL001", crowded())
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.MEDIUM
    assert f.evidence["pool_size"] == 6 and f.evidence["idle_in_transaction"] == 6
    assert f.action is not None and f.action.shell is not None
    assert "pool_mode = transaction" in f.action.shell
    assert "default_pool_size = 6" in f.action.shell


def test_session_state_is_listed_as_what_transaction_pooling_breaks() -> None:
    found = run("PL001", crowded(extra=[stmt(7, "LISTEN jobs"),
                                        stmt(8, "SELECT pg_advisory_lock($1)")]))
    features = found[0].evidence["session_features"]
    assert features == {"LISTEN/NOTIFY listeners": ["7"], "session advisory locks": ["8"]}


def test_no_pooler_advice_behind_a_pooler_or_for_a_few_connections() -> None:
    assert run("PL001", crowded(app="pgbouncer")) == []
    few = make_snapshot(activity=[backend(i, "idle") for i in range(3)])
    assert run("PL001", model_of(few)) == []


def test_sessions_idle_for_hours_get_an_idle_session_timeout() -> None:
    idle = [backend(i, "idle", 7200.0) for i in range(12)]
    found = run("PL002", model_of(make_snapshot(activity=idle)))
    assert len(found) == 1
    assert found[0].action is not None
    assert found[0].action.sql == "ALTER ROLE app SET idle_session_timeout = '120min';"
    timed = make_snapshot(activity=idle, settings=[
        dataclasses.replace(make_setting("idle_session_timeout", "3600000", "ms"))])
    assert run("PL002", model_of(timed)) == []


# --- SC001 read replicas ---------------------------------------------------------------------

def load_models(read_ms: float, write_ms: float) -> tuple[Snapshot, Snapshot]:
    before = make_snapshot(taken_at=NOW - 10, statements=[
        stmt(1, "SELECT * FROM t WHERE id = $1", 1, 0.0), stmt(2, "INSERT INTO t VALUES ($1)",
                                                               1, 0.0)])
    now = make_snapshot(statements=[stmt(1, "SELECT * FROM t WHERE id = $1", 1001, read_ms),
                                    stmt(2, "INSERT INTO t VALUES ($1)", 101, write_ms)])
    return now, before


def test_a_read_dominated_loaded_server_wants_read_replicas() -> None:
    now, before = load_models(10_000.0, 500.0)
    found = run("SC001", model_of(now, before, cpus=1))
    assert len(found) == 1
    assert found[0].severity is Severity.MEDIUM
    assert found[0].evidence["read_share"] > 0.9
    assert found[0].action is not None and "pg_basebackup" in (found[0].action.shell or "")


def test_no_replicas_for_a_write_heavy_or_idle_server() -> None:
    now, before = load_models(500.0, 10_000.0)
    assert run("SC001", model_of(now, before, cpus=1)) == []
    now, before = load_models(100.0, 1.0)
    assert run("SC001", model_of(now, before, cpus=1)) == []


def advised(model: Model, ratio: float, *queryids: int) -> Model:
    """Pin the index advisor's plan: one index that takes these statements' cost to
    `ratio` of what it is."""
    ref = TableRef(1, "public", "t")
    effects = [StatementEffect(q, 1000, 1000.0, 1000.0 * ratio, "") for q in queryids]
    model.index_plan = IndexPlan("hypopg", choices=[IndexChoice(
        Candidate(ref, (IndexKey("k"),)), "t_k_idx", 8192, effects, 1.0, 0.0, 0.0, 0.0)])
    return model


def test_no_replicas_for_the_load_the_proposed_index_removes() -> None:
    """The reads that keep the CPU busy are one index away from 1% of their cost."""
    now, before = load_models(10_000.0, 500.0)
    assert run("SC001", advised(model_of(now, before, cpus=1), 0.01, 1)) == []


def test_replica_advice_counts_the_load_left_after_the_proposed_indexes() -> None:
    now, before = load_models(20_000.0, 500.0)
    [f] = run("SC001", advised(model_of(now, before, cpus=1), 0.5, 1))
    assert "after the proposed indexes" in f.title
    assert f.evidence["busy_backends"] == pytest.approx(1.05)
    assert f.evidence["busy_backends_now"] == pytest.approx(2.05)


# --- SC002 working set -----------------------------------------------------------------------

def with_blocks(hit: int, read: int, taken_at: float = NOW) -> Snapshot:
    db = dataclasses.replace(make_database(), blks_hit=hit, blks_read=read)
    return make_snapshot(taken_at=taken_at, data={"database": [db]},
                         settings=[make_setting("shared_buffers", "16384", "8kB")])


def test_a_low_hit_ratio_with_many_reads_means_the_working_set_exceeds_memory() -> None:
    found = run("SC002", model_of(with_blocks(80_000 + 800_000, 20_000 + 200_000),
                                  with_blocks(80_000, 20_000, NOW - 100)))
    assert len(found) == 1
    assert found[0].evidence["hit_ratio"] == 0.8
    assert found[0].severity is Severity.LOW  # RAM assumed
    assert run("SC002", model_of(with_blocks(990_000, 10_000), with_blocks(0, 0, NOW - 100))) \
        == []


def test_reads_from_the_os_cache_or_a_database_that_fits_in_ram_need_no_more_ram() -> None:
    """A 322 MB database: the blocks missing from shared_buffers came from the OS cache
    (0.01 ms each), or the host's RAM is known to hold the whole database."""
    cached = dataclasses.replace(make_database(), blks_hit=800_000, blks_read=200_000,
                                 blk_read_time=2_000.0)
    now = make_snapshot(data={"database": [cached]},
                        settings=[make_setting("shared_buffers", "16384", "8kB")])
    assert run("SC002", model_of(now, with_blocks(0, 0, NOW - 100))) == []
    small = with_blocks(800_000, 200_000)
    small.data["server"] = [make_server(database_bytes=322 * MB)]
    fits = Model(small, with_blocks(0, 0, NOW - 100), host=HostSpec(memory_bytes=8 * GB))
    assert run("SC002", estimate_indexes(fits)) == []


def test_the_title_says_memory_only_when_reads_or_sizes_show_it() -> None:
    """Without read times or the host's RAM, what is known is shared_buffers."""
    [f] = run("SC002", model_of(with_blocks(800_000, 200_000), with_blocks(0, 0, NOW - 100)))
    assert f.title.startswith("Working set exceeds shared_buffers")
    slow = dataclasses.replace(make_database(), blks_hit=800_000, blks_read=200_000,
                               blk_read_time=400_000.0)
    now = make_snapshot(data={"database": [slow]},
                        settings=[make_setting("shared_buffers", "16384", "8kB")])
    [f] = run("SC002", model_of(now, with_blocks(0, 0, NOW - 100)))
    assert f.title.startswith("Working set exceeds memory")
    assert "real storage reads" in f.detail


def test_no_more_ram_for_reads_the_proposed_index_removes() -> None:
    """The sequential scan that reads most blocks is one index away from 1% of its cost."""
    scan = stmt(1, "SELECT * FROM t WHERE k = $1", 1000, 5_000.0, shared_blks_read=190_000)
    now = with_blocks(800_000, 200_000)
    now.data["statements"] = [scan]
    before = with_blocks(0, 0, NOW - 100)
    before.data["statements"] = [dataclasses.replace(scan, calls=0, shared_blks_read=0,
                                                     total_exec_time=0.0)]
    model = model_of(now, before)
    assert model.same_window
    assert len(run("SC002", model)) == 1
    assert run("SC002", advised(model_of(now, before), 0.01, 1)) == []


# --- SC003 capacity --------------------------------------------------------------------------

def sized(total: int, taken_at: float) -> Snapshot:
    return make_snapshot(taken_at=taken_at, data={"databases": [
        Database(1, "shop", 1000, 10, True, False, -1, total)]})


def test_growth_toward_the_disk_size_gives_the_days_left() -> None:
    now, before = sized(102 * GB, NOW), sized(100 * GB, NOW - 86_400)
    found = run("SC003", model_of(now, before), disk_bytes=150 * GB)
    assert len(found) == 1
    assert found[0].evidence["days_left"] == 24.0
    assert found[0].severity is Severity.HIGH
    info = run("SC003", model_of(now, before))
    assert [f.severity for f in info] == [Severity.INFO]
    assert run("SC003", model_of(now, before), disk_bytes=10_000 * GB) == []


def test_without_a_baseline_only_a_nearly_full_disk_is_reported() -> None:
    found = run("SC003", model_of(sized(102 * GB, NOW)), disk_bytes=110 * GB)
    assert [f.severity for f in found] == [Severity.MEDIUM]
    assert run("SC003", model_of(sized(10 * GB, NOW)), disk_bytes=110 * GB) == []


# --- SC004 checkpoints -----------------------------------------------------------------------

def bgwriter(timed: int, req: int) -> BgwriterStats:
    return BgwriterStats(timed, req, 0.0, 0.0, 0, 0, 0, 0, None)


def wal(total: int) -> WalStats:
    return WalStats(wal_records=1000, wal_fpi=300, wal_bytes=total, wal_buffers_full=0,
                    stats_reset=None, in_recovery=False, current_lsn_bytes=total)


def checkpoint_snapshot(timed: int, req: int, wal_bytes: int, taken_at: float) -> Snapshot:
    return make_snapshot(taken_at=taken_at, data={"bgwriter": [bgwriter(timed, req)],
                                                  "wal": [wal(wal_bytes)]},
                         settings=[make_setting("checkpoint_timeout", "300", "s"),
                                   make_setting("max_wal_size", "1024", "MB"),
                                   make_setting("checkpoint_completion_target", "0.9")])


def test_requested_checkpoints_raise_max_wal_size_from_the_wal_rate() -> None:
    before = checkpoint_snapshot(0, 0, 0, NOW - 3600)
    now = checkpoint_snapshot(4, 57, 3600 * 4 * MB, NOW)
    found = run("SC004", model_of(now, before))
    assert len(found) == 1
    sql = found[0].action.sql if found[0].action else ""
    assert "ALTER SYSTEM SET max_wal_size = '9GB';" in (sql or "")
    assert "ALTER SYSTEM SET checkpoint_timeout = '15min';" in (sql or "")
    calm = checkpoint_snapshot(12, 1, 3600 * MB, NOW)
    assert run("SC004", model_of(calm, before)) == []


def test_checkpoints_requested_without_wal_pressure_are_not_blamed_on_max_wal_size() -> None:
    before = checkpoint_snapshot(0, 0, 0, NOW - 3600)
    dropped_databases = checkpoint_snapshot(4, 20, 3600 * 100 * 1024, NOW)  # 100 kB/s of WAL
    assert run("SC004", model_of(dropped_databases, before)) == []


def test_a_burst_of_wal_too_small_to_fill_max_wal_size_forced_no_checkpoint() -> None:
    # PostgreSQL 14 counts each CREATE DATABASE's checkpoint as requested: a new server
    # with a few databases and 60 MB of WAL in 20 s extrapolates to 3 MB/s, yet 60 MB
    # cannot have filled a 1 GB max_wal_size even once.
    before = checkpoint_snapshot(0, 0, 0, NOW - 20)
    new_databases = checkpoint_snapshot(0, 4, 60 * MB, NOW)
    assert run("SC004", model_of(new_databases, before)) == []


# --- SC005 sharding, SC006 technology fit ----------------------------------------------------

def test_a_tenant_column_in_most_statements_and_foreign_keys_is_a_distribution_key() -> None:
    accounts = make_table("accounts", rows=1000)
    orders = make_table("orders", rows=10_000_000)
    items = make_table("items", rows=50_000_000)
    cols = [make_column(t, "account_id", attnum=2) for t in (accounts, orders, items)] + [
        make_column(t, "id") for t in (accounts, orders, items)] + [
        make_column(items, "order_id", attnum=3)]
    snap = make_snapshot(
        tables=[accounts, orders, items],
        constraints=[make_fk(items, ("account_id", "order_id"), orders, ("account_id", "id"))],
        statements=[stmt(1, "SELECT * FROM orders WHERE account_id = $1 AND id = $2", 900),
                    stmt(2, "SELECT * FROM items WHERE account_id = $1", 900),
                    stmt(3, "SELECT count(*) FROM orders", 10)],
        data={"columns": cols, "server": [make_server(database_bytes=200 * GB)]})
    found = run("SC005", model_of(snap))
    assert [f.evidence["column"] for f in found] == ["account_id"]
    assert found[0].evidence["crossing_statements"] == ["3"]
    small = make_snapshot(tables=[accounts, orders, items], data={"columns": cols})
    assert run("SC005", model_of(small)) == []


def test_technology_fit_time_series_search_and_documents() -> None:
    metrics = make_table("metrics", rows=100_000_000, table_bytes=20 * GB, n_tup_ins=1_000_000)
    docs = make_table("docs", rows=10_000)
    store = make_table("store", rows=10_000)
    cols = [make_column(metrics, "ts", "timestamp with time zone", correlation=0.99),
            make_column(docs, "tsv", "tsvector"), make_column(docs, "title", "text", 2),
            make_column(store, "id", avg_width=8),
            make_column(store, "body", "jsonb", 2, avg_width=900)]
    before = make_snapshot(taken_at=NOW - 3600, tables=[dataclasses.replace(metrics,
                                                                            n_tup_ins=0)])
    snap = make_snapshot(tables=[metrics, docs, store], data={"columns": cols}, statements=[
        stmt(1, "SELECT * FROM metrics WHERE ts >= $1 AND ts < $2", 100, 100.0),
        stmt(2, "SELECT title FROM docs WHERE tsv @@ to_tsquery($1)", 100, 900.0),
        stmt(3, "SELECT * FROM store WHERE body @> $1", 100, 10.0)])
    kinds = sorted(f.evidence["kind"] for f in run("SC006", model_of(snap, before)))
    assert kinds == ["documents", "full_text", "time_series"]
