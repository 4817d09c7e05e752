"""A foreign-key column allows NULL although no row has a NULL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, index_name
from pgsage.rules._support.catalog import columns_of, foreign_keys, rows_with_partitions
from pgsage.rules.base import Rule, register


@register
class NullableForeignKey(Rule["NullableForeignKey.Options"]):
    """A foreign-key column allows NULL although no row has a NULL.

    What it detects:
        Columns of foreign keys, on tables with at least `min_rows` rows, that are not
        declared NOT NULL while pg_stats saw no NULL in them (null_frac = 0): the
        relationship looks mandatory but is not enforced. Optional references (some NULLs
        present) are not reported.

    Why it matters:
        A foreign key does not check NULLs: a row with a NULL reference is accepted
        silently and dropped by every inner join. NOT NULL also lets the planner simplify
        joins and anti-joins.

    Example:
        CREATE TABLE order_lines (order_id bigint REFERENCES orders, ...);  -- NULL allowed

    What to do:
        Add NOT NULL without a long lock: a CHECK (col IS NOT NULL) NOT VALID, VALIDATE it
        (no write lock), then SET NOT NULL, which uses the validated check instead of
        scanning (PostgreSQL 12+), and drop the helper check.
    """

    code: ClassVar[str] = "SD009"
    name: ClassVar[str] = "schema.nullable_foreign_key"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=1000, metadata={
            "help": "rows from which a table is considered."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        seen: set[tuple[int, str]] = set()
        for con in foreign_keys(model):
            t = model.tables.get(con.relid)
            if t is None or t.is_partition:
                continue
            rows = rows_with_partitions(model, t)
            if rows < options.min_rows:
                continue
            for column in con.columns:
                col = cols.get(t.relid, {}).get(column)
                if (col is None or col.not_null or col.null_frac is None or col.null_frac > 0
                        or (t.relid, column) in seen):
                    continue
                seen.add((t.relid, column))
                check = index_name(t.name, [column], "not_null")
                target = ident(t.schema, t.name)
                c = ident(column)
                yield self.finding(
                    title=f"{t.name}.{column} references {con.ref_table} but allows NULL",
                    detail=(f"{t.schema}.{t.name}.{column} is part of foreign key {con.name} "
                            f"to {con.ref_schema}.{con.ref_table}; no NULL was seen in it "
                            f"(pg_stats, {rows:,.0f} rows) but the column accepts one, which "
                            "the foreign key does not check. If every row must have a "
                            f"{con.ref_table}, say so with NOT NULL."),
                    object=ObjectRef(t.schema, t.name, None, (column,)),
                    action=Action(sql="\n".join([
                        f"ALTER TABLE {target} ADD CONSTRAINT {ident(check)} "
                        f"CHECK ({c} IS NOT NULL) NOT VALID;",
                        f"ALTER TABLE {target} VALIDATE CONSTRAINT {ident(check)};",
                        f"ALTER TABLE {target} ALTER COLUMN {c} SET NOT NULL;",
                        f"ALTER TABLE {target} DROP CONSTRAINT {ident(check)};"]),
                        undo_sql=f"ALTER TABLE {target} ALTER COLUMN {c} DROP NOT NULL;"),
                    evidence={"foreign_key": con.name, "null_frac": col.null_frac,
                              "rows": round(rows)},
                    benefit=rows,
                )
