"""Anti-patterns found in the parse tree of each statement (the workload model).

QY004 non-sargable predicates, QY005 leading-wildcard LIKE, QY006 OR across columns,
QY007 NOT IN (subquery), QY008 large OFFSET, QY009 SELECT * on wide tables, QY010
unbounded COUNT(*) on large tables, QY011 ORDER BY random().

pg_stat_statements replaces constants with `$n` placeholders, so a rule that needs a
constant (the LIKE pattern, the OFFSET) sees it only in texts that still carry it; the
others work on normalized texts.
"""

from __future__ import annotations

from collections.abc import Iterator

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import ObjectRef
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import Statement, TableRef
from pgsage.rules._support.workload import is_catalog_only


def modelled_statements(model: Model, min_calls: int) -> Iterator[tuple[Statement, Totals]]:
    """Modelled statements with their counters, busiest first, monitoring queries skipped."""
    found = model.totals
    pairs = [(s, found[q]) for q, s in model.workload.statements.items()
             if q in found and found[q].calls >= min_calls and not is_catalog_only(s)]
    yield from sorted(pairs, key=lambda p: -p[1].total_ms)


def table_ref_object(table: TableRef, columns: tuple[str, ...] | None = None) -> ObjectRef:
    return ObjectRef(table.schema, table.name, None, columns)
