"""OR between conditions on different columns, some of which no index leads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import Statement, TableRef
from pgsage.rules._support.catalog import table_rows
from pgsage.rules._support.workload import leading_indexed, short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._antipatterns import modelled_statements, table_ref_object


def _slow(t: Totals, min_calls: int, min_mean_ms: float) -> bool:
    return t.calls >= min_calls and t.mean_exec_ms >= min_mean_ms


def ors_across_columns(statement: Statement) -> bool:
    """Some OR compares different columns in its arms (or an arm no single column stands
    for), so no one index serves the whole OR."""
    return any(len({arm[0] if len(arm) == 1 else None for arm in arms}) > 1
               for arms in statement.ors)


@register
class OrAcrossColumns(Rule["OrAcrossColumns.Options"]):
    """OR between conditions on different columns, some of which no index leads.

    What it detects:
        Slow statements (at least `min_calls` calls, mean at least `min_mean_ms`) whose
        WHERE has an OR between conditions on different columns of a table with at
        least `min_rows` rows, when at least one of those columns leads no index.

    Why it matters:
        One index cannot serve `a = $1 OR b = $2`. The planner can combine one index per
        branch (a BitmapOr) only when every branch has an index; otherwise it reads the
        whole table.

    Example:
        SELECT * FROM users WHERE email = $1 OR phone = $2   -- phone is not indexed

    What to do:
        Index each OR'ed column (the finding names those without an index; IX001
        proposes and proves indexes), or split the statement into a UNION of one
        SELECT per branch, each served by its own index.
    """

    code: ClassVar[str] = "QY006"
    name: ClassVar[str] = "query.or_across_columns"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=10, metadata={"help": "calls a statement needs."})
        min_mean_ms: float = field(default=5.0, metadata={
            "help": "mean execution time a statement needs."})
        min_rows: int = field(default=10_000, metadata={"help": "rows the table needs."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in modelled_statements(model, options.min_calls):
            if not ors_across_columns(statement) or not _slow(t, options.min_calls,
                                                           options.min_mean_ms):
                continue
            ored: dict[TableRef, set[str]] = defaultdict(set)
            for use in statement.uses:
                if use.in_or and use.column and use.expression is None:
                    ored[use.table].add(use.column)
            for table, cols in ored.items():
                if len(cols) < 2 or table_rows(model.tables.get(table.relid)) < options.min_rows:
                    continue
                bare = sorted(c for c in cols if not leading_indexed(model, table.relid, c))
                if not bare:
                    continue
                yield self.finding(
                    title=f"OR across {', '.join(sorted(cols))} of {table.name} in queryid "
                          f"{t.queryid}: {', '.join(bare)} not indexed",
                    detail=(f"queryid {t.queryid} ({t.calls:,} calls, {t.mean_exec_ms:,.1f} ms "
                            f"mean) has an OR between conditions on {', '.join(sorted(cols))} "
                            f"of {table.name}. Without an index on {', '.join(bare)} the "
                            "planner cannot combine indexes (BitmapOr) and reads the whole "
                            "table. Index each branch's column, or write one SELECT per branch "
                            f"joined with UNION.\n  {short(statement.text, 300)}"),
                    object=table_ref_object(table, tuple(sorted(cols))),
                    impact={"queryids": [t.queryid]},
                    evidence={**statement_evidence(model, t), "or_columns": sorted(cols),
                              "unindexed": bare},
                    benefit=t.total_ms,
                )
