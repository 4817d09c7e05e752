"""The planner expects far fewer rows than the statement returns: correlated columns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.plan_tree import Node
from pgsage.analyzer.model.workload import TableRef, Use
from pgsage.analyzer.sqlgen import ident, index_name
from pgsage.rules._support.catalog import columns_of, table_rows
from pgsage.rules._support.workload import short, statement_evidence
from pgsage.rules.base import Rule, register
from pgsage.rules.query._plans import PlannedStatement, plan_severity, planned
from pgsage.rules.query.count_star import counted_tables


def _distinct(n_distinct: float | None, rows: float) -> float | None:
    if n_distinct is None or n_distinct == 0:
        return None
    return -n_distinct * rows if n_distinct < 0 else n_distinct


def _top_rows_node(tree: Node) -> Node:
    """The node whose estimate is the statement's result (below Gather and Result)."""
    node = tree
    while node.get("Node Type") in ("Gather", "Result") and node.get("Plans"):
        node = node["Plans"][0]
    return node


@register
class EstimateMismatch(Rule["EstimateMismatch.Options"]):
    """The planner expects far fewer rows than the statement returns: correlated columns.

    What it detects:
        SELECTs on one table with equality conditions on two or more columns (no LIMIT,
        no aggregation, no GROUP BY), called at least `min_calls` times, whose rows per
        call (pg_stat_statements, what really came back) are at least `factor` times the
        generic plan's estimate and at least `min_rows`. pg_stats says why: the planner
        multiplies the columns' selectivities as if they were independent (rows /
        (n_distinct(a) x n_distinct(b))), while the rows returned match one column
        determining the other (rows / max n_distinct). EXPLAIN ANALYZE is never run, so
        the estimate compared is the generic plan's. Medium from `medium_share` of
        statement time.

    Why it matters:
        An estimate of 1 row where 5,000 come back makes the planner choose nested loops
        and index lookups that are right for one row and slow for thousands, in this
        statement and in every join above it.

    Example:
        SELECT * FROM addresses WHERE city = $1 AND zip = $2
        -- estimated 1 row, 180 returned per call: zip determines city

    What to do:
        Create extended statistics on the columns (the action: functional dependencies
        and ndistinct; a multi-column MCV list too when the combinations fit in
        default_statistics_target, since for values outside a partial MCV list the
        planner falls back to independence) and ANALYZE the table; the planner then
        knows the columns move together. Creating statistics needs ownership of the table.
    """

    code: ClassVar[str] = "QY104"
    name: ClassVar[str] = "query.estimate_mismatch"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = field(default=10, metadata={
            "help": "calls of the statement over the window."})
        factor: float = field(default=10.0, metadata={
            "help": "ratio of rows returned to rows estimated."})
        min_rows: float = field(default=50.0, metadata={"help": "rows per call at least."})
        medium_share: float = field(default=0.1, metadata={
            "help": "share of statement time for medium."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        for item in planned(model, options.min_calls):
            st = item.statement
            if st is None or not st.plain_select or st.has_limit or len(st.tables) != 1:
                continue
            if any(u.use is Use.GROUP for u in st.uses) or counted_tables(st):
                continue
            top = _top_rows_node(item.plan.tree)
            if top.get("Node Type") in ("Aggregate", "Limit", "WindowAgg", "SetOp", "Unique"):
                continue
            ref = next(iter(st.tables))
            eq = sorted({u.column for u in st.uses_of(ref) if u.use is Use.EQ
                         and u.clause == "where" and not u.in_or and u.column
                         and u.expression is None})
            if len(eq) < 2:
                continue
            actual = item.totals.rows_per_call
            estimate = max(float(top.get("Plan Rows", 0)), 1.0)
            if actual < options.min_rows or actual < options.factor * estimate:
                continue
            rows = table_rows(model.tables.get(ref.relid))
            stats = cols.get(ref.relid, {})
            distinct = {c: _distinct(stats[c].n_distinct if c in stats else None, rows)
                        for c in eq}
            if any(d is None for d in distinct.values()) or rows <= 0:
                continue
            known = {c: float(d) for c, d in distinct.items() if d is not None}
            independent = rows
            for d in known.values():
                independent /= max(d, 1.0)
            dependent = rows / max(max(known.values()), 1.0)
            yield self._finding(model, item, ref, eq, actual, estimate, independent,
                                dependent, known, options)

    def _finding(self, model: Model, item: PlannedStatement, ref: TableRef, eq: list[str],
                 actual: float, estimate: float, independent: float, dependent: float,
                 distinct: dict[str, float], options: Options) -> Recommendation:
        name = index_name(ref.name, eq, "stat")
        stat = ident(ref.schema, name)
        table = ident(ref.schema, ref.name)
        columns = ", ".join(ident(c) for c in eq)
        fits = abs(actual - dependent) <= 2 * max(dependent, 1.0)
        nd = ", ".join(f"{c} {d:,.0f}" for c, d in distinct.items())
        why = (f"pg_stats gives n_distinct {nd}: assuming independence the planner "
               f"expects {independent:,.1f} rows; if one column determines the other, "
               f"{dependent:,.1f}")
        why += (" - which is what comes back." if fits else
                ". What comes back is closer to the second.")
        target = model.setting("default_statistics_target")
        mcv_items = int(target) if target and target.isdigit() else 100
        combos = max(distinct.values())
        kinds = "dependencies, ndistinct, mcv" if combos <= mcv_items else \
            "dependencies, ndistinct"
        return self.finding(
            severity=plan_severity(self, item, options.medium_share),
            title=f"{ref.name} ({', '.join(eq)}): estimated {estimate:,.0f} row(s), "
                  f"{actual:,.0f} returned per call: CREATE STATISTICS",
            detail=(f"queryid {item.queryid} ({item.totals.calls:,} calls) filters {ref.name} "
                    f"by equality on {', '.join(eq)}. Its generic plan estimates "
                    f"{estimate:,.0f} row(s); pg_stat_statements measured {actual:,.1f} rows "
                    f"per call. {why} Extended statistics tell the planner that the columns "
                    f"are correlated.\n  {short(model.statement_text(item.queryid), 300)}"),
            object=ObjectRef(ref.schema, ref.name, None, tuple(eq)),
            action=Action(sql=(f"CREATE STATISTICS IF NOT EXISTS {stat} ({kinds}) ON "
                               f"{columns} FROM {table};\nANALYZE {table};"),
                          undo_sql=f"DROP STATISTICS IF EXISTS {stat};"),
            impact={"queryids": [item.queryid]},
            evidence={**statement_evidence(model, item.totals),
                      "estimated_rows": estimate, "returned_rows_per_call": round(actual, 2),
                      "independent_estimate": round(independent, 2),
                      "dependent_estimate": round(dependent, 2),
                      "n_distinct": {c: round(d, 1) for c, d in distinct.items()},
                      "statistics_kinds": kinds},
            benefit=item.totals.total_ms,
        )
