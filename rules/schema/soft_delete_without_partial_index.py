"""Queries filter out soft-deleted rows, but no index is partial on that condition."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.advisor.inputs import calls_by_queryid
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate
from pgsage.analyzer.model.workload import ColumnUse, Use
from pgsage.analyzer.sqlgen import drop_index, ident, index_name
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.columns import Column
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._stats import describe
from pgsage.rules._support.catalog import columns_of, primary_keys, rows_with_partitions
from pgsage.rules.base import Rule, register
from pgsage.rules.schema._usage import Filtered, plan_choices

SOFT_DELETE = {"deleted_at", "deleted_on", "deleted", "is_deleted", "deleted_time",
               "deletion_time", "archived_at", "is_archived", "archived", "removed_at",
               "is_removed", "discarded_at"}


def _mentions(text: str | None, column: str) -> bool:
    return bool(text) and re.search(rf'(^|[^A-Za-z0-9_"]){re.escape(column)}($|[^A-Za-z0-9_])|'
                                    rf'"{re.escape(column)}"', text or "") is not None


@register
class SoftDeleteWithoutPartialIndex(Rule["SoftDeleteWithoutPartialIndex.Options"]):
    """Queries filter out soft-deleted rows, but no index is partial on that condition.

    What it detects:
        Soft-delete columns (deleted_at, is_deleted, archived_at and similar) of tables
        with at least `min_rows` rows that statements filter on (`deleted_at IS NULL`,
        `NOT is_deleted`) `min_calls` times or more over the window, where no index of the
        table has a predicate on the column. The index keys are the columns the same
        statements compare most often (equality first, then a range); with no other filter
        the primary key, when live rows are at most half of the table (pg_stats).

    Why it matters:
        Without the predicate in an index, every lookup also visits the deleted rows and
        filters them out afterwards; the deleted rows pile up in every index forever. A
        partial index `WHERE deleted_at IS NULL` holds only live rows: smaller, better
        cached, and exact for those queries.

    Example:
        SELECT * FROM orders WHERE user_id = $1 AND deleted_at IS NULL;
        -- only orders (user_id) exists, with 70% of the rows deleted

    What to do:
        Create the partial index CONCURRENTLY (no lock blocking writes). A plain index on
        the same keys may then be unused: IX004 reports it once the window shows that.
    """

    code: ClassVar[str] = "SD006"
    name: ClassVar[str] = "schema.soft_delete_without_partial_index"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM
    reads: ClassVar[tuple[str, ...]] = ("indexes",)

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=10_000, metadata={
            "help": "rows from which a table is considered."})
        min_calls: int = field(default=50, metadata={
            "help": "calls of filtering statements over the window."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        calls = calls_by_queryid(model)
        found: dict[tuple[int, str], Filtered] = {}
        for statement in model.workload.statements.values():
            n = calls.get(statement.queryid, 0)
            for use in statement.uses:
                if use.column not in SOFT_DELETE or use.clause != "where" or use.expression:
                    continue
                if use.use not in (Use.NULL, Use.NOT_NULL, Use.EQ):
                    continue
                f = found.setdefault((use.table.relid, use.column), Filtered())
                if statement.queryid not in f.queryids:
                    f.queryids.add(statement.queryid)
                    f.calls += n
                    f.keys[_keys(statement.uses_of(use.table), use.column)] += n
                f.uses[use.use] += n
                if use.literal is not None:
                    f.literals[use.literal.lower()] += n
        choices: list[Candidate] | None = None
        for (relid, column), f in sorted(found.items()):
            t = model.tables.get(relid)
            col = cols.get(relid, {}).get(column)
            if t is None or col is None or f.calls < options.min_calls:
                continue
            rows = rows_with_partitions(model, t)
            if rows < options.min_rows:
                continue
            indexes = model.indexes_by_table.get(relid, [])
            if any(ix.is_valid and _mentions(ix.predicate, column) for ix in indexes):
                continue
            if choices is None:
                choices = plan_choices(model)
            if any(c.table.relid == relid and _mentions(c.predicate, column) for c in choices):
                continue  # IX001 proposes it with cost evidence
            finding = self._finding(model, t, col, f, rows, indexes)
            if finding is not None:
                yield finding

    def _finding(self, model: Model, t: TableStats, col: Column, f: Filtered,
                 rows: float, indexes: list[IndexStats]) -> Recommendation | None:
        predicate, live = _predicate(col, f)
        keys = list(f.keys.most_common(1)[0][0]) if f.keys else []
        if not keys or keys == [""]:
            pk = primary_keys(model).get(t.relid)
            if pk is None or live is None or live > 0.5:
                return None
            keys = list(pk.columns)
        name = index_name(t.name, keys, "live_idx")
        sql = (f"CREATE INDEX CONCURRENTLY {ident(name)} ON {ident(t.schema, t.name)} "
               f"({', '.join(ident(k) for k in keys)}) WHERE {predicate};")
        if t.relkind == "p":
            sql = sql.replace("CREATE INDEX CONCURRENTLY", "CREATE INDEX", 1)
        plain = [ix for ix in indexes if ix.is_valid and not ix.predicate
                 and list(ix.columns[:len(keys)]) == keys]
        live_text = (f"; pg_stats puts live rows at {live:.0%} of the table" if live is not None
                     else "")
        also = (f" The existing index {plain[0].name} ({format_bytes(plain[0].bytes)}) on the "
                "same keys also indexes the deleted rows; once the partial index is used it "
                "may become unused (IX004 will say)." if plain else "")
        return self.finding(
            title=f"Partial index on {t.name} ({', '.join(keys)}) WHERE {predicate}",
            detail=(f"{len(f.queryids)} statements filter {t.schema}.{t.name} on "
                    f"{col.name} ({f.calls:,} calls over {describe(model.counter_window)}), "
                    f"but no index of the table is partial on it{live_text}. Every lookup "
                    f"also reads the soft-deleted rows among its {rows:,.0f} rows and throws "
                    f"them away; a partial index holds only the rows the queries want.{also}"),
            object=ObjectRef(t.schema, t.name, None, tuple(keys)),
            action=Action(sql=sql, undo_sql=drop_index(t.schema, name,
                                                           concurrently=t.relkind != "p")),
            impact={"queryids": sorted(f.queryids)},
            evidence={"soft_delete_column": col.name, "calls": f.calls, "rows": round(rows),
                      "live_fraction": round(live, 4) if live is not None else None,
                      "statements": len(f.queryids)},
            benefit=float(f.calls) * rows,
        )


def _keys(uses: list[ColumnUse], soft: str) -> tuple[str, ...]:
    """Columns a statement compares besides the soft-delete one: equality, then one range."""
    eq = [u.column for u in uses if u.use in (Use.EQ, Use.IN) and u.column and u.column != soft
          and not u.expression and u.clause == "where"]
    rng = [u.column for u in uses if u.use is Use.RANGE and u.column and u.column != soft
           and not u.expression and u.clause == "where"]
    keys = list(dict.fromkeys(eq))[:2] + [c for c in dict.fromkeys(rng) if c not in eq][:1]
    return tuple(k for k in keys if k)


def _predicate(col: Column, f: Filtered) -> tuple[str, float | None]:
    """The predicate most statements use, and the share of rows it keeps (from pg_stats)."""
    name = ident(col.name)
    null_frac = col.null_frac
    if col.type == "boolean":
        wants_true = f.literals.get("true", 0) + f.literals.get("t", 0) > f.uses[Use.EQ] / 2
        return (name, None) if wants_true else (f"NOT {name}", None)
    if f.uses[Use.NOT_NULL] > f.uses[Use.NULL]:
        return f"{name} IS NOT NULL", (1 - null_frac) if null_frac is not None else None
    return f"{name} IS NULL", null_frac
