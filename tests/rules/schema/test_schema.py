"""Schema design rules (SD) on small models: a pass and a fail case each, no database."""

from __future__ import annotations

from factories import (
    NOW,
    codes,
    make_column,
    make_fk,
    make_index,
    make_key_range,
    make_pkey,
    make_sequence,
    make_statement,
    make_table,
    well_run_model,
    well_run_snapshot,
)

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate, IndexChoice, IndexKey, IndexPlan
from pgsage.analyzer.model.workload import TableRef
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.tables import TableStats


def pk(table: TableStats, columns: tuple[str, ...] = ("id",)) -> Constraint:
    return Constraint(oid=1, name=f"{table.name}_pkey", type="p", relid=table.relid,
                      schema=table.schema, table=table.name, columns=columns, ref_relid=None,
                      ref_schema=None, ref_table=None, ref_columns=None, on_update=None,
                      on_delete=None, deferrable=False, validated=True)


def findings(model: Model, code: str) -> list[Recommendation]:
    from pgsage.analyzer.engine.advise import advise
    from pgsage.analyzer.engine.config import RulesConfig

    found, notes = advise(model, RulesConfig(select=(code,)))
    assert not notes
    return found


# --- SD001 no primary key ---------------------------------------------------------------
def test_sd001_table_without_primary_key_is_reported_with_an_identity_column() -> None:
    t = make_table("events", rows=50_000)
    cols = [make_column(t, "user_id"), make_column(t, "kind", "text", 2)]
    [f] = findings(well_run_model(tables=[t], data={"columns": cols}), "SD001")
    assert f.severity is Severity.MEDIUM and f.object.table == "events"
    assert f.action and 'ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY' in f.action.sql


def test_sd001_promotes_a_unique_index_on_not_null_columns() -> None:
    t = make_table("Events Log", rows=100)
    ix = make_index(t, "events_uq", ("code",), is_unique=True)
    [f] = findings(well_run_model(tables=[t], indexes=[ix],
                              data={"columns": [make_column(t, "code", "text")]}), "SD001")
    assert f.severity is Severity.LOW
    assert f.action and f.action.sql == ('ALTER TABLE public."Events Log" ADD CONSTRAINT '
                                         '"Events Log_pkey" PRIMARY KEY USING INDEX events_uq;')


def test_sd001_partitioned_table_key_includes_the_partition_key() -> None:
    parent = make_table("m", rows=0, relkind="p", partition_key="RANGE (created_at)")
    part = make_table("m_2026", rows=20_000, is_partition=True, parent_relid=parent.relid)
    cols = [make_column(parent, "id"), make_column(parent, "created_at", "timestamptz", 2)]
    [f] = findings(well_run_model(tables=[parent, part], data={"columns": cols}), "SD001")
    assert f.object.table == "m" and f.action
    assert 'PRIMARY KEY (id, created_at)' in (f.action.sql or "")


def test_sd001_passes_with_a_primary_key() -> None:
    t = make_table("orders")
    assert codes(well_run_model(tables=[t], constraints=[pk(t)]), ["SD001"]) == []


# --- SD002 money in floating point --------------------------------------------------------
def test_sd002_money_columns_in_double_precision() -> None:
    t = make_table("orders")
    cols = [make_column(t, "id"), make_column(t, "total_amount", "double precision", 2),
            make_column(t, "unitPrice", "real", 3), make_column(t, "weight", "real", 4)]
    [f] = findings(well_run_model(tables=[t], constraints=[pk(t)], data={"columns": cols}),
                   "SD002")
    assert f.object.columns == ("total_amount", "unitPrice")
    assert f.action and f.action.sql == (
        'ALTER TABLE public.orders ALTER COLUMN total_amount TYPE numeric(19,4), '
        'ALTER COLUMN "unitPrice" TYPE numeric(19,4);')


def test_sd002_passes_with_numeric_money() -> None:
    t = make_table("orders")
    cols = [make_column(t, "total", "numeric(12,2)"), make_column(t, "ratio", "double precision")]
    assert codes(well_run_model(tables=[t], data={"columns": cols}), ["SD002"]) == []


