"""SELECT * on a wide table, called often."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, Recommendation, Severity
from pgsage.analyzer.units import MB, format_bytes
from pgsage.rules._support.catalog import columns_of
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._antipatterns import modelled_statements, table_ref_object


@register
class SelectStarWide(Rule["SelectStarWide.Options"]):
    """SELECT * on a wide table, called often.

    What it detects:
        Statements called at least `min_calls` times that select `*` from a table with at
        least `min_columns` columns or an average row of at least `min_width` bytes
        (pg_stats avg_width), or with TOAST data of at least `min_toast_bytes`. Low when
        the table has that much TOAST (large values detoasted for nothing), info
        otherwise.

    Why it matters:
        Every column is read, detoasted, sent over the network and decoded by the
        client, needed or not; an index-only scan is impossible; and a column added
        later silently widens every result.

    Example:
        SELECT * FROM documents WHERE id = $1   -- 40 columns, a 20 kB body

    What to do:
        Name the columns the code uses.
    """

    code: ClassVar[str] = "QY009"
    name: ClassVar[str] = "query.select_star"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=100, metadata={"help": "calls a statement needs."})
        min_columns: int = field(default=20, metadata={"help": "columns that make a table wide."})
        min_width: int = field(default=1000, metadata={
            "help": "average row width in bytes that makes a table wide."})
        min_toast_bytes: int = field(default=10 * MB, metadata={
            "help": "TOAST size from which the finding is low."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        for statement, t in modelled_statements(model, options.min_calls):
            for table in sorted(statement.select_star, key=lambda r: (r.schema, r.name)):
                found = cols.get(table.relid, {})
                width = sum(c.avg_width or 0 for c in found.values())
                stats = model.tables.get(table.relid)
                toast = (stats.toast_bytes or 0) if stats else 0
                if len(found) < options.min_columns and width < options.min_width \
                        and toast < options.min_toast_bytes:
                    continue
                severity = Severity.LOW if toast >= options.min_toast_bytes else self.severity
                yield self.finding(
                    severity=severity,
                    title=f"SELECT * from {table.name} ({len(found)} columns, ~{width} bytes "
                          f"a row) in queryid {t.queryid}",
                    detail=(f"queryid {t.queryid} selects every column of {table.name} "
                            f"{t.calls:,} times over {model.window.describe()}: {len(found)} "
                            f"columns, about {width} bytes a row, {format_bytes(toast)} of "
                            "TOAST. Naming the columns the code uses saves reading, detoasting "
                            "and sending the others, and allows index-only scans.\n  "
                            f"{short(statement.text, 300)}"),
                    object=table_ref_object(table),
                    impact={"queryids": [t.queryid]},
                    evidence={**statement_evidence(model, t), "columns": len(found),
                              "avg_row_width": width, "toast_bytes": toast},
                    benefit=t.total_ms,
                )
