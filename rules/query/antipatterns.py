"""Anti-patterns found in the parse tree of each statement (the workload model).

QY004 non-sargable predicates, QY005 leading-wildcard LIKE, QY006 OR across columns,
QY007 NOT IN (subquery), QY008 large OFFSET, QY009 SELECT * on wide tables, QY010
unbounded COUNT(*) on large tables, QY011 ORDER BY random().

pg_stat_statements replaces constants with `$n` placeholders, so a rule that needs a
constant (the LIKE pattern, the OFFSET) sees it only in texts that still carry it; the
others work on normalized texts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate, IndexKey
from pgsage.analyzer.model.workload import ColumnUse, Statement, TableRef, Use
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import format_bytes
from pgsage.rules._catalog import columns_of
from pgsage.rules._workload import (
    Totals,
    advisor_choice_on,
    expression_indexed,
    free_index_name,
    is_catalog_only,
    leading_indexed,
    short,
    statement_evidence,
    table_rows,
    totals,
)
from pgsage.rules.base import Rule, register

MB = 1024**2

FILTER_USES = {Use.EQ, Use.IN, Use.RANGE, Use.LIKE_PREFIX, Use.LIKE_PARAM, Use.LIKE_INFIX,
               Use.NULL, Use.NOT_NULL, Use.NE}


def _statements(model: Model, min_calls: int) -> Iterator[tuple[Statement, Totals]]:
    """Modelled statements with their counters, busiest first, monitoring queries skipped."""
    found = totals(model)
    pairs = [(s, found[q]) for q, s in model.workload.statements.items()
             if q in found and found[q].calls >= min_calls and not is_catalog_only(s)]
    yield from sorted(pairs, key=lambda p: -p[1].total_ms)


def _table_ref_object(table: TableRef, columns: tuple[str, ...] | None = None) -> ObjectRef:
    return ObjectRef(table.schema, table.name, None, columns)


@register
class NonSargable(Rule):
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

    Options:
        min_rows: rows a table needs for the finding.
        large_rows / min_calls_medium: rows and calls from which it is medium.
    """

    code: ClassVar[str] = "QY004"
    name: ClassVar[str] = "query.non_sargable"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 1000
        large_rows: int = 100_000
        min_calls_medium: int = 100

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        groups: dict[tuple[int, str], list[tuple[Statement, Totals, ColumnUse]]] = \
            defaultdict(list)
        for statement, t in _statements(model, 1):
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
                object=_table_ref_object(table, (column,)),
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
            object=_table_ref_object(table, (column,)),
            action=Action(sql=candidate.definition(name=name) + ";",
                          undo_sql=f"DROP INDEX CONCURRENTLY IF EXISTS "
                                   f"{ident(table.schema, name)};"),
            impact={"queryids": queryids},
            evidence={"expression": expression, "column": column, "rows": rows,
                      "indexes_on_column": existing,
                      "statements": [statement_evidence(model, t) for _, t, _ in hits]},
            benefit=sum(t.total_ms for _, t, _ in hits),
        )


def _has_trigram_index(model: Model, relid: int, column: str) -> str | None:
    for ix in model.indexes_by_table.get(relid, []):
        if ix.is_valid and ix.method in ("gin", "gist") and column in ix.columns \
                and any("trgm" in op for op in ix.opclasses):
            return ix.name
    return None