# --- SD003 timestamp without time zone ------------------------------------------------------
def test_sd003_timestamp_without_time_zone_converts_without_rewrite_as_utc() -> None:
    t = make_table("orders")
    cols = [make_column(t, "created_at", "timestamp(3) without time zone"),
            make_column(t, "local_opening", "timestamp without time zone", 2)]
    [f] = findings(well_run_model(tables=[t], data={"columns": cols}), "SD003")
    assert f.severity is Severity.LOW and f.object.columns == ("created_at",)
    assert f.action and f.action.sql == (
        "SET TimeZone = 'UTC';  -- existing values are read as UTC\n"
        'ALTER TABLE public.orders ALTER COLUMN created_at '
        "TYPE timestamp(3) with time zone;")


def test_sd003_passes_with_timestamptz() -> None:
    t = make_table("orders")
    cols = [make_column(t, "created_at", "timestamp with time zone")]
    assert codes(well_run_model(tables=[t], data={"columns": cols}), ["SD003"]) == []


# --- SD004 int4 keys -------------------------------------------------------------------------
def _int4(rows: float, last: int, inserts: int = 0, earlier: int | None = None,
          **seq: object) -> Model:
    """`earlier`: the sequence's last value in a baseline snapshot an hour before."""
    t = make_table("orders", rows=rows, n_tup_ins=inserts)
    columns = {"columns": [make_column(t, "id", "integer")]}
    baseline = None
    if earlier is not None:
        baseline = well_run_snapshot(taken_at=NOW - 3600, tables=[t], constraints=[pk(t)],
                                 sequences=[make_sequence(last_value=earlier, **seq)],
                                 data=columns)
    return well_run_model(tables=[t], constraints=[pk(t)], baseline=baseline,
                      sequences=[make_sequence(last_value=last, **seq)], data=columns)


def test_sd004_fast_growing_int4_key_gives_the_time_left() -> None:
    # The sequence advanced 1.8M values in an hour (500/s): ~22 days left of int4.
    model = _int4(rows=1e6, last=1_200_000_000, earlier=1_198_200_000)
    [f] = findings(model, "SD004")
    assert f.evidence["position_source"].startswith("sequence")
    assert 0 < f.evidence["days_left"] < 3 * 365
    assert f.evidence["values_per_second"] == 500.0
    assert f.action and 'ALTER COLUMN id TYPE bigint' in (f.action.sql or "")
    assert 'ALTER SEQUENCE public.orders_id_seq AS bigint;' in (f.action.sql or "")


def test_sd004_large_int4_table_is_reported_whatever_the_rate() -> None:
    assert codes(_int4(rows=2e8, last=200_000_000), ["SD004"]) == ["SD004"]


def test_sd004_leaves_a_sequence_near_its_end_to_mt001() -> None:
    model = _int4(rows=2e8, last=1_900_000_000, inserts=10)
    assert codes(model, ["SD004"]) == []
    assert codes(model, ["MT001"]) == ["MT001"]


def test_sd004_leaves_a_key_without_sequence_near_its_end_to_mt013() -> None:
    t = make_table("orders", rows=2e8)
    model = well_run_model(tables=[t], constraints=[pk(t)],
                       data={"columns": [make_column(t, "id", "integer")],
                             "key_ranges": [make_key_range(t, max_value=2_000_000_000)]})
    assert codes(model, ["SD004", "MT013"]) == ["MT013"]


def test_sd004_projects_nothing_from_inserts_alone() -> None:
    # Bulk loads with explicit ids, delete-and-reinsert: inserts without key use.
    assert codes(_int4(rows=1e6, last=1_200_000_000, inserts=1_200_000_000), ["SD004"]) == []


def test_sd004_is_quiet_when_the_sequence_did_not_move() -> None:
    model = _int4(rows=1e6, last=1_200_000_000, inserts=5_000_000, earlier=1_200_000_000)
    assert codes(model, ["SD004"]) == []


def test_sd004_passes_for_small_slow_tables_and_bigint() -> None:
    assert codes(_int4(rows=1e5, last=100_000, inserts=100_000), ["SD004"]) == []
    t = make_table("orders", rows=2e8)
    model = well_run_model(tables=[t], constraints=[pk(t)],
                       data={"columns": [make_column(t, "id", "bigint")]})
    assert codes(model, ["SD004"]) == []


# --- SD005 random UUID keys ------------------------------------------------------------------
def _uuid(correlation: float | None, version: int = 180000) -> Model:
    t = make_table("events", rows=5e6, n_tup_ins=5e7)
    return well_run_model(tables=[t], constraints=[pk(t)], indexes=[make_pkey(t)], version=version,
                      data={"columns": [make_column(t, "id", "uuid", correlation=correlation)]})


