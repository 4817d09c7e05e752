"""What the generic plans of the top statements show (the plan collector, analyzer/plans.py).

QY101 sequential scans of large tables with a selective filter, QY102 sorts an index could
provide for ORDER BY ... LIMIT, QY103 nested loops that rescan a table for many outer rows,
QY104 row estimates that disagree with what the statement returns (CREATE STATISTICS),
QY105 a plan that changed since the baseline and got more expensive.

Plans are generic (parameters unknown) and never executed: what they give is the planner's
estimates. Where an index would help, the index advisor (IX001) may already propose it;
then the finding is info and names that index, so one index is never proposed twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from pgsage.analyzer.advisor.candidates import provided_by
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate, IndexKey
from pgsage.analyzer.model.plan_tree import Node, walk
from pgsage.analyzer.model.workload import Statement, TableRef, Use
from pgsage.analyzer.sqlgen import concurrent_definition, ident, index_name
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.plans import PlanRecord
from pgsage.rules._catalog import columns_of
from pgsage.rules._workload import (
    Totals,
    advisor_choices_for,
    free_index_name,
    short,
    statement_evidence,
    table_rows,
    totals,
    workload_ms,
)
from pgsage.rules.base import Rule, register


def resolve(model: Model, statement: Statement | None, relation: str | None) -> TableRef | None:
    """The table a plan node names: the statement's own table of that name, else the only
    table of that name in the snapshot (EXPLAIN without VERBOSE prints no schema)."""
    if not relation:
        return None
    if statement is not None:
        for ref in statement.tables:
            if ref.name == relation:
                return ref
    found = [t for t in model.tables.values() if t.name == relation]
    if len(found) == 1:
        return TableRef(found[0].relid, found[0].schema, found[0].name)
    return None


def node_label(node: Node) -> str:
    label = str(node.get("Node Type", "?"))
    if node.get("Index Name"):
        label += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        label += f" on {node['Relation Name']}"
    return label


def summary(tree: Node, limit: int = 6) -> str:
    """The first nodes of a plan, outermost first: `Limit > Sort > Seq Scan on events`."""
    labels = [node_label(n) for n, _ in walk(tree)]
    text = " > ".join(labels[:limit])
    return text + (" > ..." if len(labels) > limit else "")


@dataclass(frozen=True)
class _Planned:
    queryid: int
    plan: PlanRecord
    totals: Totals
    statement: Statement | None
    share: float


def _planned(model: Model, min_calls: int) -> Iterator[_Planned]:
    found = totals(model)
    total = workload_ms(found) or 1.0
    for queryid, plan in sorted(model.plans.items()):
        t = found.get(queryid)
        if t is None or t.calls < min_calls:
            continue
        yield _Planned(queryid, plan, t, model.workload.statements.get(queryid),
                       t.total_ms / total)


def _where_keys(statement: Statement | None, table: TableRef) -> list[IndexKey]:
    """Equality columns, then one range column, of a statement's WHERE on a table."""
    if statement is None:
        return []
    uses = [u for u in statement.uses_of(table)
            if u.clause == "where" and not u.in_or and u.column and u.expression is None]
    eq = [u.column for u in uses if u.use in (Use.EQ, Use.IN)]
    ranges = [u.column for u in uses if u.use in (Use.RANGE, Use.LIKE_PREFIX)]
    keys: list[str] = []
    for col in [*eq, *ranges[:1]]:
        if col and col not in keys:
            keys.append(col)
    return [IndexKey(c) for c in keys]


def _covered(model: Model, item: _Planned, relid: int) -> str | None:
    """The name of an IX001 index on this table for this statement, if the advisor has one."""
    for choice in advisor_choices_for(model, item.queryid):
        if choice.candidate.table.relid == relid:
            return choice.name
    return None


def _index_action(model: Model, candidate: Candidate) -> tuple[str, Action]:
    name = free_index_name(model, candidate)
    return name, Action(sql=candidate.definition(name=name) + ";",
                        undo_sql=f"DROP INDEX CONCURRENTLY IF EXISTS "
                                 f"{ident(candidate.table.schema, name)};")


