"""Very many calls of a one-row lookup: the N+1 pattern of an application loop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import Statement, Use
from pgsage.rules._support.workload import short, statement_evidence, workload_ms
from pgsage.rules.base import Rule, register
from pgsage.rules.query._rewrite import batched


def _eq_columns(statement: Statement) -> list[str]:
    """Columns compared for equality with a parameter (or constant) in WHERE, not in an OR."""
    table = next(iter(statement.tables))
    return sorted({u.column for u in statement.uses_of(table)
                   if u.use is Use.EQ and u.clause == "where" and not u.in_or
                   and u.column is not None and u.expression is None})


@register
class NPlusOne(Rule["NPlusOne.Options"]):
    """Very many calls of a one-row lookup: the N+1 pattern of an application loop.

    What it detects:
        A SELECT on one table, called at least `min_calls` times over the window, returning
        at most `max_rows_per_call` rows per call, that looks the table up by equality on
        its primary key (or a unique key, or an indexed column) compared with a parameter.
        When another statement returned about as many rows in all as this one has calls
        (within `parent_tolerance`) in far fewer calls, it is named: probably the list
        the loop iterates over. Low; medium with such a parent and at least
        `medium_share` of statement time.

    Why it matters:
        Each call costs a network round trip, a parse/bind/execute and a context switch
        for a few microseconds of work: a page that shows 500 orders makes 501 queries.
        One query for the whole list does the same work in one trip.

    Example:
        SELECT id, name FROM customers WHERE id = $1   -- 120,000 calls, 1 row each

    What to do:
        Fetch the rows for the whole list at once: `WHERE id = ANY($1)` with an array of
        keys (the rewrite is in the finding), or join the table into the statement that
        produced the list. ORMs call this eager loading (`select_related`,
        `prefetch_related`, `includes`, `JOIN FETCH`).
    """

    code: ClassVar[str] = "QY003"
    name: ClassVar[str] = "query.n_plus_one"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=1000, metadata={
            "help": "calls over the window from which a lookup counts."})
        max_rows_per_call: float = field(default=2.0, metadata={"help": "rows per call at most."})
        parent_tolerance: float = field(default=0.25, metadata={
            "help": "how close the parent's rows must be to this statement's calls."})
        medium_share: float = field(default=0.05, metadata={
            "help": "share of statement time for medium (with a parent)."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = model.totals
        total = workload_ms(found) or 1.0
        for t in found.values():
            if t.calls < options.min_calls or t.rows_per_call > options.max_rows_per_call:
                continue
            statement = model.workload.statements.get(t.queryid)
            if statement is None or not statement.plain_select or len(statement.tables) != 1:
                continue
            table = next(iter(statement.tables))
            columns = _eq_columns(statement)
            if not columns:
                continue
            how = self._lookup_kind(model, table.relid, columns)
            if how is None:
                continue
            parent = self._parent(found, t, options)
            text = model.statement_text(t.queryid) or statement.text
            rewrite = batched(text, columns[0]) if len(columns) == 1 else None
            share = t.total_ms / total
            severity = (Severity.MEDIUM if parent is not None and share >= options.medium_share
                        else self.severity)
            parent_text = ""
            if parent is not None:
                parent_text = (f" queryid {parent.queryid} returned {parent.rows:,.0f} rows in "
                               f"{parent.calls:,} calls over the same window, about one per "
                               f"call of this lookup: probably the list the loop walks "
                               f"({short(model.statement_text(parent.queryid), 120)}).")
            fix = (f" Fetch the whole list in one call: {rewrite} with an array of keys, or "
                   "join the table into the statement that produced the list." if rewrite else
                   " Join the table into the statement that produced the list, or fetch all "
                   "keys at once with = ANY($1).")
            yield self.finding(
                severity=severity,
                title=f"N+1 lookups: queryid {t.queryid} called {t.calls:,} times for "
                      f"{t.rows_per_call:.1f} row(s) each on {table.name}",
                detail=(f"queryid {t.queryid} looked up {table.name} by {', '.join(columns)} "
                        f"({how}) {t.calls:,} times over {model.window.describe()}, "
                        f"{t.rows_per_call:.2f} rows per call, {t.mean_exec_ms:.3f} ms each: "
                        "the shape of an application loop that runs one query per item (N+1); "
                        "each call also costs a network round trip that pg_stat_statements "
                        f"does not see.{parent_text}{fix}\n  {short(text, 300)}"),
                object=ObjectRef(table.schema, table.name, None, tuple(columns)),
                impact={"queryids": [t.queryid] + ([parent.queryid] if parent else []),
                        "round_trips_saved": t.calls - (parent.calls if parent else 1)},
                evidence={**statement_evidence(model, t), "lookup": how,
                          "parent_queryid": str(parent.queryid) if parent else None,
                          "parent_rows": parent.rows if parent else None,
                          "rewrite": rewrite},
                benefit=t.total_ms + t.calls * 0.1,
            )

    @staticmethod
    def _lookup_kind(model: Model, relid: int, columns: list[str]) -> str | None:
        for ix in model.indexes_by_table.get(relid, []):
            keys = ix.columns[: ix.key_count]
            if not ix.is_valid or ix.predicate or None in keys:
                continue
            if (ix.is_unique or ix.is_primary) and set(keys) <= set(columns):
                return "primary key" if ix.is_primary else f"unique key {ix.name}"
        for ix in model.indexes_by_table.get(relid, []):
            if ix.is_valid and ix.columns and ix.columns[0] in columns:
                return f"indexed by {ix.name}"
        return None

    @staticmethod
    def _parent(found: dict[int, Totals], t: Totals, options: NPlusOne.Options) -> Totals | None:
        best: Totals | None = None
        for other in found.values():
            if other.queryid == t.queryid or other.calls * 5 > t.calls or other.rows < 10:
                continue
            gap = abs(other.rows - t.calls) / t.calls
            if gap <= options.parent_tolerance and (
                    best is None or gap < abs(best.rows - t.calls) / t.calls):
                best = other
        return best