def test_sd005_random_uuid_key_on_18_proposes_uuidv7() -> None:
    [f] = findings(_uuid(0.01), "SD005")
    assert f.action and f.action.sql == ('ALTER TABLE public.events ALTER COLUMN id '
                                         "SET DEFAULT uuidv7();")
    assert f.evidence["correlation"] == 0.01


def test_sd005_before_18_says_to_generate_v7_in_the_application() -> None:
    t = make_table("events", rows=5e6, n_tup_ins=5e7)
    model = well_run_model(tables=[t], constraints=[pk(t)], version=160000,
                       data={"columns": [make_column(t, "id", "uuid", correlation=0.0)]})
    [f] = findings(model, "SD005")
    assert f.action is None and "application" in f.detail


def test_sd005_passes_for_time_ordered_or_unknown_keys() -> None:
    assert codes(_uuid(0.98), ["SD005"]) == []
    assert codes(_uuid(None), ["SD005"]) == []


# --- SD006 soft delete without partial index ----------------------------------------------------
def _soft(indexes: int = 0) -> Model:
    t = make_table("orders", rows=100_000)
    cols = [make_column(t, "id"), make_column(t, "user_id", attnum=2),
            make_column(t, "deleted_at", "timestamp with time zone", 3, not_null=False,
                        null_frac=0.3)]
    ix = [make_index(t, "orders_live_idx", ("user_id",), predicate="(deleted_at IS NULL)")]
    return well_run_model(
        tables=[t], constraints=[pk(t)], indexes=[*ix[:indexes], make_pkey(t)],
        statements=[make_statement(11, "SELECT * FROM orders WHERE user_id = $1 AND "
                                       "deleted_at IS NULL", calls=500)],
        data={"columns": cols})


def advised(model: Model, *candidates: Candidate) -> Model:
    """The model with an index plan that chooses exactly `candidates` (none: IX001 proposes
    nothing)."""
    model.index_plan = IndexPlan(method="estimate", choices=[
        IndexChoice(candidate=c, name=c.name(), size_bytes=8192, effects=[], benefit=1.0,
                    write_overhead=0.0, rows_written=0.0, hot_updates_lost=0.0)
        for c in candidates])
    return model


def test_sd006_soft_delete_filter_gets_a_partial_index() -> None:
    [f] = findings(advised(_soft()), "SD006")
    assert f.action and f.action.sql == (
        'CREATE INDEX CONCURRENTLY orders_user_id_live_idx ON public.orders '
        '(user_id) WHERE deleted_at IS NULL;')
    assert f.impact["queryids"] == [11] and f.evidence["live_fraction"] == 0.3


def test_sd006_passes_when_a_partial_index_exists() -> None:
    assert codes(advised(_soft(indexes=1)), ["SD006"]) == []


def test_sd006_defers_to_the_index_advisor() -> None:
    model = _soft()
    [t] = model.tables.values()
    proposed = Candidate(TableRef(t.relid, t.schema, t.name), (IndexKey("user_id"),),
                         predicate="deleted_at IS NULL", origin="partial")
    assert codes(advised(model, proposed), ["SD006"]) == []


# --- SD007 jsonb without index -------------------------------------------------------------
def _jsonb(query: str, opclass: str | None = None) -> Model:
    t = make_table("events", rows=100_000)
    cols = [make_column(t, "id"), make_column(t, "payload", "jsonb", 2)]
    indexes = [make_index(t, "events_payload_gin", ("payload",), method="gin",
                          opclasses=(opclass,))] if opclass else []
    return advised(well_run_model(tables=[t], constraints=[pk(t)], indexes=indexes,
                              statements=[make_statement(21, query, calls=300)],
                              data={"columns": cols}))


def test_sd007_containment_gets_gin_jsonb_path_ops() -> None:
    [f] = findings(_jsonb("SELECT id FROM events WHERE payload @> $1"), "SD007")
    assert f.action and f.action.sql == ('CREATE INDEX CONCURRENTLY events_payload_gin_idx '
                                         'ON public.events USING gin (payload '
                                         'jsonb_path_ops);')


def test_sd007_key_value_gets_an_expression_index() -> None:
    [f] = findings(_jsonb("SELECT id FROM events WHERE payload->>'kind' = $1"), "SD007")
    assert f.action and f.action.sql == ('CREATE INDEX CONCURRENTLY events_payload_expr_idx '
                                         "ON public.events ((payload ->> 'kind'));")


