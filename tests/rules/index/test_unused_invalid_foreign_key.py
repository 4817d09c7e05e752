"""Index rules IX004, IX005, IX006 on hand-built snapshots: no database.

Cases are data, as sqlfluff keeps them: each names a situation, builds its model and says
which severity the rule must report (None: no finding). One behaviour per test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pglast
import pytest
from factories import (
    DAY,
    NOW,
    make_backend,
    make_fk,
    make_index,
    make_model,
    make_pkey,
    make_snapshot,
    make_statement,
    make_table,
)

from pgsage.analyzer.engine.pipeline import estimate_indexes
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.analyzer.sqlgen import MAX_IDENTIFIER_BYTES, index_name
from pgsage.analyzer.units import MB
from pgsage.collectors.tables import TableStats
from pgsage.rules import REGISTRY


@dataclass(frozen=True)
class Case:
    id: str
    model: Callable[[], Model]
    expect: Severity | None


def findings(code: str, model: Model, **options: Any) -> list[Recommendation]:
    rule = REGISTRY[code]
    return list(rule.check(model, rule.Options(**options)))


def only(code: str, model: Model, **options: Any) -> Recommendation:
    found = findings(code, model, **options)
    assert len(found) == 1, [f.title for f in found]
    return found[0]


def run_case(code: str, case: Case) -> None:
    found = findings(code, case.model())
    if case.expect is None:
        assert found == [], [f.title for f in found]
    else:
        assert [f.severity for f in found] == [case.expect]


def statements(sql: str) -> list[str]:
    """Each statement of an action, as pglast parses it (fails on anything not SQL)."""
    return [s.stmt.__class__.__name__ for s in pglast.parse_sql(sql)]


# --- IX004 index.unused --------------------------------------------------------------------

ORDERS = make_table("orders", rows=1_000_000)


def unused_model(index: dict[str, Any] | None = None, table: TableStats = ORDERS,
                 **snapshot: Any) -> Model:
    ix = make_index(table, "orders_note_idx", ("note",), **{"bytes": 50 * MB, **(index or {})})
    return make_model(tables=[table], indexes=[ix], **snapshot)


def partition_models() -> Model:
    parent = make_table("events", relkind="p", rows=0)
    part = make_table("events_2026", is_partition=True, parent_relid=parent.relid)
    return make_model(tables=[parent, part],
                      indexes=[make_index(parent, "events_kind_idx", ("kind",), idx_scan=None),
                               make_index(part, "events_2026_kind_idx", ("kind",),
                                          bytes=50 * MB)])


def baseline_without(what: str) -> Model:
    old = make_snapshot(tables=[ORDERS] if what == "index" else [], taken_at=NOW - 20 * DAY)
    ix = make_index(ORDERS, "orders_note_idx", ("note",), bytes=50 * MB)
    return make_model(baseline=old, tables=[ORDERS], indexes=[ix])


def baseline_with_scans(before: int, after: int, days: float = 20.0) -> Model:
    def snap(scans: int, at: float) -> Any:
        ix = make_index(ORDERS, "orders_note_idx", ("note",), bytes=50 * MB, idx_scan=scans,
                        indexrelid=777)
        return make_snapshot(tables=[ORDERS], indexes=[ix], taken_at=at)

    return estimate_indexes(Model(snap(after, NOW), snap(before, NOW - days * DAY)))


UNUSED_CASES = [
    Case("pass-primary-key", lambda: unused_model(
        {"is_primary": True, "is_unique": True, "constraint_type": "p"}), None),
    Case("pass-unique", lambda: unused_model({"is_unique": True}), None),
    Case("pass-backs-constraint", lambda: unused_model({"constraint_type": "u"}), None),
    Case("pass-exclusion", lambda: unused_model({"is_exclusion": True}), None),
    Case("pass-replica-identity", lambda: unused_model({"is_replica_identity": True}), None),
    Case("pass-referenced-by-fk", lambda: unused_model({"referenced_by_fk": True}), None),
    Case("pass-invalid", lambda: unused_model({"is_valid": False}), None),
    Case("pass-used", lambda: unused_model({"idx_scan": 5}), None),
    Case("pass-no-statistics", lambda: unused_model({"idx_scan": None}), None),
    Case("pass-small", lambda: unused_model({"bytes": 64 * 1024}), None),
    Case("pass-window-too-short", lambda: unused_model(uptime_days=2), None),
    Case("pass-stats-reset-recently", lambda: unused_model(stats_reset=NOW - 3 * DAY), None),
    Case("pass-last-scan-recent",
         lambda: unused_model({"idx_scan": 9, "last_idx_scan": NOW - DAY}), None),
    Case("pass-attached-partition-index", partition_models, None),
    Case("pass-index-younger-than-baseline", lambda: baseline_without("index"), None),
    Case("pass-table-younger-than-baseline", lambda: baseline_without("table"), None),
    Case("pass-scanned-between-snapshots", lambda: baseline_with_scans(3, 4), None),
    Case("fail-never-scanned", lambda: unused_model(), Severity.LOW),
    Case("fail-large", lambda: unused_model({"bytes": 2 * 1024**3}), Severity.MEDIUM),
    Case("fail-last-scan-old",
         lambda: unused_model({"idx_scan": 9, "last_idx_scan": NOW - 40 * DAY}),
         Severity.LOW),
    Case("fail-idle-between-snapshots", lambda: baseline_with_scans(4, 4), Severity.LOW),
    Case("fail-on-standby-is-info", lambda: unused_model(in_recovery=True), Severity.INFO),
]


@pytest.mark.parametrize("case", UNUSED_CASES, ids=lambda c: c.id)
def test_unused_index_cases(case: Case) -> None:
    run_case("IX004", case)


def test_unused_index_states_the_window_length() -> None:
    found = only("IX004", unused_model(uptime_days=30))
    assert "30 days" in found.detail and "30 days" in found.title


def test_unused_index_last_scan_is_named() -> None:
    found = only("IX004", unused_model({"idx_scan": 9, "last_idx_scan": NOW - 40 * DAY}))
    assert "last scanned 40 days ago" in found.detail


def test_unused_index_between_snapshots_uses_the_window() -> None:
    found = only("IX004", baseline_with_scans(4, 4, days=20))
    assert "between two snapshots" in found.detail


def test_unused_index_warns_about_standbys() -> None:
    found = only("IX004", unused_model(data={"replication": [object(), object()]}))
    assert "2 standby(s) are connected" in found.detail


def test_unused_index_min_window_option() -> None:
    assert findings("IX004", unused_model(uptime_days=30), min_window_days=35.0) == []


def test_unused_index_action_drops_and_undo_recreates_concurrently() -> None:
    found = only("IX004", unused_model())
    assert found.action is not None
    assert found.action.sql == 'DROP INDEX CONCURRENTLY IF EXISTS public.orders_note_idx;'
    assert found.action.undo_sql == ('CREATE INDEX CONCURRENTLY orders_note_idx ON '
                                     'public.orders USING btree (note);')


def test_unused_index_object_and_evidence() -> None:
    found = only("IX004", unused_model())
    assert (found.object.schema, found.object.table, found.object.index) == (
        "public", "orders", "orders_note_idx")
    assert found.evidence["idx_scan"] == 0 and found.benefit == 50 * MB


# --- IX005 index.invalid -------------------------------------------------------------------


def invalid_model(name: str = "orders_status_idx", original: bool = False,
                  table: TableStats = ORDERS, **fields: Any) -> Model:
    ix = make_index(table, name, ("status",), is_valid=False, **fields)
    indexes = [ix]
    if original:
        indexes.append(make_index(table, name.removesuffix("_ccnew"), ("status",)))
    return make_model(tables=[table], indexes=indexes)


def building_model() -> Model:
    ix = make_index(ORDERS, "orders_status_idx", ("status",), is_valid=False)
    text = "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status)"
    return make_model(tables=[ORDERS], indexes=[ix],
                      statements=[make_statement(99, text)],
                      activity=[make_backend(query_id=99)])


INVALID_CASES = [
    Case("pass-valid", lambda: make_model(tables=[ORDERS], indexes=[make_index(ORDERS)]), None),
    Case("fail-invalid", invalid_model, Severity.HIGH),
    Case("fail-invalid-unique", lambda: invalid_model(is_unique=True), Severity.HIGH),
    Case("fail-reindex-leftover", lambda: invalid_model("orders_status_idx_ccnew", True),
         Severity.HIGH),
    Case("fail-partitioned", lambda: invalid_model(
        table=make_table("events", relkind="p", rows=0)), Severity.MEDIUM),
    Case("fail-being-built-is-info", building_model, Severity.INFO),
]


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda c: c.id)
def test_invalid_index_cases(case: Case) -> None:
    run_case("IX005", case)


def test_invalid_index_is_dropped_then_rebuilt_concurrently() -> None:
    found = only("IX005", invalid_model())
    assert found.action is not None and found.action.sql is not None
    assert found.action.sql.splitlines() == [
        'DROP INDEX CONCURRENTLY IF EXISTS public.orders_status_idx;',
        'CREATE INDEX CONCURRENTLY orders_status_idx ON public.orders USING btree '
        '(status);',
    ]


def test_invalid_unique_index_explains_duplicates() -> None:
    found = only("IX005", invalid_model(is_unique=True))
    assert 'SELECT status, count(*) FROM public.orders GROUP BY status HAVING' \
        in found.detail


def test_reindex_leftover_is_only_dropped() -> None:
    found = only("IX005", invalid_model("orders_status_idx_ccnew", original=True))
    assert found.action is not None
    assert found.action.sql == ('DROP INDEX CONCURRENTLY IF EXISTS '
                                'public.orders_status_idx_ccnew;')


def test_reindex_leftover_without_original_is_rebuilt() -> None:
    found = only("IX005", invalid_model("orders_status_idx_ccnew", original=False))
    assert found.action is not None and found.action.sql is not None
    assert len(found.action.sql.splitlines()) == 2


def test_invalid_index_not_ready_says_it_is_not_maintained() -> None:
    found = only("IX005", invalid_model(is_ready=False))
    assert "not even maintained" in found.detail


def test_partitioned_invalid_index_has_no_drop() -> None:
    found = only("IX005", invalid_model(table=make_table("events", relkind="p", rows=0)))
    assert found.action is None and "ATTACH PARTITION" in found.detail


# --- IX006 index.foreign_key_unindexed -----------------------------------------------------

CUSTOMERS = make_table("customers", rows=50_000)


def fk_model(indexes: tuple[tuple[tuple[str | None, ...], dict[str, Any]], ...] = (),
             columns: tuple[str, ...] = ("customer_id",), child_rows: float = 1_000_000,
             parent: dict[str, Any] | None = None, child: dict[str, Any] | None = None
             ) -> Model:
    customers = make_table("customers", rows=50_000, **(parent or {}))
    orders = make_table("orders", rows=child_rows, **(child or {}))
    ixs = [make_pkey(customers), make_pkey(orders)]
    ixs += [make_index(orders, None, cols, **fields) for cols, fields in indexes]
    return make_model(tables=[customers, orders], indexes=ixs,
                      constraints=[make_fk(orders, columns, customers,
                                           tuple("id" for _ in columns))])


def two_fks_same_columns() -> Model:
    customers, accounts = make_table("customers"), make_table("accounts")
    orders = make_table("orders", rows=1_000_000)
    return make_model(tables=[customers, accounts, orders],
                      constraints=[make_fk(orders, ("customer_id",), customers, name="a_fkey"),
                                   make_fk(orders, ("customer_id",), accounts, name="b_fkey")])


def partitioned_fk_model() -> Model:
    customers = make_table("customers")
    events = make_table("events", relkind="p", rows=-1, table_bytes=None)
    parts = [make_table(f"events_2026_0{i}", rows=500_000, is_partition=True,
                        parent_relid=events.relid) for i in (1, 2)]
    fks = [make_fk(events, ("customer_id",), customers, name="events_customer_id_fkey")]
    fks += [make_fk(p, ("customer_id",), customers, name="events_customer_id_fkey")
            for p in parts]
    return make_model(tables=[customers, events, *parts], constraints=fks)


FK_CASES = [
    Case("pass-indexed", lambda: fk_model(((("customer_id",), {}),)), None),
    Case("pass-leading-prefix-any-order",
         lambda: fk_model(((("b", "a", "c"), {}),), columns=("a", "b")), None),
    Case("pass-hash-single-column",
         lambda: fk_model(((("customer_id",), {"method": "hash"}),)), None),
    Case("pass-unique-index", lambda: fk_model(((("customer_id",), {"is_unique": True}),)),
         None),
    Case("pass-tiny-child", lambda: fk_model(child_rows=10), None),
    Case("fail-not-leading", lambda: fk_model(((("created_at", "customer_id"), {}),)),
         Severity.MEDIUM),
    Case("fail-partial-index",
         lambda: fk_model(((("customer_id",), {"predicate": "(status = 'x')"}),)),
         Severity.MEDIUM),
    Case("fail-invalid-index", lambda: fk_model(((("customer_id",), {"is_valid": False}),)),
         Severity.MEDIUM),
    Case("fail-gin-index", lambda: fk_model(((("customer_id",), {"method": "gin"}),)),
         Severity.MEDIUM),
    Case("fail-prefix-too-short", lambda: fk_model(((("a",), {}),), columns=("a", "b")),
         Severity.MEDIUM),
    Case("fail-large-parent-deletes", lambda: fk_model(parent={"n_tup_del": 40}),
         Severity.HIGH),
    Case("fail-large-child-seq-scans", lambda: fk_model(child={"seq_scan": 12}),
         Severity.HIGH),
    Case("fail-large-child-few-seq-scans", lambda: fk_model(child={"seq_scan": 2}),
         Severity.MEDIUM),
    Case("fail-large-no-evidence", lambda: fk_model(), Severity.MEDIUM),
    Case("fail-small-parent-deletes",
         lambda: fk_model(child_rows=5000, parent={"n_tup_del": 3}), Severity.MEDIUM),
    Case("fail-small-no-evidence", lambda: fk_model(child_rows=5000), Severity.LOW),
    Case("fail-two-keys-one-finding", two_fks_same_columns, Severity.MEDIUM),
    Case("fail-partitioned-judged-once", partitioned_fk_model, Severity.MEDIUM),
]


@pytest.mark.parametrize("case", FK_CASES, ids=lambda c: c.id)
def test_foreign_key_cases(case: Case) -> None:
    run_case("IX006", case)


def test_foreign_key_action_creates_concurrently_and_undo_drops() -> None:
    found = only("IX006", fk_model())
    assert found.action is not None
    assert found.action.sql == ('CREATE INDEX CONCURRENTLY orders_customer_id_idx ON '
                                'public.orders USING btree (customer_id);')
    assert found.action.undo_sql == ('DROP INDEX CONCURRENTLY IF EXISTS '
                                     'public.orders_customer_id_idx;')


def test_foreign_key_index_keeps_key_column_order() -> None:
    found = only("IX006", fk_model(columns=("b", "a")))
    assert found.action is not None and found.action.sql is not None
    assert '(b, a)' in found.action.sql and found.object.columns == ("b", "a")


def test_foreign_key_name_collision_gets_a_suffix() -> None:
    orders = make_table("orders", rows=1_000_000)
    customers = make_table("customers")
    taken = make_index(customers, "orders_customer_id_idx", ("x",))  # same schema, other table
    model = make_model(tables=[orders, customers], indexes=[taken],
                       constraints=[make_fk(orders, ("customer_id",), customers)])
    found = only("IX006", model)
    assert found.action is not None and 'orders_customer_id_idx1' in (found.action.sql or "")


def test_foreign_key_detail_states_counts_and_window() -> None:
    found = only("IX006", fk_model(parent={"n_tup_del": 40}, child={"seq_scan": 12}))
    assert "40 deletes" in found.detail and "12 sequential scans" in found.detail
    assert "since this database's statistics were last reset" in found.detail
    assert found.evidence["parent_deletes"] == 40 and found.evidence["child_seq_scan"] == 12


def test_foreign_key_min_rows_option() -> None:
    assert findings("IX006", fk_model(child_rows=5000), min_rows=10_000) == []


def test_foreign_key_two_constraints_are_named_together() -> None:
    found = only("IX006", two_fks_same_columns())
    assert found.evidence["constraints"] == ["a_fkey", "b_fkey"]


def test_foreign_key_on_partitioned_table_attaches_partition_indexes() -> None:
    model = partitioned_fk_model()
    found = only("IX006", model)
    assert found.action is not None and found.action.sql is not None
    assert found.action.sql.splitlines() == [
        'CREATE INDEX events_customer_id_idx ON ONLY public.events USING btree '
        '(customer_id);',
        'CREATE INDEX CONCURRENTLY events_2026_01_customer_id_idx ON '
        'public.events_2026_01 USING btree (customer_id);',
        'ALTER INDEX public.events_customer_id_idx ATTACH PARTITION '
        'public.events_2026_01_customer_id_idx;',
        'CREATE INDEX CONCURRENTLY events_2026_02_customer_id_idx ON '
        'public.events_2026_02 USING btree (customer_id);',
        'ALTER INDEX public.events_customer_id_idx ATTACH PARTITION '
        'public.events_2026_02_customer_id_idx;',
    ]
    assert found.action.undo_sql == 'DROP INDEX IF EXISTS public.events_customer_id_idx;'
    assert found.evidence["child_rows"] == 1_000_000


def test_foreign_key_on_partitioned_table_attaches_an_existing_partition_index() -> None:
    model = partitioned_fk_model()
    part = next(t for t in model.tables.values() if t.name == "events_2026_01")
    existing = make_index(part, "p1_cust", ("customer_id",))
    model = make_model(tables=list(model.tables.values()), constraints=model.constraints,
                       indexes=[existing])
    found = only("IX006", model)
    assert found.action is not None and found.action.sql is not None
    lines = found.action.sql.splitlines()
    assert 'ALTER INDEX public.events_customer_id_idx ATTACH PARTITION public.p1_cust;' \
        in lines
    assert not any('"events_2026_01_customer_id_idx"' in line for line in lines)


# --- names and quoting ---------------------------------------------------------------------

AWKWARD = [
    ("space", "My Schema", "order items", "customer id"),
    ("capitals", "Sales", "Orders", "CustomerId"),
    ("quote", 'we"ird', 'ta"ble', 'co"l'),
    ("semicolon", "s; DROP TABLE x; --", "t;", "c; --"),
    ("reserved", "select", "order", "user"),
    ("unicode", "données", "commandes", "clé_client"),
]


@pytest.mark.parametrize(("schema", "table", "column"), [a[1:] for a in AWKWARD],
                         ids=[a[0] for a in AWKWARD])
def test_foreign_key_action_quotes_awkward_names(schema: str, table: str, column: str) -> None:
    child = make_table(table, schema=schema, rows=1_000_000)
    parent = make_table("parent", schema=schema)
    model = make_model(tables=[child, parent],
                       constraints=[make_fk(child, (column,), parent)])
    found = only("IX006", model)
    assert found.action is not None and found.action.sql and found.action.undo_sql
    assert statements(found.action.sql) == ["IndexStmt"]
    assert statements(found.action.undo_sql) == ["DropStmt"]
    stmt = pglast.parse_sql(found.action.sql)[0].stmt
    assert (stmt.relation.schemaname, stmt.relation.relname) == (schema, table)
    assert stmt.indexParams[0].name == column


@pytest.mark.parametrize(("schema", "table", "column"), [a[1:] for a in AWKWARD],
                         ids=[a[0] for a in AWKWARD])
def test_unused_and_invalid_actions_quote_awkward_names(schema: str, table: str,
                                                        column: str) -> None:
    t = make_table(table, schema=schema)
    name = f"{table} {column} idx"
    unused = make_index(t, name, (column,), bytes=50 * MB)
    broken = make_index(t, name + "2", (column,), is_valid=False)
    model = make_model(tables=[t], indexes=[unused, broken])
    for code, index in (("IX004", unused), ("IX005", broken)):
        found = only(code, model)
        assert found.action is not None and found.action.sql is not None
        drop = pglast.parse_sql(found.action.sql)[0].stmt
        assert [n.sval for n in drop.objects[0]] == [schema, index.name]


@pytest.mark.parametrize(("table", "columns"), [
    ("orders", ("customer_id",)),
    ("t" * 60, ("c" * 30,)),
    ("é" * 40, ("ü" * 20,)),
    ("order_line_items_archive_2026", ("warehouse_id", "customer_id", "product_id")),
])
def test_index_name_fits_in_63_bytes(table: str, columns: tuple[str, ...]) -> None:
    name = index_name(table, columns)
    assert len(name.encode()) <= MAX_IDENTIFIER_BYTES
    assert name.endswith("_idx") and name == index_name(table, columns)


def test_index_name_distinguishes_long_names_sharing_a_prefix() -> None:
    assert index_name("t" * 60, ("a",)) != index_name("t" * 60, ("b",))


def test_index_name_short_is_postgres_convention() -> None:
    assert index_name("orders", ("customer_id", "created_at")) == \
        "orders_customer_id_created_at_idx"

