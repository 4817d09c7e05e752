"""An application loop: a lookup called once per row another statement returned (N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import Statement, Use
from pgsage.rules._support.workload import is_catalog_only, short, statement_evidence, workload_ms
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
    """An application loop: a lookup called once per row another statement returned (N+1).

    What it detects:
        A SELECT on one table that looks it up by equality with a parameter, called at
        least `min_calls` times over the window, whose calls track the rows another
        statement returned over the same window: a SELECT (the parent) that returned at
        least `min_parent_rows_per_call` rows per call and, in all, about as many rows as
        the lookup has calls (within `parent_tolerance`). That is the loop: one lookup per
        row of the list, whatever each lookup returns (a customer's one row, an order's
        several lines). A page of a fixed size is the same evidence: k rows per call of
        the parent, k lookups per call. Many calls of a lookup without such a parent are
        what OLTP is (pgbench's one account per transaction), not a loop, and are not
        reported. Low; medium from `medium_share` of statement time.

    Why it matters:
        Each call costs a network round trip, a parse/bind/execute and a context switch
        for a few microseconds of work: a page that shows 500 orders makes 501 queries.
        One query for the whole list does the same work in one trip.

    Example:
        SELECT customer_id FROM orders WHERE day = $1    -- 10 calls, 5,000 rows
        SELECT id, name FROM customers WHERE id = $1     -- 5,000 calls, 1 row each

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
        min_parent_rows_per_call: float = field(default=2.0, metadata={
            "help": "rows per call the parent returns at least (a list, not one row)."})
        parent_tolerance: float = field(default=0.1, metadata={
            "help": "how close the parent's rows must be to the lookup's calls."})
        medium_share: float = field(default=0.05, metadata={
            "help": "share of statement time for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = model.totals
        total = workload_ms(found) or 1.0
        parents = self._lists(model, options)
        for t in found.values():
            if t.calls < options.min_calls or not t.toplevel:
                continue
            statement = model.workload.statements.get(t.queryid)
            if statement is None or not statement.plain_select or len(statement.tables) != 1:
                continue
            table = next(iter(statement.tables))
            columns = _eq_columns(statement)
            if not columns:
                continue
            parent = self._parent(parents, t, options)
            if parent is None:
                continue
            how = self._lookup_kind(model, table.relid, columns)
            text = model.statement_text(t.queryid) or statement.text
            rewrite = batched(text, columns[0]) if len(columns) == 1 else None
            share = t.total_ms / total
            fix = (f" Fetch the whole list in one call: {rewrite} with an array of keys, or "
                   "join the table into the statement that produced the list." if rewrite else
                   " Join the table into the statement that produced the list, or fetch all "
                   "keys at once with = ANY($1).")
            yield self.finding(
                severity=Severity.MEDIUM if share >= options.medium_share else self.severity,
                title=f"N+1 lookups: queryid {t.queryid} called once per row of queryid "
                      f"{parent.queryid} ({t.calls:,} calls) on {table.name}",
                detail=(f"Over {model.window.describe()} queryid {parent.queryid} returned "
                        f"{parent.rows:,.0f} rows in {parent.calls:,} calls "
                        f"({parent.rows_per_call:,.1f} per call) and queryid {t.queryid} "
                        f"looked up {table.name} by {', '.join(columns)} ({how}) "
                        f"{t.calls:,} times, {t.rows_per_call:,.2f} rows and "
                        f"{t.mean_exec_ms:.3f} ms each: one lookup per row of the list, the "
                        "shape of an application loop (N+1); each call also costs a network "
                        f"round trip that pg_stat_statements does not see.{fix}\n"
                        f"  list:   {short(model.statement_text(parent.queryid), 200)}\n"
                        f"  lookup: {short(text, 200)}"),
                object=ObjectRef(table.schema, table.name, None, tuple(columns)),
                impact={"queryids": [t.queryid, parent.queryid],
                        "round_trips_saved": t.calls - parent.calls},
                evidence={**statement_evidence(model, t), "lookup": how,
                          "parent_queryid": str(parent.queryid),
                          "parent_calls": parent.calls, "parent_rows": parent.rows,
                          "rewrite": rewrite},
                benefit=t.total_ms + t.calls * 0.1,
            )

    @staticmethod
    def _lookup_kind(model: Model, relid: int, columns: list[str]) -> str:
        for ix in model.indexes_by_table.get(relid, []):
            keys = ix.columns[: ix.key_count]
            if not ix.is_valid or ix.predicate or None in keys:
                continue
            if (ix.is_unique or ix.is_primary) and set(keys) <= set(columns):
                return "primary key" if ix.is_primary else f"unique key {ix.name}"
        for ix in model.indexes_by_table.get(relid, []):
            if ix.is_valid and ix.columns and ix.columns[0] in columns:
                return f"indexed by {ix.name}"
        return "no index on these columns"

    @staticmethod
    def _lists(model: Model, options: NPlusOne.Options) -> list[Totals]:
        """Statements that can drive a loop: top-level SELECTs of the application that
        return a list (several rows per call), not the catalog."""
        out: list[Totals] = []
        for t in model.totals.values():
            statement = model.workload.statements.get(t.queryid)
            if (statement is not None and statement.kind == "select" and t.toplevel
                    and not is_catalog_only(statement)
                    and t.rows_per_call >= options.min_parent_rows_per_call):
                out.append(t)
        return out

    @staticmethod
    def _parent(parents: list[Totals], t: Totals, options: NPlusOne.Options) -> Totals | None:
        """The list whose rows the lookup's calls track most closely, if one does."""
        best: Totals | None = None
        for other in parents:
            if other.queryid == t.queryid:
                continue
            gap = abs(other.rows - t.calls) / t.calls
            if gap <= options.parent_tolerance and (
                    best is None or gap < abs(best.rows - t.calls) / t.calls):
                best = other
        return best
