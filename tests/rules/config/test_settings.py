"""Configuration rules CF010-CF022 on small models: a pass and a fail case each."""

from __future__ import annotations

import dataclasses

from factories import (
    HOST,
    app_backend,
    codes,
    make_column,
    make_database_age,
    make_role,
    make_statement,
    make_table,
    well_run_model,
    with_database,
)

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.analyzer.model.host import HostSpec
from pgsage.analyzer.units import GB
from pgsage.collectors.statements_info import StatementsInfoStats


def only(model: Model, code: str) -> Recommendation:
    from pgsage.analyzer.engine.advise import advise
    from pgsage.analyzer.engine.config import RulesConfig

    found, notes = advise(model, RulesConfig(select=(code,)))
    assert not notes and len(found) == 1, found
    return found[0]


def test_well_run_server_is_quiet() -> None:
    model = well_run_model()
    assert codes(model, ["SD", "CF01", "CF02", "MT01", "BK", "SE"]) == []


# --- CF010 shared_buffers ------------------------------------------------------------------
def test_cf010_default_shared_buffers_on_a_16gb_host() -> None:
    f = only(well_run_model(changes={"shared_buffers": "16384"}), "CF010")
    assert f.severity is Severity.MEDIUM
    assert f.action and f.action.sql == ("ALTER SYSTEM SET shared_buffers = '4GB';\n-- then "
                                         "restart PostgreSQL: this setting is read only at "
                                         "server start")
    assert f.evidence["current"] == "128MB" and f.evidence["proposed"] == "4GB"
    assert f.evidence["restart_required"] is True and f.evidence["context"] == "postmaster"


def test_cf010_without_host_memory_says_what_it_assumed_and_stays_low() -> None:
    f = only(well_run_model(host=HostSpec(), changes={"shared_buffers": "16384"}), "CF010")
    assert f.severity is Severity.LOW and "assumed" in f.detail
    assert f.evidence["proposed"] == "1GB" and f.evidence["host_memory_assumed"] is True


