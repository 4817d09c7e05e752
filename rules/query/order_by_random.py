"""ORDER BY random() to pick rows: sorts the whole table to keep a few."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.analyzer.model.workload import Statement
from pgsage.rules._support.catalog import table_rows
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._antipatterns import (
    function_name,
    modelled_statements,
    query_trees,
    select_levels,
    table_ref_object,
)


def orders_by_random(statement: Statement) -> bool:
    """Some query level of the statement sorts by random()."""
    return any(function_name(sort.get("SortBy", {}).get("node")) == "random"
               for select in select_levels(query_trees(statement, "random"))
               for sort in select.get("sortClause", []))


@register
class OrderByRandom(Rule["OrderByRandom.Options"]):
    """ORDER BY random() to pick rows: sorts the whole table to keep a few.

    What it detects:
        Statements with `ORDER BY random()` over a table of at least `min_rows` rows.

    Why it matters:
        Every row is read, given a random number and sorted (spilling to disk when it
        does not fit in work_mem), to return a handful.

    Example:
        SELECT * FROM products ORDER BY random() LIMIT 5

    What to do:
        Sample instead: `FROM products TABLESAMPLE SYSTEM (1) LIMIT 5` (a percent of the
        pages; BERNOULLI for rows), or pick random keys between min(id) and max(id) and
        look them up by the primary key.
    """

    code: ClassVar[str] = "QY011"
    name: ClassVar[str] = "query.order_by_random"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=10_000, metadata={"help": "rows the table needs."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in modelled_statements(model, 1):
            if not orders_by_random(statement):
                continue
            big = [r for r in statement.tables
                   if table_rows(model.tables.get(r.relid)) >= options.min_rows]
            if not big:
                continue
            table = max(big, key=lambda r: table_rows(model.tables.get(r.relid)))
            rows = table_rows(model.tables.get(table.relid))
            yield self.finding(
                title=f"ORDER BY random() over {rows:,.0f} rows of {table.name} in queryid "
                      f"{t.queryid}",
                detail=(f"queryid {t.queryid} ({t.calls:,} calls, {t.mean_exec_ms:,.1f} ms mean) "
                        f"sorts {table.name} ({rows:,.0f} rows) by random() to keep a few. "
                        f"TABLESAMPLE SYSTEM (n) reads only a sample of pages; random keys "
                        f"looked up by primary key read only the rows returned.\n  "
                        f"{short(statement.text, 300)}"),
                object=table_ref_object(table),
                impact={"queryids": [t.queryid]},
                evidence={**statement_evidence(model, t), "table_rows": rows},
                benefit=t.total_ms,
            )
