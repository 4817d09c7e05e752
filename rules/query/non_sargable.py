"""A function or cast wraps an indexed column in WHERE, so its index cannot be used."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate, IndexKey
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import ColumnUse, Statement, Use
from pgsage.analyzer.sqlgen import ident
from pgsage.rules._support.catalog import table_rows
from pgsage.rules._support.workload import (
    advisor_choice_on,
    expression_indexed,
    free_index_name,
    leading_indexed,
    short,
    statement_evidence,
)
from pgsage.rules.base import Rule, register
from pgsage.rules.query._antipatterns import modelled_statements, table_ref_object

FILTER_USES = {Use.EQ, Use.IN, Use.RANGE, Use.LIKE_PREFIX, Use.LIKE_PARAM, Use.LIKE_INFIX,
               Use.NULL, Use.NOT_NULL, Use.NE}


@register
class NonSargable(Rule["NonSargable.Options"]):
    """A function or cast wraps an indexed column in WHERE, so its index cannot be used.

    What it detects:
        WHERE conditions that compare an expression over one column, such as
        `lower(email) = $1`, `date(created_at) = $1` or `id::text = $1`, where the column
        leads a valid index of a table with at least `min_rows` rows but no index exists
        on that expression. Medium from `large_rows` rows and `min_calls_medium` calls.
        When the index advisor (IX001) already proposes the expression index, this
        finding is info and points to it instead of proposing it twice.

    Why it matters:
        A btree index on `email` orders the values of `email`, not of `lower(email)`: the
        planner cannot search it for the expression and reads the whole table (or the
        whole index) instead, on every call.

    Example:
        CREATE INDEX ON users (email);
        SELECT * FROM users WHERE lower(email) = $1;   -- sequential scan

    What to do:
        Create an index on the expression (the action), or rewrite the condition so
        that the bare column is compared: `created_at >= $1 AND created_at < $1 +
        interval '1 day'` instead of `date(created_at) = $1`, a cast on the parameter
        rather than on the column, a citext column instead of lower().
    """

    code: ClassVar[str] = "QY004"
    name: ClassVar[str] = "query.non_sargable"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=1000, metadata={
            "help": "rows a table needs for the finding."})
        large_rows: int = field(default=100_000, metadata={
            "help": "rows a table needs for the finding to be medium."})
        min_calls_medium: int = field(default=100, metadata={
            "help": "calls a statement needs for the finding to be medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        groups: dict[tuple[int, str], list[tuple[Statement, Totals, ColumnUse]]] = \
            defaultdict(list)
        for statement, t in modelled_statements(model, 1):
            for use in statement.uses:
                if use.clause != "where" or use.expression is None or use.column is None \
                        or use.use not in FILTER_USES:
                    continue
                if table_rows(model.tables.get(use.table.relid)) < options.min_rows:
                    continue
                if not leading_indexed(model, use.table.relid, use.column):
                    continue
                if expression_indexed(model, use.table.relid, use.expression):
                    continue
                groups[(use.table.relid, use.expression)].append((statement, t, use))
        for (relid, expression), hits in groups.items():
            yield self._finding(model, relid, expression, hits, options)

    def _finding(self, model: Model, relid: int, expression: str,
                 hits: list[tuple[Statement, Totals, ColumnUse]],
                 options: Options) -> Recommendation:
        use = hits[0][2]
        table = use.table
        column = use.column or "?"
        rows = table_rows(model.tables.get(relid))
        calls = sum(t.calls for _, t, _ in hits)
        existing = ", ".join(ix.name for ix in leading_indexed(model, relid, column))
        queryids = sorted({t.queryid for _, t, _ in hits})
        listed = "\n".join(f"  - queryid {t.queryid} ({t.calls:,} calls, "
                           f"{t.mean_exec_ms:,.2f} ms mean): {short(s.text, 160)}"
                           for s, t, _ in hits[:5])
        candidate = Candidate(table, (IndexKey(column, expression),), origin="expression")
        choice = advisor_choice_on(model, relid, expression=expression)
        common = (f"{len(queryids)} statement(s) filter {table.name} on {expression} "
                  f"({calls:,} calls over {model.window.describe()}). {column} is indexed "
                  f"({existing}), but that index orders {column}, not {expression}: the "
                  f"planner cannot use it for this condition and reads all {rows:,.0f} rows.")
        if choice is not None:
            return self.finding(
                severity=Severity.INFO,
                title=f"{expression} on {table.name} cannot use {existing}: IX001 proposes "
                      f"{choice.name}",
                detail=(f"{common} The index advisor already proposes {choice.name} on the "
                        f"expression (IX001): create that one.\n{listed}"),
                object=table_ref_object(table, (column,)),
                impact={"queryids": queryids},
                evidence={"expression": expression, "column": column, "rows": rows,
                          "indexes_on_column": existing, "index_advisor": choice.name,
                          "statements": [statement_evidence(model, t) for _, t, _ in hits]},
                benefit=sum(t.total_ms for _, t, _ in hits),
            )
        name = free_index_name(model, candidate)
        severity = (Severity.MEDIUM if rows >= options.large_rows
                    and calls >= options.min_calls_medium else self.severity)
        return self.finding(
            severity=severity,
            title=f"{expression} in WHERE cannot use the index on {table.name}.{column}: "
                  f"index the expression",
            detail=(f"{common} Index the expression (the action), or rewrite the condition to "
                    f"compare the bare column.\n{listed}"),
            object=table_ref_object(table, (column,)),
            action=Action(sql=candidate.definition(name=name) + ";",
                          undo_sql=f"DROP INDEX CONCURRENTLY IF EXISTS "
                                   f"{ident(table.schema, name)};"),
            impact={"queryids": queryids},
            evidence={"expression": expression, "column": column, "rows": rows,
                      "indexes_on_column": existing,
                      "statements": [statement_evidence(model, t) for _, t, _ in hits]},
            benefit=sum(t.total_ms for _, t, _ in hits),
        )
