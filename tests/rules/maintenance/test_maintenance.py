"""Maintenance rules MT010-MT018 on small models: a pass and a fail case each."""

from __future__ import annotations

from factories import (
    NOW,
    app_backend,
    codes,
    make_column,
    make_database_age,
    make_index,
    make_key_range,
    make_prepared,
    make_slot,
    make_statement,
    make_table,
    well_run_model,
)

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.tables import TableStats


def all_of(model: Model, code: str) -> list[Recommendation]:
    from pgsage.analyzer.engine.advise import advise
    from pgsage.analyzer.engine.config import RulesConfig

    found, notes = advise(model, RulesConfig(select=(code,)))
    assert not notes
    return found


# --- MT010 dead tuples ----------------------------------------------------------------------
def test_mt010_large_table_waits_for_the_default_scale_factor() -> None:
    t = make_table("events", rows=10_000_000, n_live_tup=10_000_000, n_dead_tup=1_900_000,
                   last_autovacuum=NOW - 86_400)
    [f] = all_of(well_run_model(tables=[t]), "MT010")
    assert "wait for 2,000,050 dead tuples" in f.detail
    assert f.action and f.action.sql == (
        'VACUUM (VERBOSE, ANALYZE) public.events;\n'
        'ALTER TABLE public.events SET (autovacuum_vacuum_scale_factor = 0.005, '
        "autovacuum_vacuum_threshold = 1000);")
    assert f.action.undo_sql == ('ALTER TABLE public.events RESET '
                                 "(autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold);")


def test_mt010_autovacuum_disabled_on_the_table_and_a_long_transaction_named() -> None:
    t = make_table("queue", rows=20_000, n_live_tup=20_000, n_dead_tup=80_000,
                   reloptions=("autovacuum_enabled=false",))
    old = app_backend(7000, state="idle in transaction", backend_xmin_age=123_456,
                      xact_start_age=4000.0)
    [f] = all_of(well_run_model(tables=[t], activity=[old]), "MT010")
    assert f.severity is Severity.MEDIUM and "turned off for this table" in f.detail
    assert "backend 7000" in f.detail
    assert f.action and 'RESET (autovacuum_enabled)' in (f.action.sql or "")


def test_mt010_passes_for_few_dead_tuples() -> None:
    t = make_table("events", rows=1_000_000, n_dead_tup=5000)
    assert codes(well_run_model(tables=[t]), ["MT010"]) == []


# --- MT011 statistics ----------------------------------------------------------------------
def test_mt011_never_analyzed_and_stale() -> None:
    never = make_table("fresh", rows=-1, reltuples=-1.0, n_live_tup=50_000, idx_scan=40)
    stale = make_table("busy", rows=2_000_000, n_mod_since_analyze=900_000,
                       last_autoanalyze=NOW - 7 * 86_400, seq_scan=3)
    found = {f.object.table: f for f in all_of(well_run_model(tables=[never, stale]), "MT011")}
    assert found["fresh"].severity is Severity.MEDIUM
    assert found["fresh"].action and found["fresh"].action.sql == 'ANALYZE public.fresh;'
    assert found["busy"].severity is Severity.LOW
    assert "autovacuum_analyze_scale_factor = 0.05" in (found["busy"].action.sql or "")  # type: ignore[union-attr]


def test_mt011_passes_for_analyzed_tables() -> None:
    t = make_table("orders", last_analyze=NOW - 3600, n_mod_since_analyze=10)
    assert codes(well_run_model(tables=[t]), ["MT011"]) == []


def test_mt011_leaves_tables_no_statement_reads() -> None:
    """pgbench_history: insert-only, never scanned, its changes far past autovacuum's
    threshold; no plan reads it, so no statistics are missing."""
    history = make_table("pgbench_history", rows=2_000_000, n_mod_since_analyze=900_000,
                         last_autoanalyze=NOW - 7 * 86_400)
    model = well_run_model(tables=[history], statements=[make_statement(
        1, "INSERT INTO pgbench_history (tid, aid, delta) VALUES ($1, $2, $3)", 900_000)])
    assert codes(model, ["MT011"]) == []