def _severity(rule: Rule, item: _Planned, medium_share: float) -> Severity:
    return Severity.MEDIUM if item.share >= medium_share else rule.severity


@register
class PlanSeqScan(Rule):
    """The plan reads a large table sequentially to keep a small part of it.

    What it detects:
        In the generic plan of a statement called at least `min_calls` times, a
        sequential scan with a filter on a table of at least `min_rows` rows where the
        planner expects the filter to keep at most `max_selectivity` of the rows. The
        index proposed is on the statement's equality columns, then one range column.
        When IX001 already proposes an index for this statement on that table, the
        finding is info and names it. Medium from `medium_share` of statement time.

    Why it matters:
        Reading a million rows to return a hundred costs the whole table's I/O and CPU on
        every call, and evicts useful pages from the cache.

    Example:
        Seq Scan on orders  Filter: (status = $1)   -- 2M rows, 0.5% expected to match

    What to do:
        Create the index (the action builds it CONCURRENTLY); `pgsage indexes --explain
        QUERYID` shows the plan with pgsage's proposed indexes.

    Options:
        min_calls: calls of the statement over the window.
        min_rows: rows of the scanned table.
        max_selectivity: share of the table's rows the filter keeps, at most.
        medium_share: share of statement time for medium.
    """

    code: ClassVar[str] = "QY101"
    name: ClassVar[str] = "query.plan_seq_scan"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 10
        min_rows: int = 100_000
        max_selectivity: float = 0.05
        medium_share: float = 0.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for item in _planned(model, options.min_calls):
            seen: set[int] = set()
            for node, parent in walk(item.plan.tree):
                if node.get("Node Type") != "Seq Scan" or "Filter" not in node:
                    continue
                ref = resolve(model, item.statement, node.get("Relation Name"))
                if ref is None or ref.relid in seen:
                    continue
                rows = table_rows(model.tables.get(ref.relid))
                workers = (int(parent.get("Workers Planned", 0)) + 1
                           if parent and node.get("Parallel Aware") else 1)
                kept = float(node.get("Plan Rows", 0)) * workers
                if rows < options.min_rows or kept / rows > options.max_selectivity:
                    continue
                seen.add(ref.relid)
                finding = self._finding(model, item, ref, node, rows, kept, options)
                if finding is not None:
                    yield finding

    def _finding(self, model: Model, item: _Planned, ref: TableRef, node: Node, rows: float,
                 kept: float, options: Options) -> Recommendation | None:
        common = (f"The generic plan of queryid {item.queryid} ({item.totals.calls:,} calls, "
                  f"{item.share:.0%} of statement time) reads all {rows:,.0f} rows of "
                  f"{ref.name} to keep about {kept:,.0f} ({kept / rows:.2%}): Filter "
                  f"{node.get('Filter')}.")
        evidence: dict[str, Any] = {**statement_evidence(model, item.totals),
                                    "table_rows": rows, "plan_rows": kept,
                                    "filter": node.get("Filter"), "plan": summary(item.plan.tree)}
        covered = _covered(model, item, ref.relid)
        if covered is not None:
            return self.finding(
                severity=Severity.INFO,
                title=f"Seq scan of {ref.name} in queryid {item.queryid}: IX001's {covered} "
                      "serves it",
                detail=f"{common} The index advisor proposes {covered} for it (IX001).",
                object=ObjectRef(ref.schema, ref.name),
                impact={"queryids": [item.queryid]},
                evidence={**evidence, "index_advisor": covered}, benefit=item.totals.total_ms)
        keys = _where_keys(item.statement, ref)
        if not keys:
            return None
        candidate = Candidate(ref, tuple(keys))
        if provided_by(candidate, model.indexes_by_table.get(ref.relid, [])):
            return None  # an index exists: the generic estimate, not a missing index
        name, action = _index_action(model, candidate)
        return self.finding(
            severity=_severity(self, item, options.medium_share),
            title=f"Seq scan of {rows:,.0f} rows of {ref.name} keeps {kept / rows:.2%}: "
                  f"index {candidate.label()}",
            detail=(f"{common} An index on {candidate.label()} lets the planner read only the "
                    "matching rows. The index advisor did not choose it (without HypoPG it "
                    f"only estimates): check with `pgsage indexes --explain {item.queryid}`."
                    f"\n  {short(model.statement_text(item.queryid), 300)}"),
            object=ObjectRef(ref.schema, ref.name, name, tuple(k.label() for k in keys)),
            action=action,
            impact={"queryids": [item.queryid]},
            evidence=evidence,
            benefit=item.totals.total_ms,
        )