def test_cf010_too_large_and_passes_at_a_quarter() -> None:
    f = only(well_run_model(changes={"shared_buffers": str(14 * GB // 8192)}), "CF010")
    assert f.title.startswith("Lower shared_buffers") and f.severity is Severity.HIGH
    assert codes(well_run_model(), ["CF010"]) == []


def test_cf010_small_database_does_not_need_more() -> None:
    tiny = [make_database_age(bytes=50 * 1024**2)]
    model = well_run_model(changes={"shared_buffers": "16384"}, data={"databases": tiny})
    assert codes(model, ["CF010"]) == []


# --- CF011 effective_cache_size --------------------------------------------------------------
def test_cf011_default_effective_cache_size_on_a_64gb_host() -> None:
    host = dataclasses.replace(HOST, memory_bytes=64 * GB)
    f = only(well_run_model(host=host, changes={"effective_cache_size": "524288",
                                            "shared_buffers": str(16 * GB // 8192)}), "CF011")
    assert f.evidence["proposed"] == "48GB" and f.evidence["restart_required"] is False
    assert f.action and f.action.sql and f.action.sql.endswith("SELECT pg_reload_conf();")


def test_cf011_passes_at_three_quarters() -> None:
    assert codes(well_run_model(), ["CF011"]) == []


# --- CF012 work_mem ------------------------------------------------------------------------
def _spills(temp_blocks: int, calls: int = 100, username: str = "report") -> Model:
    st = dataclasses.replace(make_statement(31, "SELECT * FROM orders ORDER BY created_at",
                                            calls=calls),
                             temp_blks_written=temp_blocks, username=username)
    return well_run_model(statements=[st], changes={"work_mem": "4096"})


def test_cf012_spills_fit_the_budget_raise_work_mem_globally() -> None:
    f = only(_spills(temp_blocks=100 * 256), "CF012")  # 2 MB per call, 200 MB in total
    assert f.evidence["proposed"] == "8MB" and f.impact["queryids"] == [31]
    assert f.action and "ALTER SYSTEM SET work_mem = '8MB';" in (f.action.sql or "")


def test_cf012_big_spills_go_to_the_role_only() -> None:
    f = only(_spills(temp_blocks=100 * 64_000), "CF012")  # 500 MB per call
    assert f.action and f.action.sql == "ALTER ROLE report SET work_mem = '1GB';"
    assert "per role" in f.title


def test_cf012_passes_without_spills_or_below_the_threshold() -> None:
    assert codes(_spills(temp_blocks=0), ["CF012"]) == []
    assert codes(_spills(temp_blocks=100), ["CF012"]) == []


# --- CF013 maintenance_work_mem ----------------------------------------------------------------
def test_cf013_default_maintenance_work_mem_on_a_16gb_host() -> None:
    f = only(well_run_model(changes={"maintenance_work_mem": "65536"}), "CF013")
    assert f.severity is Severity.LOW and f.evidence["proposed"] == "1GB"


def test_cf013_passes_on_assumed_memory_with_small_tables() -> None:
    model = well_run_model(host=HostSpec(), changes={"maintenance_work_mem": "65536"},
                       tables=[make_table(rows=1000)])
    assert codes(model, ["CF013"]) == []


# --- CF014 / CF015 SSD costs -------------------------------------------------------------------
def test_cf014_cf015_spinning_disk_costs_on_ssd() -> None:
    model = well_run_model(changes={"random_page_cost": "4", "effective_io_concurrency": "1"})
    assert only(model, "CF014").severity is Severity.MEDIUM
    assert only(model, "CF015").evidence["proposed"] == "200"


def test_cf014_unknown_storage_assumes_ssd_at_low_and_hdd_is_left_alone() -> None:
    unknown = dataclasses.replace(HOST, storage=None)
    f = only(well_run_model(host=unknown, changes={"random_page_cost": "4"}), "CF014")
    assert f.severity is Severity.LOW and "assumed" in f.detail
    hdd = dataclasses.replace(HOST, storage="hdd")
    assert codes(well_run_model(host=hdd, changes={"random_page_cost": "4"}), ["CF014"]) == []


# --- CF016 max_connections -----------------------------------------------------------------------
def test_cf016_max_connections_far_above_use() -> None:
    f = only(well_run_model(changes={"max_connections": "2000"}), "CF016")
    assert f.severity is Severity.MEDIUM and f.evidence["proposed"] == "100"
    assert f.evidence["restart_required"] is True


def test_cf016_passes_when_used() -> None:
    busy = [app_backend(pid) for pid in range(100, 190)]
    assert codes(well_run_model(changes={"max_connections": "300"}, activity=busy), ["CF016"]) == []


# --- CF017 / CF018 / CF019 observability ---------------------------------------------------------
def test_cf017_track_io_timing_off() -> None:
    f = only(well_run_model(changes={"track_io_timing": "off"}), "CF017")
    assert f.action and f.action.sql == ("ALTER SYSTEM SET track_io_timing = 'on';\n"
                                         "SELECT pg_reload_conf();")


def test_cf018_evictions_raise_pg_stat_statements_max() -> None:
    info = [StatementsInfoStats(dealloc=250, stats_reset=None)]
    f = only(well_run_model(changes={"pg_stat_statements__max": "100"},
                        data={"statements_info": info}), "CF018")
    assert f.evidence["proposed"] == "5000" and f.evidence["dealloc"] == 250
    assert f.evidence["restart_required"] is True


def test_cf018_counts_evictions_over_the_window_only() -> None:
    before = well_run_model(data={"statements_info": [StatementsInfoStats(250, None)]}).snapshot
    model = well_run_model(baseline=before,
                           data={"statements_info": [StatementsInfoStats(250, None)]})
    assert codes(model, ["CF018"]) == []


def test_cf019_long_application_statements_are_cut_in_pg_stat_activity() -> None:
    t = make_table("orders")
    long = "SELECT " + ", ".join(f"c{i}" for i in range(1500)) + " FROM orders"

    model = well_run_model(tables=[t], statements=[make_statement(41, long, calls=5)],
                       changes={"track_activity_query_size": "1024"},
                       data={"columns": [make_column(t, f"c{i}", attnum=i + 1)
                                         for i in range(1500)]})
    f = only(model, "CF019")
    assert f.evidence["proposed"] == "16kB" and f.impact["queryids"] == [41]


def test_cf019_ignores_catalog_queries() -> None:
    text = "SELECT " + ", ".join(f"c{i}" for i in range(500)) + " FROM pg_class"
    model = well_run_model(statements=[make_statement(42, text)],
                       changes={"track_activity_query_size": "1024"})
    assert codes(model, ["CF019"]) == []


# --- CF020 jit ------------------------------------------------------------------------------------
def _jit(mean_ms: float, calls: int = 100) -> Model:
    st = dataclasses.replace(make_statement(51, "SELECT 1", calls=calls),
                             total_exec_time=mean_ms * calls, jit_functions=800,
                             jit_generation_time=1500.0, jit_optimization_time=1500.0)
    return well_run_model(statements=[st])


def test_cf020_jit_on_short_statements_turns_it_off() -> None:
    f = only(_jit(40.0), "CF020")
    assert f.evidence["setting"] == "jit" and f.evidence["proposed"] == "off"


def test_cf020_long_statements_raise_the_threshold_instead() -> None:
    assert codes(_jit(2000.0 * 10), ["CF020"]) == []  # compiling is under 10% of the time
    g = only(_jit(600.0, calls=10), "CF020")
    assert g.evidence["setting"] == "jit_above_cost" and g.evidence["proposed"] == "1000000"


# --- CF021 timeouts ------------------------------------------------------------------------------
def test_cf021_idle_in_transaction_proposes_a_role_timeout() -> None:
    stuck = app_backend(6000, state="idle in transaction", state_change_age=900.0)
    f = only(well_run_model(activity=[stuck],
                        data={"database": [with_database(session_time=1000.0,
                                                         idle_in_transaction_time=250.0)]}),
             "CF021")
    assert f.action and f.action.sql == ("ALTER ROLE app SET "
                                         "idle_in_transaction_session_timeout = '5min';")
    assert "25.0%" in f.detail and f.evidence["idle_in_transaction_pids"] == [6000]


def test_cf021_passes_for_short_idle_transactions() -> None:
    brief = app_backend(6000, state="idle in transaction", state_change_age=2.0)
    assert codes(well_run_model(activity=[brief], data={"roles": [make_role("app")]}),
                 ["CF021"]) == []


# --- CF022 slow statement logging -------------------------------------------------------------
def test_cf022_nothing_logs_slow_statements() -> None:
    f = only(well_run_model(changes={"log_min_duration_statement": "-1"}), "CF022")
    assert f.action and "LOAD 'auto_explain';" in (f.action.sql or "")
    assert "ALTER SYSTEM SET session_preload_libraries = 'auto_explain';" in (f.action.sql or "")


def test_cf022_passes_with_auto_explain_loaded() -> None:
    model = well_run_model(changes={"log_min_duration_statement": "-1",
                                "auto_explain__log_min_duration": "500"})
    assert codes(model, ["CF022"]) == []