def test_sd007_passes_with_a_gin_index_but_not_path_ops_for_existence() -> None:
    contains = "SELECT id FROM events WHERE payload @> $1"
    assert codes(_jsonb(contains, "jsonb_path_ops"), ["SD007"]) == []
    exists = "SELECT id FROM events WHERE payload ? $1"
    assert codes(_jsonb(exists, "jsonb_ops"), ["SD007"]) == []
    [f] = findings(_jsonb(exists, "jsonb_path_ops"), "SD007")  # path_ops cannot serve `?`
    assert f.action and 'USING gin (payload);' in (f.action.sql or "")


# --- SD008 *_id without foreign key -------------------------------------------------------
def test_sd008_id_column_matching_a_table_gets_a_not_valid_foreign_key() -> None:
    customers = make_table("customers")
    orders = make_table("orders")
    cols = [make_column(customers, "id"), make_column(orders, "id"),
            make_column(orders, "customer_id", "integer", 2)]
    model = well_run_model(tables=[customers, orders], constraints=[pk(customers), pk(orders)],
                       data={"columns": cols})
    [f] = findings(model, "SD008")
    assert f.severity is Severity.INFO
    assert f.action and f.action.sql == (
        'ALTER TABLE public.orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY '
        '(customer_id) REFERENCES public.customers (id) NOT VALID;\n'
        'ALTER TABLE public.orders VALIDATE CONSTRAINT orders_customer_id_fkey;\n'
        'CREATE INDEX CONCURRENTLY orders_customer_id_idx ON public.orders '
        '(customer_id);')


def test_sd008_passes_with_a_foreign_key_or_no_matching_table() -> None:
    customers = make_table("customers")
    orders = make_table("orders")
    cols = [make_column(customers, "id"), make_column(orders, "customer_id", attnum=2),
            make_column(orders, "stripe_id", "text", 3)]
    fk = make_fk(orders, ("customer_id",), customers)
    model = well_run_model(tables=[customers, orders], constraints=[pk(customers), fk],
                       data={"columns": cols})
    assert codes(model, ["SD008"]) == []


# --- SD009 nullable foreign key ---------------------------------------------------------------
def test_sd009_fk_column_without_nulls_gets_not_null_without_a_long_lock() -> None:
    customers = make_table("customers")
    orders = make_table("orders", rows=5000)
    cols = [make_column(orders, "customer_id", not_null=False, null_frac=0.0)]
    model = well_run_model(tables=[customers, orders],
                       constraints=[make_fk(orders, ("customer_id",), customers)],
                       data={"columns": cols})
    [f] = findings(model, "SD009")
    assert f.action and f.action.sql and f.action.sql.splitlines() == [
        'ALTER TABLE public.orders ADD CONSTRAINT orders_customer_id_not_null '
        'CHECK (customer_id IS NOT NULL) NOT VALID;',
        'ALTER TABLE public.orders VALIDATE CONSTRAINT orders_customer_id_not_null;',
        'ALTER TABLE public.orders ALTER COLUMN customer_id SET NOT NULL;',
        'ALTER TABLE public.orders DROP CONSTRAINT orders_customer_id_not_null;']


def test_sd009_passes_for_optional_references() -> None:
    customers = make_table("customers")
    orders = make_table("orders", rows=5000)
    cols = [make_column(orders, "customer_id", not_null=False, null_frac=0.2)]
    model = well_run_model(tables=[customers, orders],
                       constraints=[make_fk(orders, ("customer_id",), customers)],
                       data={"columns": cols})
    assert codes(model, ["SD009"]) == []


# --- SD010 wide varchar everywhere -------------------------------------------------------------
def test_sd010_varchar_255_everywhere_is_information() -> None:
    tables = [make_table(f"t{i}") for i in range(4)]
    cols = [make_column(t, f"c{j}", "character varying(255)", j) for t in tables
            for j in range(3)]
    [f] = findings(well_run_model(tables=tables, data={"columns": cols}), "SD010")
    assert f.severity is Severity.INFO and f.evidence["wide_varchar_columns"] == 12
    assert f.action and 'ALTER COLUMN c0 TYPE text' in (f.action.sql or "")


def test_sd010_passes_for_a_few_bounded_columns() -> None:
    t = make_table("users")
    cols = [make_column(t, "email", "character varying(320)"),
            make_column(t, "name", "text", 2), make_column(t, "bio", "text", 3)]
    assert codes(well_run_model(tables=[t], data={"columns": cols}), ["SD010"]) == []
