"""Tables the observed workload says should be partitioned.

PT001 range partitioning by a time column (range reads, retention deletes, append-mostly
inserts), PT002 hash or list partitioning by a tenant key. Size alone is never the reason:
each finding says what partitioning would change for this workload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.workload import Use
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.workload import statements_on


@dataclass
class ColumnFilters:
    """How the workload uses one column of one table."""

    range_calls: int = 0
    retention_calls: int = 0
    eq_calls: int = 0
    queryids: set[int] = field(default_factory=set)
    retention_queryids: set[int] = field(default_factory=set)


def column_filters(model: Model, table: TableStats) -> tuple[dict[str, ColumnFilters], int, int]:
    """Per column of the table: calls filtering by range / equality, retention deletes;
    and the calls of all statements reading or writing the table (SELECT, all)."""
    found = model.totals
    per: dict[str, ColumnFilters] = {}
    selects = 0
    every = 0
    for st in statements_on(model, table.relid):
        t = found.get(st.queryid)
        calls = t.calls if t else 0
        every += calls
        if st.kind == "select":
            selects += calls
        ref = next(r for r in st.tables if r.relid == table.relid)
        seen_range: set[str] = set()
        seen_eq: set[str] = set()
        for u in st.uses_of(ref):
            if u.clause != "where" or u.column is None or u.expression is not None or u.in_or:
                continue
            entry = per.setdefault(u.column, ColumnFilters())
            if u.use is Use.RANGE and u.column not in seen_range:
                seen_range.add(u.column)
                entry.queryids.add(st.queryid)
                if st.kind == "delete" and u.operator in ("<", "<="):
                    entry.retention_calls += max(calls, 1)
                    entry.retention_queryids.add(st.queryid)
                else:
                    entry.range_calls += calls
            elif u.use in (Use.EQ, Use.IN) and u.column not in seen_eq:
                seen_eq.add(u.column)
                entry.eq_calls += calls
                entry.queryids.add(st.queryid)
    return per, selects, every