def _sort_under_limit(tree: Node) -> Node | None:
    """A Sort that a Limit reads (directly or through Gather Merge / Result)."""
    for node, _ in walk(tree):
        if node.get("Node Type") != "Limit":
            continue
        child = (node.get("Plans") or [None])[0]
        while child is not None and child.get("Node Type") in ("Gather Merge", "Result"):
            child = (child.get("Plans") or [None])[0]
        if child is not None and child.get("Node Type") == "Sort":
            found: Node = child
            return found
    return None


@register
class PlanSortForLimit(Rule):
    """ORDER BY ... LIMIT sorts the whole input where an index could give the order.

    What it detects:
        Statements with ORDER BY on columns of one table and a LIMIT, called at least
        `min_calls` times, whose generic plan sorts (a Sort under the Limit) the rows of
        a table of at least `min_rows` rows. The index proposed has the statement's
        equality columns first, then the ORDER BY columns in their direction. When
        IX001 already proposes an index for this statement on that table, the finding is
        info and names it. Medium from `medium_share` of statement time.

    Why it matters:
        With the order from an index, `ORDER BY created_at DESC LIMIT 20` reads 20
        entries and stops; without it, every matching row is read and sorted to keep
        twenty (a top-N heapsort, or a sort to disk).

    Example:
        SELECT * FROM events WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20
        -- Limit > Sort > Seq Scan on events

    What to do:
        Create the index (the action); the Sort disappears from the plan.

    Options:
        min_calls: calls of the statement over the window.
        min_rows: rows of the sorted table.
        medium_share: share of statement time for medium.
    """

    code: ClassVar[str] = "QY102"
    name: ClassVar[str] = "query.plan_sort_limit"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 10
        min_rows: int = 10_000
        medium_share: float = 0.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for item in _planned(model, options.min_calls):
            st = item.statement
            if st is None or not st.has_limit:
                continue
            order = [u for u in st.uses if u.use is Use.ORDER]
            tables = {u.table for u in order}
            if not order or len(tables) != 1 or any(u.column is None and u.expression is None
                                                    for u in order):
                continue
            sort = _sort_under_limit(item.plan.tree)
            if sort is None:
                continue
            ref = next(iter(tables))
            rows = table_rows(model.tables.get(ref.relid))
            if rows < options.min_rows:
                continue
            flip = order[0].direction == "desc"
            keys = [k for k in _where_keys(st, ref) if k.column not in
                    {u.column for u in order}]
            keys = [k for k in keys if k.column not in {u.column for u in st.uses_of(ref)
                                                        if u.use is Use.RANGE}]
            keys += [IndexKey(u.column, u.expression, (u.direction == "desc") != flip)
                     for u in order]
            candidate = Candidate(ref, tuple(keys))
            if provided_by(candidate, model.indexes_by_table.get(ref.relid, [])):
                continue
            sort_key = ", ".join(str(k) for k in sort.get("Sort Key", []))
            common = (f"The generic plan of queryid {item.queryid} ({item.totals.calls:,} "
                      f"calls) sorts rows of {ref.name} ({rows:,.0f} rows) by {sort_key} to "
                      f"return the first few ({summary(item.plan.tree)}).")
            evidence: dict[str, Any] = {**statement_evidence(model, item.totals),
                                        "sort_key": sort_key, "table_rows": rows,
                                        "plan": summary(item.plan.tree)}
            covered = _covered(model, item, ref.relid)
            if covered is not None:
                yield self.finding(
                    severity=Severity.INFO,
                    title=f"Sort for ORDER BY ... LIMIT in queryid {item.queryid}: IX001's "
                          f"{covered} serves it",
                    detail=f"{common} The index advisor proposes {covered} for it (IX001).",
                    object=ObjectRef(ref.schema, ref.name),
                    impact={"queryids": [item.queryid]},
                    evidence={**evidence, "index_advisor": covered},
                    benefit=item.totals.total_ms)
                continue
            name, action = _index_action(model, candidate)
            yield self.finding(
                severity=_severity(self, item, options.medium_share),
                title=f"ORDER BY ... LIMIT sorts {ref.name}: index {candidate.label()} gives "
                      "the order",
                detail=(f"{common} With an index on {candidate.label()} the plan reads the "
                        "first rows in order and stops at the LIMIT.\n  "
                        f"{short(model.statement_text(item.queryid), 300)}"),
                object=ObjectRef(ref.schema, ref.name, name, tuple(k.label() for k in keys)),
                action=action,
                impact={"queryids": [item.queryid]},
                evidence=evidence,
                benefit=item.totals.total_ms,
            )


