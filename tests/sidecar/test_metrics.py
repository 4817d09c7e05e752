"""Metrics from synthetic state through the one prometheus-client Collector; no database."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sidecar_support import boot, failed, make, ok, parse

from pgsage.analyzer import __version__
from pgsage.analyzer.engine import config as config_mod
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sidecar.analysis import ModelCache, analyze
from pgsage.analyzer.sidecar.metrics import (
    SPECS,
    PgsageCollector,
    Published,
    build_rows,
    markdown,
    publish,
)
from pgsage.analyzer.sidecar.samples import Memberships, _Rows, advice_rows, recommendation_id
from pgsage.analyzer.sidecar.settings import MetricsConfig, TargetConfig, sidecar_of
from pgsage.analyzer.sidecar.state import TargetState, health_rows
from pgsage.analyzer.sidecar.window import Window
from pgsage.collectors.activity import Backend
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.databases import Database
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.server import Server
from pgsage.collectors.settings import Setting
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.statements_info import StatementsInfoStats
from pgsage.collectors.tables import TableStats

ROOT = Path(__file__).resolve().parents[2]
SECRET_TEXT = "SELECT * FROM users WHERE password = 'hunter2'"


def statements(calls: int, count: int = 10) -> list[StatementStats]:
    return [make(StatementStats, userid=10, username="app", dbid=5, toplevel=True,
                 queryid=-(1 << 62) + q, calls=calls * (q + 1),
                 total_exec_time=calls * (q + 1) * (q + 1) * 1.0, rows=calls,
                 shared_blks_hit=10, shared_blks_read=2, temp_blks_read=1, temp_blks_written=3,
                 query=SECRET_TEXT if q == 0 else None)
            for q in range(count)]


def run(window: Window, at: float, calls: int, *, deadlocks: int = 0, backends: int = 3,
        statements_override: list[StatementStats] | None = None,
        state: TargetState | None = None) -> None:
    server = make(Server, server_version_num=170002, version="PostgreSQL 17.2 on x86_64",
                  database="shop", started_at=100.0, block_size=8192)
    db = make(DatabaseStats, datid=5, datname="shop", xact_commit=calls, xact_rollback=1,
              blks_hit=900 + calls, blks_read=100, temp_bytes=4096, temp_files=1,
              deadlocks=deadlocks, stats_reset=50.0)
    ages = [make(Database, datid=5, datname="shop", frozenxid_age=1234, minmxid_age=5,
                 bytes=10_000_000)]
    activity = [make(Backend, pid=100 + i, datname="shop", backend_type="client backend",
                     state="active" if i == 0 else "idle", xact_start_age=30.0 if i == 0
                     else None, backend_xmin_age=77 if i == 0 else None)
                for i in range(backends)]
    tables = [make(TableStats, relid=1000 + i, schema="public", name=f"t{i}", relkind="r",
                   seq_scan=i * calls, seq_tup_read=i * calls * 100, idx_scan=5,
                   n_live_tup=100, n_dead_tup=i, table_bytes=8192 * (i + 1))
              for i in range(40)]
    indexes = [make(IndexStats, indexrelid=2000 + i, relid=1000 + i, schema="public",
                    table=f"t{i}", name=f"t{i}_pkey", bytes=8192 * i, idx_scan=i,
                    method="btree", definition=f"CREATE INDEX t{i}_pkey ON t{i} (id)",
                    columns=("id",), key_count=1, opclasses=("int4_ops",), options=(0,),
                    is_valid=True, is_ready=True)
               for i in range(40)]
    settings = [make(Setting, name="max_connections", setting="100", vartype="integer"),
                make(Setting, name="autovacuum_freeze_max_age", setting="200000000")]
    info = make(StatementsInfoStats, dealloc=3, stats_reset=50.0)
    results = {
        "server": ok([server], at), "settings": ok(settings, at), "database": ok([db], at),
        "databases": ok(ages, at), "activity": ok(activity, at), "tables": ok(tables, at),
        "indexes": ok(indexes, at), "statements": ok(statements_override or statements(calls), at),
        "statements_info": ok([info], at),
        "wal": failed("permission denied for function pg_ls_waldir", "insufficient_privilege",
                      at),
    }
    window.add(boot(100.0, 170002), results, "db1", at)
    if state is not None:
        state.record(results, at)


def state_after_two_runs(top_n: int = 3) -> TargetState:
    sidecar = sidecar_of(config_mod.validate({"metrics": {"top_n": top_n, "top_tables": 5,
                                               "top_indexes": 5}}))
    state = TargetState.of(TargetConfig("shop", "host=db1"), sidecar)
    run(state.window, 1000.0, 10, state=state)
    run(state.window, 1060.0, 20, deadlocks=2, state=state)
    current, baseline = state.window.current(), state.window.baseline()
    assert current is not None
    config = config_mod.validate({})
    result = analyze("shop", current, baseline, {}, config, state.memberships, True,
                     state.model_cache)
    state.workload = result.workload
    state.health = publish(health_rows(state))
    return state


@pytest.fixture(scope="module")
def registry() -> tuple[CollectorRegistry, PgsageCollector]:
    state = state_after_two_runs()
    parts = [publish(build_rows()), state.health, state.workload]
    collector = PgsageCollector(lambda: parts)
    reg = CollectorRegistry()
    reg.register(collector)
    return reg, collector


def test_workload_and_health_samples(registry: tuple[CollectorRegistry, PgsageCollector]) -> None:
    reg, _ = registry
    get = reg.get_sample_value
    assert get("pgsage_build_info", {"version": __version__,
                                     "python_version": platform.python_version()}) == 1
    assert get("pgsage_parse_failures_total", {"target": "shop"}) == 0
    assert get("pgsage_window_seconds", {"target": "shop"}) == 60
    assert get("pgsage_database_transactions_total",
               {"target": "shop", "database": "shop", "outcome": "commit"}) == 20
    assert get("pgsage_database_deadlocks_total", {"target": "shop", "database": "shop"}) == 2
    # Over the window: 10 more hits, no more reads.
    assert get("pgsage_database_cache_hit_ratio", {"target": "shop", "database": "shop"}) == 1.0
    assert get("pgsage_database_connections",
               {"target": "shop", "database": "shop", "state": "idle"}) == 2
    assert get("pgsage_database_connections",
               {"target": "shop", "database": "shop", "state": "idle in transaction"}) == 0
    assert get("pgsage_database_oldest_transaction_age_seconds",
               {"target": "shop", "database": "shop"}) == 30
    assert get("pgsage_database_xid_age", {"target": "shop", "database": "shop"}) == 1234
    assert get("pgsage_setting_max_connections", {"target": "shop"}) == 100
    assert get("pgsage_server_info", {"target": "shop", "version": "PostgreSQL 17.2",
                                      "server_version_num": "170002"}) == 1
    assert get("pgsage_statements_evicted_total", {"target": "shop"}) == 3
    assert get("pgsage_collector_success", {"target": "shop", "collector": "wal"}) == 0
    assert get("pgsage_collector_error_info", {"target": "shop", "collector": "wal",
                                               "reason": "insufficient_privilege"}) == 1
    assert get("pgsage_collector_success", {"target": "shop", "collector": "statements"}) == 1
    assert get("pgsage_collector_rows", {"target": "shop", "collector": "tables"}) == 40
    assert get("pgsage_up", {"target": "shop"}) == 0  # no session in this test


def test_statements_are_top_n_by_window_time_with_bytes(
        registry: tuple[CollectorRegistry, PgsageCollector]) -> None:
    reg, _ = registry
    samples = parse(generate_latest(reg).decode())
    calls = {dict(ls)["queryid"]: v for (n, ls), v in samples.items()
             if n == "pgsage_statement_calls_total"}
    # Top 3 by execution time over the window: the three last queryids.
    assert sorted(calls) == sorted(str(-(1 << 62) + q) for q in (7, 8, 9))
    labels = next(dict(ls) for (n, ls) in samples if n == "pgsage_statement_calls_total")
    assert set(labels) == {"target", "database", "user", "queryid", "toplevel"}
    assert reg.get_sample_value("pgsage_statement_temp_written_bytes_total", {
        **labels}) == 3 * 8192
    assert reg.get_sample_value("pgsage_statements_exported", {"target": "shop"}) == 3
    assert reg.get_sample_value("pgsage_statements_tracked", {"target": "shop"}) == 10


def test_tables_and_indexes_are_bounded(
        registry: tuple[CollectorRegistry, PgsageCollector]) -> None:
    reg, _ = registry
    samples = parse(generate_latest(reg).decode())
    tables = {dict(ls)["table"] for (n, ls) in samples if n == "pgsage_table_dead_tuples"}
    assert 5 <= len(tables) <= 20  # top 5 by seq reads and top 5 by dead rows
    assert "t39" in tables
    indexes = {dict(ls)["index"] for (n, ls) in samples if n == "pgsage_index_size_bytes"}
    assert 5 <= len(indexes) <= 20 and "t39_pkey" in indexes


def test_no_label_carries_query_text(registry: tuple[CollectorRegistry, PgsageCollector]) -> None:
    reg, _ = registry
    text = generate_latest(reg).decode()
    assert "hunter2" not in text and "SELECT" not in text


def test_render_is_what_generate_latest_makes(
        registry: tuple[CollectorRegistry, PgsageCollector]) -> None:
    reg, collector = registry
    assert collector.render() == generate_latest(reg)


def test_help_says_where_values_come_from(
        registry: tuple[CollectorRegistry, PgsageCollector]) -> None:
    reg, _ = registry
    helps = {m.name: m.documentation for m in reg.collect()}
    assert "last scheduled snapshot" in helps["pgsage_statement_calls"]
    assert "last scheduled snapshot" in helps["pgsage_database_xid_age"]
    assert "last scheduled snapshot" not in helps["pgsage_up"]


def test_registration_never_reads_state() -> None:
    def source() -> list[Published]:
        raise AssertionError("describe() must not read state")

    reg = CollectorRegistry()
    reg.register(PgsageCollector(source))  # describe() only
    names = {m.name for m in PgsageCollector(source).describe()}
    assert names == {s.name for s in SPECS}


def test_names_follow_conventions() -> None:
    for spec in SPECS:
        assert spec.name.startswith("pgsage_")
        assert not spec.name.endswith("_total"), spec.name
        if spec.kind == "counter":
            assert not spec.name.endswith(("_ratio", "_info")), spec.name
        assert "_ms" not in spec.name and "blocks" not in spec.name.split("_")[-1]


def test_membership_keeps_series_stable_between_cycles() -> None:
    state = state_after_two_runs(top_n=3)

    def exported() -> set[int]:
        current = state.window.current()
        assert current is not None
        result = analyze("shop", current, state.window.baseline(), {}, config_mod.validate({}),
                         state.memberships, False)
        return {int(dict(s.labels)["queryid"]) + (1 << 62)
                for s in result.workload.samples["pgsage_statement_calls"]}

    assert exported() == {7, 8, 9}
    # Statements 0 and 1 get very busy: 7 slips to fifth place, within the top 2N (6), so
    # it keeps its series; 0 and 1 enter.
    busy = statements(20)
    for q in (0, 1):
        busy[q] = make(StatementStats, **{**{f: getattr(busy[q], f) for f in
                                             StatementStats.__dataclass_fields__},
                                          "total_exec_time": 1e9 + q})
    run(state.window, 1120.0, 20, statements_override=busy)
    assert exported() == {0, 1, 7, 8, 9}


def test_recommendation_benefit_and_findings() -> None:
    recs = [Recommendation(rule="IX001", category=Category.INDEX, severity=Severity.HIGH,
                           title="Index orders (user_id)", detail="...",
                           object=ObjectRef("public", "orders", None, ("user_id",)),
                           benefit=123.0),
            Recommendation(rule="MT001", category=Category.MAINTENANCE,
                           severity=Severity.LOW, title="Vacuum t", detail="...",
                           object=ObjectRef("public", "t"), benefit=1.0)]
    out = _Rows("shop")
    advice_rows(out, recs, top=1)
    rows = dict(out.rows)
    assert rows["pgsage_findings"] == [(("shop", "IX001", "index", "high"), 1.0),
                                       (("shop", "MT001", "maintenance", "low"), 1.0)]
    assert rows["pgsage_recommendation_benefit"] == [
        (("shop", recommendation_id(recs[0]), "IX001", "index", "high",
          "public.orders(user_id)"), 123.0)]
    assert recommendation_id(recs[0]) == recommendation_id(recs[0])


def test_model_cache_reuses_statement_deltas() -> None:
    state = state_after_two_runs()
    current, baseline = state.window.current(), state.window.baseline()
    assert current is not None
    cache = ModelCache()
    texts: dict[int, str] = {}
    config = config_mod.validate({})
    analyze("shop", current, baseline, texts, config, state.memberships, True, cache)
    frame = cache.derived.statements
    analyze("shop", current, baseline, texts, config, state.memberships, True, cache)
    assert cache.derived.statements is frame
    run(state.window, 1120.0, 30)
    current2 = state.window.current()
    assert current2 is not None
    analyze("shop", current2, state.window.baseline(), texts, config, state.memberships, True,
            cache)
    assert cache.derived.statements is not frame


def test_docs_list_every_metric() -> None:
    assert (ROOT / "docs" / "metrics.md").read_text() == markdown(), (
        "docs/metrics.md is stale: python -m pgsage.analyzer.sidecar.metrics > docs/metrics.md")


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_exposition(
        registry: tuple[CollectorRegistry, PgsageCollector]) -> None:
    _, collector = registry
    done = subprocess.run(["promtool", "check", "metrics"], input=collector.render(),
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_metrics_config_resize() -> None:
    m = Memberships.of(MetricsConfig(top_n=5))
    m.resize(MetricsConfig(top_n=7, top_tables=2))
    assert m.statements.n == 7 and m.tables_by_seq.n == 2
