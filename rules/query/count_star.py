"""COUNT(*) of a whole large table, called repeatedly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, Recommendation, Severity
from pgsage.analyzer.model.workload import Statement, TableRef, node_type
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.rules._support.catalog import table_rows
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._antipatterns import (
    function_name,
    modelled_statements,
    nodes,
    query_trees,
    select_levels,
    table_ref_object,
)


def counted_tables(statement: Statement) -> set[TableRef]:
    """Tables that a query level counts whole: `count(*)` with no WHERE clause over the
    level's only table."""
    trees = query_trees(statement, "count")
    ctes = {str(cte.get("ctename")) for tree in trees for cte in nodes(tree, "CommonTableExpr")}
    out: set[TableRef] = set()
    for select in select_levels(trees):
        if select.get("whereClause") or not any(
                _counts_rows(target) for target in select.get("targetList", [])):
            continue
        tables = [t for item in select.get("fromClause", [])
                  for t in _tables_of(item, statement, ctes)]
        if len(tables) == 1:
            out.add(tables[0])
    return out


def _counts_rows(target: Any) -> bool:
    val = target.get("ResTarget", {}).get("val")
    found = node_type(val)
    return function_name(val) == "count" and bool(found and found[1].get("agg_star"))


def _tables_of(item: Any, statement: Statement, ctes: set[str]) -> list[TableRef]:
    """The statement's tables a FROM item names, through joins (not subqueries, functions,
    CTEs or relations the model did not resolve)."""
    found = node_type(item)
    if not found:
        return []
    name, body = found
    if name == "JoinExpr":
        return [*_tables_of(body.get("larg"), statement, ctes),
                *_tables_of(body.get("rarg"), statement, ctes)]
    if name != "RangeVar":
        return []
    schema, relname = body.get("schemaname"), body.get("relname")
    if schema is None and relname in ctes:
        return []
    named = [t for t in statement.tables
             if t.name == relname and (schema is None or t.schema == schema)]
    return named if len(named) == 1 else []


@register
class CountStarLarge(Rule["CountStarLarge.Options"]):
    """COUNT(*) of a whole large table, called repeatedly.

    What it detects:
        Statements `SELECT count(*) FROM t` without WHERE on a table of at least
        `min_rows` rows, called at least `min_calls` times.

    Why it matters:
        PostgreSQL has no stored row count (MVCC: each transaction may see a different
        number): every call reads the whole table or an index of it.

    Example:
        SELECT count(*) FROM events   -- 40M rows, on every dashboard refresh

    What to do:
        Where an estimate will do, read the planner's (the action: pg_class.reltuples,
        refreshed by VACUUM and ANALYZE). Where the exact number is needed often, keep
        a counter maintained by the application or a trigger.
    """

    code: ClassVar[str] = "QY010"
    name: ClassVar[str] = "query.count_star"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=1_000_000, metadata={"help": "rows the table needs."})
        min_calls: int = field(default=10, metadata={"help": "calls over the window."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in modelled_statements(model, options.min_calls):
            for table in counted_tables(statement):
                rows = table_rows(model.tables.get(table.relid))
                if rows < options.min_rows:
                    continue
                relation = literal(ident(table.schema, table.name))
                yield self.finding(
                    title=f"count(*) of all {rows:,.0f} rows of {table.name}, "
                          f"{t.calls:,} times",
                    detail=(f"queryid {t.queryid} counts every row of {table.name} "
                            f"({rows:,.0f} rows) {t.calls:,} times over "
                            f"{model.window.describe()}, {t.mean_exec_ms:,.1f} ms each: each "
                            "call reads the whole table or one of its indexes. Where an "
                            "estimate is enough, read pg_class.reltuples (the action); for an "
                            "exact count needed often, keep a counter.\n  "
                            f"{short(statement.text, 200)}"),
                    object=table_ref_object(table),
                    action=Action(sql=f"SELECT reltuples::bigint AS estimated_rows FROM "
                                      f"pg_class WHERE oid = {relation}::regclass;"),
                    impact={"queryids": [t.queryid]},
                    evidence={**statement_evidence(model, t), "table_rows": rows},
                    benefit=t.total_ms,
                )