def test_mt011_counts_a_statement_that_reads_the_table() -> None:
    orders = make_table("orders", rows=2_000_000, n_mod_since_analyze=900_000,
                        last_autoanalyze=NOW - 7 * 86_400)
    model = well_run_model(tables=[orders], statements=[make_statement(
        1, "SELECT * FROM orders WHERE customer_id = $1", 50)])
    assert codes(model, ["MT011"]) == ["MT011"]


def test_mt011_trusts_autovacuum_that_analyzed_the_table_moments_ago() -> None:
    """A table loaded fast: autovacuum analyzed it 30 s ago and will again on its next
    round. With autovacuum off for the table, the same changes are stale statistics."""
    def busy(**fields: object) -> TableStats:
        return make_table("ticks", rows=2_000_000, n_mod_since_analyze=900_000, seq_scan=5,
                          last_autoanalyze=NOW - 30, **fields)

    assert codes(well_run_model(tables=[busy()]), ["MT011"]) == []
    off = busy(reloptions=("autovacuum_enabled=false",))
    assert codes(well_run_model(tables=[off]), ["MT011"]) == ["MT011"]


# --- MT012 wraparound ------------------------------------------------------------------------
def test_mt012_warns_at_half_and_is_critical_at_80_percent() -> None:
    here = make_table("ledger", frozenxid_age=1_800_000_000)
    dbs = [make_database_age("shop", xid=1_800_000_000),
           make_database_age("other", xid=1_200_000_000, datid=2),
           make_database_age("fine", xid=200_000_000, datid=3)]
    found = {f.evidence["database"]: f for f in
             all_of(well_run_model(tables=[here], data={"databases": dbs}), "MT012")}
    assert set(found) == {"shop", "other"}
    assert found["shop"].severity is Severity.CRITICAL
    assert found["shop"].action and found["shop"].action.sql == \
        'VACUUM (FREEZE, VERBOSE) public.ledger;'
    assert found["other"].severity is Severity.HIGH
    assert found["other"].action and found["other"].action.shell == \
        "vacuumdb --freeze --jobs=4 --dbname=other"


def test_mt012_multixact_counts_too_and_young_databases_pass() -> None:
    dbs = [make_database_age("shop", mxid=1_500_000_000)]
    [f] = all_of(well_run_model(data={"databases": dbs}), "MT012")
    assert f.evidence["kind"] == "multixact ID"
    assert codes(well_run_model(), ["MT012"]) == []


# --- MT013 key columns near maximum -------------------------------------------------------------
def test_mt013_key_without_sequence_near_int4_max_widens_it_and_its_references() -> None:
    t = make_table("accounts")
    child = make_table("payments")
    fk = Constraint(oid=9, name="payments_account_id_fkey", type="f", relid=child.relid,
                    schema="public", table="payments", columns=("account_id",),
                    ref_relid=t.relid, ref_schema="public", ref_table="accounts",
                    ref_columns=("external_id",), on_update="a", on_delete="a",
                    deferrable=False, validated=True)
    key = make_key_range(t, "external_id", max_value=2_000_000_000, constraint_type="u")
    [f] = all_of(well_run_model(tables=[t, child], constraints=[fk],
                            data={"key_ranges": [key]}), "MT013")
    assert f.severity is Severity.CRITICAL
    assert f.action and f.action.sql == (
        'ALTER TABLE public.accounts ALTER COLUMN external_id TYPE bigint;\n'
        'ALTER TABLE public.payments ALTER COLUMN account_id TYPE bigint;')


def test_mt013_passes_for_sequence_fed_or_young_keys() -> None:
    t = make_table("accounts")
    keys = [make_key_range(t, "id", max_value=2_100_000_000, fed_by_sequence=True),
            make_key_range(t, "code", max_value=1000)]
    assert codes(well_run_model(tables=[t], data={"key_ranges": keys}), ["MT013"]) == []


