"""A `<name>_id` column looks like a reference but has no foreign key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, index_name
from pgsage.collectors.columns import Column
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import (
    columns_of,
    foreign_keys,
    primary_keys,
    rows_with_partitions,
)
from pgsage.rules.base import NoOptions, Rule, register

INTEGER_FAMILY = {"smallint", "integer", "bigint"}


def _compatible(a: str, b: str) -> bool:
    return a == b or (a in INTEGER_FAMILY and b in INTEGER_FAMILY)


def _candidates(prefix: str) -> list[str]:
    """Table names `user` may refer to: user, users, useres; category -> categories."""
    names = [prefix, prefix + "s", prefix + "es"]
    if prefix.endswith("y"):
        names.append(prefix[:-1] + "ies")
    return names


@register
class IdWithoutForeignKey(Rule[NoOptions]):
    """A `<name>_id` column looks like a reference but has no foreign key.

    What it detects:
        Columns named `<name>_id` that are not part of any foreign key or of their own
        table's primary key, where a table named `<name>` (or its plural) exists in the same
        schema with a single-column primary key of a compatible type. Information only:
        some references are left unenforced on purpose (cross-database, archives).

    Why it matters:
        Without the constraint nothing stops rows that point nowhere (orphans after a
        delete, typos in imports); the planner also cannot use the key for join removal.

    Example:
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);   -- customers(id)

    What to do:
        Add the foreign key NOT VALID (instant: checks new rows only), then VALIDATE it
        (reads the table without blocking writes); index the column if no index starts
        with it, so deletes on the referenced table stay fast.
    """

    code: ClassVar[str] = "SD008"
    name: ClassVar[str] = "schema.id_without_foreign_key"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.INFO
    reads: ClassVar[tuple[str, ...]] = ("constraints",)
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        cols = columns_of(model)
        pks = primary_keys(model)
        referencing = {(c.relid, name) for c in foreign_keys(model) for name in c.columns}
        by_name = {(t.schema, t.name): t for t in model.tables.values() if not t.is_partition}
        for t in by_name.values():
            own_pk = pks.get(t.relid)
            for col in cols.get(t.relid, {}).values():
                if not col.name.endswith("_id") or len(col.name) <= 3:
                    continue
                if (t.relid, col.name) in referencing or (own_pk and col.name in own_pk.columns):
                    continue
                target = self._target(by_name, pks, cols, t.schema, col.name[:-3], col.type)
                if target is None or target[0].relid == t.relid:
                    continue
                yield self._finding(model, t, col.name, target[0], target[1])

    @staticmethod
    def _target(by_name: dict[tuple[str, str], TableStats], pks: dict[int, Constraint],
                cols: dict[int, dict[str, Column]], schema: str, prefix: str,
                type_name: str) -> tuple[TableStats, str] | None:
        for name in _candidates(prefix):
            ref = by_name.get((schema, name))
            pk = pks.get(ref.relid) if ref is not None else None
            if ref is None or pk is None or len(pk.columns) != 1:
                continue
            ref_col = cols.get(ref.relid, {}).get(pk.columns[0])
            if ref_col is not None and _compatible(ref_col.type, type_name):
                return ref, pk.columns[0]
        return None

    def _finding(self, model: Model, t: TableStats, column: str, ref: TableStats,
                 ref_column: str) -> Recommendation:
        name = index_name(t.name, [column], "fkey")
        target = ident(t.schema, t.name)
        lines = [f"ALTER TABLE {target} ADD CONSTRAINT {ident(name)} FOREIGN KEY "
                 f"({ident(column)}) REFERENCES {ident(ref.schema, ref.name)} "
                 f"({ident(ref_column)}) NOT VALID;",
                 f"ALTER TABLE {target} VALIDATE CONSTRAINT {ident(name)};"]
        indexed = any(ix.is_valid and not ix.predicate and ix.columns[:1] == (column,)
                      for ix in model.indexes_by_table.get(t.relid, []))
        if not indexed:
            ix_name = index_name(t.name, [column], "idx")
            how = "CREATE INDEX" if t.relkind == "p" else "CREATE INDEX CONCURRENTLY"
            lines.append(f"{how} {ident(ix_name)} ON {target} ({ident(column)});")
        rows = rows_with_partitions(model, t)
        return self.finding(
            title=f"{t.name}.{column} has no foreign key to {ref.name}",
            detail=(f"{t.schema}.{t.name}.{column} looks like a reference to "
                    f"{ref.schema}.{ref.name}.{ref_column} but no foreign key enforces it, so "
                    f"rows of {t.name} ({rows:,.0f}) may point to {ref.name} rows that do not "
                    "exist. VALIDATE fails on existing orphans: find them first with a LEFT "
                    "JOIN ... WHERE ref IS NULL."),
            object=ObjectRef(t.schema, t.name, None, (column,)),
            action=Action(sql="\n".join(lines),
                          undo_sql=f"ALTER TABLE {target} DROP CONSTRAINT {ident(name)};"),
            evidence={"referenced": f"{ref.schema}.{ref.name}.{ref_column}",
                      "rows": round(rows), "indexed": indexed},
        )