def _inner_seq_scan(node: Node) -> Node | None:
    """A Seq Scan the inner side of a nested loop runs (maybe through Materialize)."""
    for child, _ in walk(node):
        if child.get("Node Type") == "Seq Scan":
            return child
        if child.get("Node Type") not in ("Materialize", "Seq Scan"):
            return None
    return None


@register
class PlanNestedLoop(Rule):
    """A nested loop rescans a table for each of many outer rows.

    What it detects:
        In the generic plan of a statement called at least `min_calls` times, a Nested
        Loop whose outer side is expected to return at least `min_outer_rows` rows and
        whose inner side is a sequential scan (maybe materialized) of a table with at
        least `min_inner_rows` rows: no index on the join column lets the inner side
        look rows up. The index proposed is on the inner table's join columns. When IX001
        already proposes an index for this statement on that table, the finding is info.

    Why it matters:
        The work is the product of both sides: 10,000 outer rows times a scan of 5,000
        rows is 50 million row comparisons per call.

    Example:
        Nested Loop > Seq Scan on orders (20,000 rows) > Materialize > Seq Scan on items

    What to do:
        Index the inner table's join column (the action), so each outer row becomes an
        index lookup (or the planner picks a hash join). If the outer estimate is far
        off, QY104 may say why.

    Options:
        min_calls: calls of the statement over the window.
        min_outer_rows: rows expected from the outer side.
        min_inner_rows: rows of the inner table.
        medium_share: share of statement time for medium.
    """

    code: ClassVar[str] = "QY103"
    name: ClassVar[str] = "query.plan_nested_loop"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 10
        min_outer_rows: int = 10_000
        min_inner_rows: int = 1000
        medium_share: float = 0.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for item in _planned(model, options.min_calls):
            for node, _ in walk(item.plan.tree):
                plans = node.get("Plans", [])
                if node.get("Node Type") != "Nested Loop" or len(plans) != 2:
                    continue
                outer_rows = float(plans[0].get("Plan Rows", 0))
                inner = _inner_seq_scan(plans[1])
                if outer_rows < options.min_outer_rows or inner is None:
                    continue
                ref = resolve(model, item.statement, inner.get("Relation Name"))
                if ref is None:
                    continue
                inner_rows = table_rows(model.tables.get(ref.relid))
                if inner_rows < options.min_inner_rows:
                    continue
                finding = self._finding(model, item, ref, outer_rows, inner_rows, options)
                if finding is not None:
                    yield finding
                break

    def _finding(self, model: Model, item: _Planned, ref: TableRef, outer_rows: float,
                 inner_rows: float, options: Options) -> Recommendation | None:
        common = (f"The generic plan of queryid {item.queryid} ({item.totals.calls:,} calls) "
                  f"joins with a nested loop: about {outer_rows:,.0f} outer rows, and for each "
                  f"a scan of {ref.name} ({inner_rows:,.0f} rows) - "
                  f"{outer_rows * inner_rows:,.0f} row visits per call "
                  f"({summary(item.plan.tree)}).")
        evidence: dict[str, Any] = {**statement_evidence(model, item.totals),
                                    "outer_rows": outer_rows, "inner_rows": inner_rows,
                                    "plan": summary(item.plan.tree)}
        covered = _covered(model, item, ref.relid)
        if covered is not None:
            return self.finding(
                severity=Severity.INFO,
                title=f"Nested loop over {ref.name} in queryid {item.queryid}: IX001's "
                      f"{covered} serves it",
                detail=f"{common} The index advisor proposes {covered} for it (IX001).",
                object=ObjectRef(ref.schema, ref.name), impact={"queryids": [item.queryid]},
                evidence={**evidence, "index_advisor": covered}, benefit=item.totals.total_ms)
        joins = []
        if item.statement is not None:
            for u in item.statement.uses_of(ref):
                if u.use is Use.JOIN and u.column and u.expression is None \
                        and u.column not in joins:
                    joins.append(u.column)
        if not joins:
            return None
        candidate = Candidate(ref, tuple(IndexKey(c) for c in joins[:2]))
        if provided_by(candidate, model.indexes_by_table.get(ref.relid, [])):
            return None
        name, action = _index_action(model, candidate)
        return self.finding(
            severity=_severity(self, item, options.medium_share),
            title=f"Nested loop rescans {ref.name} for {outer_rows:,.0f} rows: index "
                  f"{candidate.label()}",
            detail=(f"{common} An index on the join column {', '.join(joins[:2])} turns each "
                    "rescan into a lookup.\n  "
                    f"{short(model.statement_text(item.queryid), 300)}"),
            object=ObjectRef(ref.schema, ref.name, name, tuple(joins[:2])),
            action=action, impact={"queryids": [item.queryid]}, evidence=evidence,
            benefit=item.totals.total_ms,
        )


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
class EstimateMismatch(Rule):
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

    Options:
        min_calls: calls of the statement over the window.
        factor: ratio of rows returned to rows estimated.
        min_rows: rows per call at least.
        medium_share: share of statement time for medium.
    """

    code: ClassVar[str] = "QY104"
    name: ClassVar[str] = "query.estimate_mismatch"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 10
        factor: float = 10.0
        min_rows: float = 50.0
        medium_share: float = 0.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        for item in _planned(model, options.min_calls):
            st = item.statement
            if st is None or not st.plain_select or st.has_limit or len(st.tables) != 1:
                continue
            if any(u.use is Use.GROUP for u in st.uses) or st.count_without_where:
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

    def _finding(self, model: Model, item: _Planned, ref: TableRef, eq: list[str],
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
            severity=_severity(self, item, options.medium_share),
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


def _baseline_indexes(model: Model) -> dict[str, IndexStats]:
    if model.baseline is None:
        return {}
    return {ix.name: ix for ix in model.baseline.rows("indexes", IndexStats)}


@register
class PlanChanged(Rule):
    """A statement's plan changed since the baseline and became more expensive.

    What it detects:
        Statements planned in both the baseline and the current snapshot (the plan
        collector keeps each plan's hash) whose plan shape differs and whose estimated
        cost rose at least `factor` times and by at least `min_cost_increase`. The finding
        says which nodes and indexes changed; an index the old plan used that no longer
        exists is recreated by the action (from its definition in the baseline). Low
        when the statement ran fewer than `min_calls` times in the window.

    Why it matters:
        Plans change silently: an index dropped or invalid, statistics refreshed on a
        different sample, a setting changed. The statement keeps working, only slower,
        often by orders of magnitude.

    Example:
        queryid 512: Index Scan using users_email_idx on users (cost 8.3) ->
        Seq Scan on users (cost 2,041.0)

    What to do:
        Recreate the index the old plan used (the action) when it is gone; otherwise
        ANALYZE the statement's tables and compare the plans with `pgsage indexes
        --explain QUERYID`.

    Options:
        factor: ratio of the new cost to the old, at least.
        min_cost_increase: absolute cost increase, at least.
        min_calls: calls in the window for the default severity.
    """

    code: ClassVar[str] = "QY105"
    name: ClassVar[str] = "query.plan_changed"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        factor: float = 1.5
        min_cost_increase: float = 10.0
        min_calls: int = 10

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        before_all = model.baseline_plans
        if not before_all:
            return
        found = totals(model)
        now_indexes = {ix.name for ix in model.indexes}
        old_indexes = _baseline_indexes(model)
        for queryid, now in sorted(model.plans.items()):
            before = before_all.get(queryid)
            if before is None or before.plan_hash == now.plan_hash:
                continue
            if now.total_cost < before.total_cost * options.factor \
                    or now.total_cost - before.total_cost < options.min_cost_increase:
                continue
            t = found.get(queryid)
            statement = model.workload.statements.get(queryid)
            lost = [name for name in before.indexes if name not in now.indexes]
            gone = [old_indexes[n] for n in lost if n not in now_indexes and n in old_indexes]
            action: Action | None
            if gone:
                action = Action(sql="\n".join(concurrent_definition(ix.definition)
                                              for ix in gone),
                                undo_sql="\n".join(f"DROP INDEX CONCURRENTLY IF EXISTS "
                                                   f"{ident(ix.schema, ix.name)};"
                                                   for ix in gone))
                cause = (f"The old plan used {', '.join(ix.name for ix in gone)}, which no "
                         "longer exists: recreating it (the action) restores the old plan.")
            else:
                tables = sorted(statement.tables, key=lambda r: (r.schema, r.name)) \
                    if statement else []
                action = (Action(sql="\n".join(f"ANALYZE {ident(r.schema, r.name)};"
                                               for r in tables)) if tables else None)
                cause = ((f"The old plan used {', '.join(lost)}, which still exists: the "
                          "planner no longer chooses it. ") if lost else "") + \
                    ("Statistics or settings changed: refresh the statistics of its tables "
                     "(the action) and compare the plans.")
            calls = t.calls if t else 0
            severity = self.severity if calls >= options.min_calls else Severity.LOW
            ratio = now.total_cost / max(before.total_cost, 0.01)
            ref = next(iter(statement.tables)) if statement and len(statement.tables) == 1 \
                else None
            yield self.finding(
                severity=severity,
                title=f"Plan of queryid {queryid} changed and costs {ratio:,.1f}x more "
                      f"({before.total_cost:,.1f} -> {now.total_cost:,.1f})",
                detail=(f"Between the baseline and now the plan of queryid {queryid} changed "
                        f"(hash {before.plan_hash} -> {now.plan_hash}), its estimated cost from "
                        f"{before.total_cost:,.1f} to {now.total_cost:,.1f}; it ran {calls:,} "
                        f"times in the window.\n  before: {summary(before.tree)}\n  now:    "
                        f"{summary(now.tree)}\n{cause}\n  "
                        f"{short(model.statement_text(queryid), 300)}"),
                object=ObjectRef(ref.schema, ref.name) if ref else ObjectRef(),
                action=action,
                impact={"queryids": [queryid], "cost_before": before.total_cost,
                        "cost_after": now.total_cost},
                evidence={**(statement_evidence(model, t) if t else {"queryid": str(queryid)}),
                          "plan_hash_before": before.plan_hash, "plan_hash_now": now.plan_hash,
                          "cost_before": before.total_cost, "cost_now": now.total_cost,
                          "plan_before": summary(before.tree), "plan_now": summary(now.tree),
                          "indexes_no_longer_used": lost,
                          "indexes_gone": [ix.name for ix in gone]},
                benefit=(now.total_cost - before.total_cost) * max(calls, 1),
            )