# --- MT014 / MT015 bloat -----------------------------------------------------------------------
def _bloated(relpages: int, index_bytes: int) -> Model:
    t = make_table("events", rows=1_000_000, reltuples=1_000_000.0, relpages=relpages)
    cols = [make_column(t, "id"), make_column(t, "payload", "text", 2, avg_width=40)]
    ix = make_index(t, "events_id_idx", ("id",), bytes=index_bytes)
    return well_run_model(tables=[t], indexes=[ix], data={"columns": cols})


def test_mt014_table_with_three_times_the_pages_it_needs() -> None:
    # 1M rows of 24 + 48 + 4 bytes: ~107 rows per page, ~9,350 pages needed.
    [f] = all_of(_bloated(relpages=40_000, index_bytes=30 * 1024**2), "MT014")
    assert 0.7 < f.evidence["bloat_ratio"] < 0.8 and f.evidence["estimated"] is True
    assert f.action and f.action.sql == 'VACUUM (FULL, VERBOSE, ANALYZE) public.events;'


def test_mt015_index_with_nine_times_the_pages_it_needs() -> None:
    # 1M entries of 8 + 8 bytes: ~366 per leaf page at fill factor 90, ~22 MB needed.
    [f] = all_of(_bloated(relpages=9_400, index_bytes=200 * 1024**2), "MT015")
    assert f.action and f.action.sql == 'REINDEX INDEX CONCURRENTLY public.events_id_idx;'


def test_mt014_mt015_pass_for_compact_relations_and_missing_statistics() -> None:
    assert codes(_bloated(relpages=9_400, index_bytes=25 * 1024**2), ["MT014", "MT015"]) == []
    t = make_table("events", rows=1_000_000, relpages=40_000)
    cols = [make_column(t, "id", avg_width=None, null_frac=None)]
    assert codes(well_run_model(tables=[t], data={"columns": cols}), ["MT014"]) == []


# --- MT016 long transactions ---------------------------------------------------------------------
def test_mt016_long_transaction_gives_the_pid_to_terminate() -> None:
    old = app_backend(7100, state="idle in transaction", xact_start_age=5400.0,
                      backend_xmin_age=2_000_000)
    [f] = all_of(well_run_model(activity=[old, app_backend(7101)]), "MT016")
    assert f.severity is Severity.HIGH and f.evidence["pid"] == 7100
    assert f.action and f.action.sql == "SELECT pg_terminate_backend(7100);"


def test_mt016_passes_for_short_transactions_and_autovacuum() -> None:
    short = app_backend(7200, state="active", xact_start_age=3.0, backend_xmin_age=10)
    worker = app_backend(7201, backend_type="autovacuum worker", xact_start_age=9000.0)
    assert codes(well_run_model(activity=[short, worker]), ["MT016"]) == []


# --- MT017 inactive slots -----------------------------------------------------------------------
def test_mt017_inactive_slot_is_dropped_by_name() -> None:
    slot = make_slot("old's standby", active=False, active_pid=None,
                     retained_bytes=5 * 1024**3, wal_status="extended")
    [f] = all_of(well_run_model(data={"replication_slots": [slot]}), "MT017")
    assert f.severity is Severity.HIGH
    assert f.action and f.action.sql == "SELECT pg_drop_replication_slot('old''s standby');"


def test_mt017_small_inactive_slot_is_medium_and_active_ones_pass() -> None:
    slot = make_slot("x", active=False, active_pid=None, retained_bytes=16 * 1024**2)
    [f] = all_of(well_run_model(data={"replication_slots": [slot]}), "MT017")
    assert f.severity is Severity.MEDIUM
    assert codes(well_run_model(), ["MT017"]) == []


# --- MT018 prepared transactions -----------------------------------------------------------------
def test_mt018_prepared_transaction_left_behind() -> None:
    [f] = all_of(well_run_model(data={"prepared_xacts": [make_prepared("tx'1", 7200.0)]}), "MT018")
    assert f.severity is Severity.HIGH
    assert f.action and f.action.sql == ('-- connected to database shop as app:\n'
                                         "ROLLBACK PREPARED 'tx''1';")


def test_mt018_passes_for_a_transaction_being_prepared_now() -> None:
    assert codes(well_run_model(data={"prepared_xacts": [make_prepared(age=2.0)]}), ["MT018"]) == []
