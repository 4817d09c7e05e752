"""MT001 sequence exhaustion on hand-built snapshots: no database.

Cases are data: a name, the sequence (and what owns it) and the severity expected
(None: no finding). One behaviour per test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pglast
import pytest
from factories import DAY, NOW, make_fk, make_model, make_sequence, make_snapshot, make_table

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.collectors.sequences import Sequence
from pgsage.rules import REGISTRY

INT4 = 2**31 - 1
INT8 = 2**63 - 1


@dataclass(frozen=True)
class Case:
    id: str
    sequence: dict[str, Any]
    expect: Severity | None
    snapshot: dict[str, Any] = field(default_factory=dict)


def findings(model: Model, **options: Any) -> list[Recommendation]:
    rule = REGISTRY["MT001"]
    return list(rule.check(model, rule.Options(**options)))


def only(model: Model, **options: Any) -> Recommendation:
    found = findings(model, **options)
    assert len(found) == 1, [f.title for f in found]
    return found[0]


def seq_model(sequence: Sequence, baseline: Any = None, **snapshot: Any) -> Model:
    return make_model(baseline=baseline, sequences=[sequence], **snapshot)


CASES = [
    Case("pass-fresh", {"last_value": 1000}, None),
    Case("pass-half-used", {"last_value": INT4 // 2}, None),
    Case("pass-never-used", {"last_value": None}, None),
    Case("pass-unreadable", {"last_value": None, "readable": False}, None),
    Case("pass-unreadable-even-if-value", {"last_value": INT4 - 5, "readable": False}, None),
    Case("pass-bigint-column-and-sequence", {
        "last_value": 3_000_000_000, "data_type": "bigint", "max_value": INT8,
        "owner_column_type": "bigint"}, None),
    Case("fail-int4-80-percent", {"last_value": int(INT4 * 0.8)}, Severity.HIGH),
    Case("fail-int4-95-percent", {"last_value": int(INT4 * 0.95)}, Severity.CRITICAL),
    Case("fail-bigint-sequence-int4-column", {
        "last_value": int(INT4 * 0.8), "data_type": "bigint", "max_value": INT8},
        Severity.HIGH),
    Case("fail-already-past-the-column", {
        "last_value": INT4 + 10, "data_type": "bigint", "max_value": INT8}, Severity.CRITICAL),
    Case("fail-smallint-column", {"last_value": 30_000, "owner_column_type": "smallint"},
         Severity.CRITICAL),
    Case("fail-custom-maxvalue", {
        "last_value": 850, "max_value": 1000, "owner_column_type": "bigint"}, Severity.HIGH),
    Case("fail-descending", {
        "last_value": -int(INT4 * 0.8), "increment_by": -1, "min_value": -(2**31),
        "max_value": -1}, Severity.HIGH),
    Case("fail-increment-by-ten", {"last_value": int(INT4 * 0.8) // 10 * 10,
                                   "increment_by": 10}, Severity.HIGH),
    Case("fail-unowned", {"last_value": int(INT4 * 0.8), "owner_schema": None,
                          "owner_table": None, "owner_column": None,
                          "owner_column_type": None}, Severity.HIGH),
    Case("fail-cycle-wraps-is-low", {"last_value": int(INT4 * 0.8), "cycle": True},
         Severity.LOW),
    Case("fail-cycle-but-column-ends-first", {
        "last_value": int(INT4 * 0.8), "cycle": True, "data_type": "bigint",
        "max_value": INT8}, Severity.HIGH),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_sequence_cases(case: Case) -> None:
    found = findings(seq_model(make_sequence(**case.sequence), **case.snapshot))
    assert [f.severity for f in found] == ([case.expect] if case.expect else [])


def test_serial_int4_widens_column_then_sequence() -> None:
    found = only(seq_model(make_sequence(last_value=int(INT4 * 0.8))))
    assert found.action is not None and found.action.sql is not None
    assert found.action.sql.splitlines() == [
        'ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;',
        'ALTER SEQUENCE public.orders_id_seq AS bigint NO MAXVALUE;',
    ]


def test_undo_restores_types_in_reverse_order() -> None:
    found = only(seq_model(make_sequence(last_value=int(INT4 * 0.8))))
    assert found.action is not None and found.action.undo_sql is not None
    assert found.action.undo_sql.splitlines() == [
        'ALTER SEQUENCE public.orders_id_seq AS integer MAXVALUE 2147483647;',
        'ALTER TABLE public.orders ALTER COLUMN id TYPE integer;',
    ]


def test_bigint_sequence_feeding_int4_column_only_widens_column() -> None:
    seq = make_sequence(last_value=int(INT4 * 0.8), data_type="bigint", max_value=INT8)
    found = only(seq_model(seq))
    assert found.action is not None
    assert found.action.sql == 'ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;'
    assert "(the integer column public.orders.id)" in found.detail


def test_int4_sequence_feeding_bigint_column_only_widens_sequence() -> None:
    seq = make_sequence(last_value=int(INT4 * 0.8), owner_column_type="bigint")
    found = only(seq_model(seq))
    assert found.action is not None
    assert found.action.sql == 'ALTER SEQUENCE public.orders_id_seq AS bigint NO MAXVALUE;'


def test_descending_sequence_lifts_minvalue() -> None:
    seq = make_sequence(last_value=-int(INT4 * 0.8), increment_by=-1, min_value=-(2**31),
                        max_value=-1)
    found = only(seq_model(seq))
    assert found.action is not None and "AS bigint NO MINVALUE" in (found.action.sql or "")


def test_referencing_foreign_keys_are_widened_too() -> None:
    orders, lines = make_table("orders"), make_table("order lines")
    fk = make_fk(lines, ("Order Id",), orders, ("id",))
    found = only(seq_model(make_sequence(last_value=int(INT4 * 0.8)), tables=[orders, lines],
                           constraints=[fk]))
    assert found.action is not None and found.action.sql is not None
    assert 'ALTER TABLE public."order lines" ALTER COLUMN "Order Id" TYPE bigint;' in \
        found.action.sql.splitlines()


def test_detail_states_position_share_and_values_left() -> None:
    found = only(seq_model(make_sequence(last_value=int(INT4 * 0.8))))
    assert f"{int(INT4 * 0.8):,}" in found.detail and "80.0%" in found.detail
    assert f"{INT4 - int(INT4 * 0.8):,} values are left" in found.detail
    assert found.evidence["used_ratio"] == 0.8


def test_detail_outlines_the_online_way() -> None:
    found = only(seq_model(make_sequence(last_value=int(INT4 * 0.8))))
    assert "rewrites the table" in found.detail and "CONCURRENTLY" in found.detail


def test_object_is_the_owning_column() -> None:
    found = only(seq_model(make_sequence(last_value=int(INT4 * 0.8))))
    assert (found.object.schema, found.object.table, found.object.columns) == (
        "public", "orders", ("id",))
    assert found.evidence["sequence"] == "public.orders_id_seq"


def test_cycle_explains_duplicate_keys_and_has_no_action() -> None:
    found = only(seq_model(make_sequence(last_value=int(INT4 * 0.8), cycle=True)))
    assert found.action is None and "duplicate key" in found.detail


def fast_model() -> Model:
    """20 million values a day with ~495 million left: about 25 days."""
    start = int(INT4 * 0.76)
    old = make_snapshot(sequences=[make_sequence(last_value=start)], taken_at=NOW - DAY)
    return seq_model(make_sequence(last_value=start + 20_000_000), baseline=old)


def test_fast_consumption_seen_between_snapshots_is_critical() -> None:
    assert only(fast_model()).severity is Severity.CRITICAL


def test_fast_consumption_states_days_left() -> None:
    found = only(fast_model())
    assert "the rest in about 25 days" in found.detail and found.evidence["days_left"] == 24.8


def test_slow_consumption_between_snapshots_stays_high() -> None:
    start = int(INT4 * 0.76)
    old = make_snapshot(sequences=[make_sequence(last_value=start)], taken_at=NOW - DAY)
    found = only(seq_model(make_sequence(last_value=start + 1000), baseline=old))
    assert found.severity is Severity.HIGH


def test_ratio_options() -> None:
    model = seq_model(make_sequence(last_value=int(INT4 * 0.6)))
    assert only(model, warn_ratio=0.5, critical_ratio=0.55).severity is Severity.CRITICAL


@pytest.mark.parametrize(("schema", "table", "column", "name"), [
    ("My Schema", "Order Items", "Line Id", "Order Items_Line Id_seq"),
    ("select", "order", "user", "order_user_seq"),
    ('we"ird', 'ta"ble', 'co"l', 'se"q; DROP TABLE x; --'),
], ids=["spaces-capitals", "reserved", "quotes-semicolons"])
def test_actions_quote_awkward_names(schema: str, table: str, column: str, name: str) -> None:
    seq = make_sequence(name, last_value=int(INT4 * 0.8), schema=schema, owner_schema=schema,
                        owner_table=table, owner_column=column)
    found = only(seq_model(seq))
    assert found.action is not None and found.action.sql and found.action.undo_sql
    alter_table, alter_seq = (s.stmt for s in pglast.parse_sql(found.action.sql))
    assert (alter_table.relation.schemaname, alter_table.relation.relname) == (schema, table)
    assert alter_table.cmds[0].name == column
    assert (alter_seq.sequence.schemaname, alter_seq.sequence.relname) == (schema, name)
    assert len(pglast.parse_sql(found.action.undo_sql)) == 2
