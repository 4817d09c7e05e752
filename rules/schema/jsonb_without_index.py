"""A jsonb column is filtered by containment, key existence or a key's value, unindexed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.advisor.inputs import calls_by_queryid
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.index_plan import Candidate
from pgsage.analyzer.model.workload import Use
from pgsage.analyzer.sqlgen import drop_index, ident, index_name
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._stats import describe
from pgsage.rules._support.catalog import columns_of, rows_with_partitions
from pgsage.rules.base import Rule, register
from pgsage.rules.schema._usage import Filtered, plan_choices


def _squash(text: str) -> str:
    return re.sub(r"::[a-z ]+|[\s()]", "", text.lower())


@register
class JsonbWithoutIndex(Rule["JsonbWithoutIndex.Options"]):
    """A jsonb column is filtered by containment, key existence or a key's value, unindexed.

    What it detects:
        jsonb columns of tables with at least `min_rows` rows that statements filter
        `min_calls` times or more over the window with `@>` / `<@` (containment), `?`,
        `?|`, `?&` (key existence) or `col ->> 'key' = ...` (a key's value), where no
        index serves that use: a GIN index on the column (jsonb_path_ops serves only
        containment) or a btree on the same expression.

    Why it matters:
        None of these predicates can use a btree index on the column: every such query
        reads the whole table and decodes every document.

    Example:
        SELECT * FROM events WHERE payload @> '{"type": "signup"}';
        SELECT * FROM events WHERE payload ->> 'user' = $1;

    What to do:
        For containment only, a GIN index with jsonb_path_ops (smaller, faster); with key
        existence, the default jsonb_ops. For one key compared by value, an expression
        btree index on exactly the expression the queries use. Built CONCURRENTLY.
    """

    code: ClassVar[str] = "SD007"
    name: ClassVar[str] = "schema.jsonb_without_index"
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
        found: dict[tuple[int, str, str], Filtered] = {}
        for statement in model.workload.statements.values():
            n = calls.get(statement.queryid, 0)
            for use in statement.uses:
                col = cols.get(use.table.relid, {}).get(use.column or "")
                if col is None or col.type != "jsonb" or use.clause != "where":
                    continue
                if use.use in (Use.JSONB_CONTAINS, Use.JSONB_EXISTS) and not use.expression:
                    kind = "gin"
                elif use.use in (Use.EQ, Use.IN) and use.expression and "->" in use.expression:
                    kind = use.expression
                else:
                    continue
                f = found.setdefault((use.table.relid, col.name, kind), Filtered())
                if statement.queryid not in f.queryids:
                    f.queryids.add(statement.queryid)
                    f.calls += n
                f.uses[use.use] += n
        choices: list[Candidate] | None = None
        for (relid, column, kind), f in sorted(found.items()):
            t = model.tables.get(relid)
            if t is None or f.calls < options.min_calls:
                continue
            rows = rows_with_partitions(model, t)
            if rows < options.min_rows:
                continue
            needs_exists = f.uses[Use.JSONB_EXISTS] > 0
            if self._served(model.indexes_by_table.get(relid, []), column, kind, needs_exists):
                continue
            if choices is None:
                choices = plan_choices(model)
            if self._proposed(choices, relid, column, kind):
                continue
            yield self._finding(model, t, column, kind, needs_exists, f, rows)

    @staticmethod
    def _served(indexes: list[IndexStats], column: str, kind: str, needs_exists: bool) -> bool:
        for ix in indexes:
            if not ix.is_valid or ix.predicate:
                continue
            if kind == "gin":
                if ix.method == "gin" and column in ix.columns:
                    pos = ix.columns.index(column)
                    opclass = ix.opclasses[pos] if pos < len(ix.opclasses) else ""
                    if not (needs_exists and opclass == "jsonb_path_ops"):
                        return True
            elif ix.expressions and _squash(kind) in _squash(ix.expressions):
                return True
        return False

    @staticmethod
    def _proposed(choices: list[Candidate], relid: int, column: str, kind: str) -> bool:
        for c in choices:
            if c.table.relid != relid:
                continue
            for key in c.keys:
                if kind == "gin" and c.method == "gin" and key.column == column:
                    return True
                if kind != "gin" and key.expression and \
                        _squash(key.expression) == _squash(kind):
                    return True
        return False

    def _finding(self, model: Model, t: TableStats, column: str, kind: str, needs_exists: bool,
                 f: Filtered, rows: float) -> Recommendation:
        target = ident(t.schema, t.name)
        how = "CREATE INDEX" if t.relkind == "p" else "CREATE INDEX CONCURRENTLY"
        if kind == "gin":
            opclass = "" if needs_exists else " jsonb_path_ops"
            name = index_name(t.name, [column], "gin_idx")
            sql = f"{how} {ident(name)} ON {target} USING gin ({ident(column)}{opclass});"
            title = f"GIN index on {t.name} ({column}{opclass}) for jsonb " + (
                "key existence" if needs_exists else "containment")
            what = ("key existence (?, ?|, ?&)" if needs_exists else "containment (@>)")
        else:
            name = index_name(t.name, [column, "expr"], "idx")
            sql = f"{how} {ident(name)} ON {target} (({kind}));"
            title = f"Expression index on {t.name} (({kind}))"
            what = f"the value of {kind}"
        return self.finding(
            title=title,
            detail=(f"{len(f.queryids)} statements filter {t.schema}.{t.name}.{column} (jsonb) "
                    f"by {what}, {f.calls:,} calls over {describe(model.counter_window)}, and "
                    f"no index serves it: each call reads all {rows:,.0f} rows and decodes "
                    "every document."),
            object=ObjectRef(t.schema, t.name, None, (column,)),
            action=Action(sql=sql, undo_sql=drop_index(t.schema, name,
                                                           concurrently=t.relkind != "p")),
            impact={"queryids": sorted(f.queryids)},
            evidence={"column": column, "calls": f.calls, "rows": round(rows),
                      "uses": {u.value: n for u, n in f.uses.items()}},
            benefit=float(f.calls) * rows,
        )