@register
class LeadingWildcard(Rule):
    """LIKE or ILIKE with a pattern that starts with a wildcard: no btree index helps.

    What it detects:
        Conditions `col LIKE '%...'` (or `_`, or ILIKE) on tables with at least `min_rows`
        rows and no trigram index on the column. pg_stat_statements replaces the pattern
        with a placeholder (`col LIKE $1`), so this is seen only in texts that keep their
        constants (texts given to pgsage from elsewhere, statements built without
        placeholders that pg_stat_statements did not normalize); a pattern bound as a
        parameter stays unknown. When IX001 already proposes the trigram index, the
        finding is info and points to it.

    Why it matters:
        A btree index can find a prefix (`abc%`), never a substring: every call reads
        every row and runs the pattern on it.

    Example:
        SELECT * FROM products WHERE name ILIKE '%phone%'

    What to do:
        Create a trigram GIN index (pg_trgm) on the column: it serves LIKE/ILIKE with any
        pattern of three characters or more. For word search, full-text search
        (tsvector) may fit better.

    Options:
        min_rows: rows a table needs for the finding.
    """

    code: ClassVar[str] = "QY005"
    name: ClassVar[str] = "query.leading_wildcard"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 10_000

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        groups: dict[tuple[int, str], list[tuple[Statement, Totals, ColumnUse]]] = \
            defaultdict(list)
        for statement, t in _statements(model, 1):
            for use in statement.uses:
                if use.use is not Use.LIKE_INFIX or use.column is None \
                        or use.expression is not None or not use.literal \
                        or not use.literal.startswith(("%", "_")):
                    continue
                if table_rows(model.tables.get(use.table.relid)) < options.min_rows:
                    continue
                if _has_trigram_index(model, use.table.relid, use.column):
                    continue
                groups[(use.table.relid, use.column)].append((statement, t, use))
        for (relid, column), hits in groups.items():
            table = hits[0][2].table
            rows = table_rows(model.tables.get(relid))
            queryids = sorted({t.queryid for _, t, _ in hits})
            patterns = sorted({u.literal or "" for _, _, u in hits})[:5]
            choice = advisor_choice_on(model, relid, column=column, method="gin")
            common = (f"{len(queryids)} statement(s) search {table.name}.{column} with a "
                      f"pattern that starts with a wildcard ({', '.join(patterns)}): no btree "
                      f"index can serve it, so each call reads all {rows:,.0f} rows.")
            if choice is not None:
                yield self.finding(
                    severity=Severity.INFO,
                    title=f"Leading-wildcard LIKE on {table.name}.{column}: IX001 proposes "
                          f"{choice.name}",
                    detail=f"{common} The index advisor proposes {choice.name} (IX001).",
                    object=_table_ref_object(table, (column,)),
                    impact={"queryids": queryids},
                    evidence={"patterns": patterns, "rows": rows, "index_advisor": choice.name},
                    benefit=sum(t.total_ms for _, t, _ in hits))
                continue
            candidate = Candidate(table, (IndexKey(column, opclass="gin_trgm_ops"),),
                                  method="gin", needs_extension="pg_trgm", origin="trigram")
            name = free_index_name(model, candidate).replace("_gin_idx", "_trgm_idx")
            lines = []
            if not model.extension_installed("pg_trgm"):
                lines.append("CREATE EXTENSION IF NOT EXISTS pg_trgm;")
            lines.append(candidate.definition(name=name) + ";")
            yield self.finding(
                title=f"Leading-wildcard LIKE on {table.name}.{column}: add a trigram index",
                detail=(f"{common} A trigram GIN index (pg_trgm) serves LIKE and ILIKE with any "
                        "pattern of three characters or more."),
                object=_table_ref_object(table, (column,)),
                action=Action(sql="\n".join(lines),
                              undo_sql=f"DROP INDEX CONCURRENTLY IF EXISTS "
                                       f"{ident(table.schema, name)};"),
                impact={"queryids": queryids},
                evidence={"patterns": patterns, "rows": rows,
                          "pg_trgm_installed": model.extension_installed("pg_trgm")},
                benefit=sum(t.total_ms for _, t, _ in hits),
            )


def _slow(t: Totals, min_calls: int, min_mean_ms: float) -> bool:
    return t.calls >= min_calls and t.mean_exec_ms >= min_mean_ms


