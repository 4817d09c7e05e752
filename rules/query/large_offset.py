"""Pagination with a large OFFSET: every page reads and discards all earlier rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Statement, Use, node_type
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._antipatterns import modelled_statements, query_trees, select_levels


def offsets(statement: Statement) -> list[int | None]:
    """The OFFSET of each query level that has one, outer first: the number where the
    text still carries it, None for a parameter or an expression."""
    out: list[int | None] = []
    for select in select_levels(query_trees(statement, "offset")):
        if not select.get("limitOffset"):
            continue
        const = node_type(select["limitOffset"])
        if const and const[0] == "A_Const" and "ival" in const[1]:
            out.append(int(const[1]["ival"].get("ival", 0)))
        else:
            out.append(None)
    return out


def _order_columns(statement: Statement) -> list[str]:
    return [u.column for u in statement.uses if u.use is Use.ORDER and u.column]


@register
class LargeOffset(Rule["LargeOffset.Options"]):
    """Pagination with a large OFFSET: every page reads and discards all earlier rows.

    What it detects:
        Statements with `OFFSET n` where n is at least `min_offset`. pg_stat_statements
        replaces the number with a placeholder (`OFFSET $2`), so in normalized texts a
        paged statement is reported (info) only when it is slow: at least `min_mean_ms`
        mean with at most `max_rows_per_call` rows per call, the signature of deep
        pages.

    Why it matters:
        OFFSET 100000 makes the server produce 100,000 rows in order and throw them
        away to return the next 20: page N costs N pages of work, and results shift
        when rows are inserted meanwhile.

    Example:
        SELECT * FROM events ORDER BY id LIMIT 20 OFFSET 100000

    What to do:
        Keyset pagination: remember the last key of the page and ask for `WHERE id > $1
        ORDER BY id LIMIT 20` (a row comparison `(created_at, id) > ($1, $2)` for
        several sort columns), served by an index on the sort columns.
    """

    code: ClassVar[str] = "QY008"
    name: ClassVar[str] = "query.large_offset"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_offset: int = field(default=1000, metadata={
            "help": "a literal OFFSET from which a statement is reported (low)."})
        min_mean_ms: float = field(default=20.0, metadata={
            "help": "for a parameter OFFSET, mean time of a statement reported as info."})
        max_rows_per_call: float = field(default=1000.0, metadata={
            "help": "for a parameter OFFSET, rows per call at most of a statement reported as "
                    "info."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in modelled_statements(model, 1):
            found = offsets(statement)
            if not found:
                continue
            literal_offset = next((n for n in found if n is not None), None)
            if literal_offset is not None:
                if literal_offset < options.min_offset:
                    continue
                severity = self.severity
                seen = f"OFFSET {literal_offset:,}"
            elif t.mean_exec_ms >= options.min_mean_ms \
                    and t.rows_per_call <= options.max_rows_per_call:
                severity = Severity.INFO
                seen = (f"OFFSET with a parameter, {t.mean_exec_ms:,.1f} ms mean for "
                        f"{t.rows_per_call:,.1f} rows per call")
            else:
                continue
            keys = _order_columns(statement)
            keyset = (f"WHERE ({', '.join(keys)}) > (<last row's values>) ORDER BY "
                      f"{', '.join(keys)} LIMIT n" if keys else
                      "WHERE key > <last key> ORDER BY key LIMIT n")
            yield self.finding(
                severity=severity,
                title=f"queryid {t.queryid} pages with {seen.split(',')[0]}: use keyset "
                      "pagination",
                detail=(f"queryid {t.queryid} ({t.calls:,} calls) uses {seen}: each page "
                        "produces and discards every row before it. Keyset pagination asks "
                        f"for the rows after the last one seen: {keyset}, served by an index "
                        f"on the sort columns.\n  {short(statement.text, 300)}"),
                object=ObjectRef(),
                impact={"queryids": [t.queryid]},
                evidence={**statement_evidence(model, t), "offset": literal_offset,
                          "order_columns": keys},
                benefit=t.total_ms,
            )