@register
class OrAcrossColumns(Rule):
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

    Options:
        min_calls / min_mean_ms: calls and mean execution time a statement needs.
        min_rows: rows the table needs.
    """

    code: ClassVar[str] = "QY006"
    name: ClassVar[str] = "query.or_across_columns"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 10
        min_mean_ms: float = 5.0
        min_rows: int = 10_000

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in _statements(model, options.min_calls):
            if not statement.or_across_columns or not _slow(t, options.min_calls,
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
                    object=_table_ref_object(table, tuple(sorted(cols))),
                    impact={"queryids": [t.queryid]},
                    evidence={**statement_evidence(model, t), "or_columns": sorted(cols),
                              "unindexed": bare},
                    benefit=t.total_ms,
                )


@register
class NotInSubquery(Rule):
    """NOT IN (SELECT ...): wrong with NULLs and slow without an anti-join.

    What it detects:
        Statements with `x NOT IN (SELECT ...)` called at least `min_calls` times.

    Why it matters:
        If the subquery returns a single NULL, `NOT IN` is never true and the statement
        returns nothing: rarely what was meant. The planner cannot turn NOT IN into an
        anti-join; it runs a hashed subplan that must fit in work_mem, or else rescans
        the subquery for every row.

    Example:
        SELECT * FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)

    What to do:
        Write `NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.id)`:
        an anti-join, and the answer one expects with NULLs.

    Options:
        min_calls: calls a statement needs.
    """

    code: ClassVar[str] = "QY007"
    name: ClassVar[str] = "query.not_in_subquery"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in _statements(model, options.min_calls):
            if not statement.not_in_subquery:
                continue
            yield self.finding(
                title=f"NOT IN (subquery) in queryid {t.queryid}: use NOT EXISTS",
                detail=(f"queryid {t.queryid} ({t.calls:,} calls, {t.mean_exec_ms:,.2f} ms mean) "
                        "uses NOT IN with a subquery: a NULL from the subquery makes it return "
                        "no rows, and it cannot be planned as an anti-join. NOT EXISTS with "
                        "the same correlation is both correct with NULLs and an anti-join."
                        f"\n  {short(statement.text, 300)}"),
                object=ObjectRef(),
                impact={"queryids": [t.queryid]},
                evidence=statement_evidence(model, t),
                benefit=t.total_ms,
            )


def _order_columns(statement: Statement) -> list[str]:
    return [u.column for u in statement.uses if u.use is Use.ORDER and u.column]


@register
class LargeOffset(Rule):
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

    Options:
        min_offset: a literal OFFSET from which a statement is reported (low).
        min_mean_ms / max_rows_per_call: for a parameter OFFSET, mean time and rows per
        call of a statement reported as info.
    """

    code: ClassVar[str] = "QY008"
    name: ClassVar[str] = "query.large_offset"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_offset: int = 1000
        min_mean_ms: float = 20.0
        max_rows_per_call: float = 1000.0

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in _statements(model, 1):
            if not statement.has_offset:
                continue
            literal_offset = statement.offset_literal
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


@register
class SelectStarWide(Rule):
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

    Options:
        min_calls: calls a statement needs.
        min_columns / min_width: what makes a table wide.
        min_toast_bytes: TOAST size from which the finding is low.
    """

    code: ClassVar[str] = "QY009"
    name: ClassVar[str] = "query.select_star"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 100
        min_columns: int = 20
        min_width: int = 1000
        min_toast_bytes: int = 10 * MB

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        for statement, t in _statements(model, options.min_calls):
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
                    object=_table_ref_object(table),
                    impact={"queryids": [t.queryid]},
                    evidence={**statement_evidence(model, t), "columns": len(found),
                              "avg_row_width": width, "toast_bytes": toast},
                    benefit=t.total_ms,
                )


@register
class CountStarLarge(Rule):
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

    Options:
        min_rows: rows the table needs.
        min_calls: calls over the window.
    """

    code: ClassVar[str] = "QY010"
    name: ClassVar[str] = "query.count_star"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 1_000_000
        min_calls: int = 10

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in _statements(model, options.min_calls):
            for table in statement.count_without_where:
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
                    object=_table_ref_object(table),
                    action=Action(sql=f"SELECT reltuples::bigint AS estimated_rows FROM "
                                      f"pg_class WHERE oid = {relation}::regclass;"),
                    impact={"queryids": [t.queryid]},
                    evidence={**statement_evidence(model, t), "table_rows": rows},
                    benefit=t.total_ms,
                )


@register
class OrderByRandom(Rule):
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

    Options:
        min_rows: rows the table needs.
    """

    code: ClassVar[str] = "QY011"
    name: ClassVar[str] = "query.order_by_random"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 10_000

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for statement, t in _statements(model, 1):
            if not statement.order_random:
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
                object=_table_ref_object(table),
                impact={"queryids": [t.queryid]},
                evidence={**statement_evidence(model, t), "table_rows": rows},
                benefit=t.total_ms,
            )

