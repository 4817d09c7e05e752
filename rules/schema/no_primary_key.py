"""A table has no primary key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident, index_name
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.columns import Column
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import (
    bytes_with_partitions,
    columns_of,
    primary_keys,
    rows_with_partitions,
    user_tables,
)
from pgsage.rules.base import Rule, register

_PARTITION_COLUMNS = re.compile(r"\(([^()]*)\)")


_PLAIN = re.compile(r'^"?([A-Za-z_][A-Za-z0-9_$]*)"?$')


def partition_columns(key: str | None) -> list[str] | None:
    """Column names of `RANGE (created_at, region)`; None when the key has expressions."""
    match = _PARTITION_COLUMNS.search(key or "")
    if not match:
        return None
    names = []
    for part in match.group(1).split(","):
        plain = _PLAIN.match(part.strip())
        if not plain:
            return None
        names.append(plain.group(1))
    return names


@register
class NoPrimaryKey(Rule["NoPrimaryKey.Options"]):
    """A table has no primary key.

    What it detects:
        Permanent tables (and partitioned tables, whose partitions inherit the key) without
        a PRIMARY KEY constraint. Medium from `min_rows` rows, low below.

    Why it matters:
        Without a key nothing stops duplicate rows, and a row cannot be addressed reliably
        by the application, by tools (pg_repack needs a key) or by logical replication,
        which cannot replicate UPDATE and DELETE of such a table (they fail on the
        publisher unless REPLICA IDENTITY FULL, which makes every change scan the table
        on the subscriber).

    Example:
        CREATE TABLE events (user_id bigint, kind text, at timestamptz);   -- no key

    What to do:
        Promote an existing unique index on NOT NULL columns with ADD CONSTRAINT ...
        PRIMARY KEY USING INDEX (instant, no rebuild); or declare the key on an existing
        `id` column; or add a bigint identity column as the key (this rewrites the table
        under an exclusive lock: do it in a maintenance window on a large table). A
        partitioned table's key must include the partition key columns.
    """

    code: ClassVar[str] = "SD001"
    name: ClassVar[str] = "schema.no_primary_key"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM
    reads: ClassVar[tuple[str, ...]] = ("constraints", "indexes")

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=10_000, metadata={
            "help": "rows from which a missing key is medium (low below)."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        keyed = set(primary_keys(model))
        cols = columns_of(model)
        for t in user_tables(model):
            if t.relid in keyed:
                continue
            rows = rows_with_partitions(model, t)
            action, how = self._action(model, t, cols.get(t.relid, {}))
            size = bytes_with_partitions(model, t)
            yield self.finding(
                severity=self.severity if rows >= options.min_rows else Severity.LOW,
                title=f"Table {t.schema}.{t.name} has no primary key",
                detail=(f"{t.schema}.{t.name} ({rows:,.0f} rows, {format_bytes(size)}) has no "
                        "primary key: duplicates are possible, rows cannot be addressed "
                        "reliably, and logical replication cannot replicate its UPDATEs and "
                        f"DELETEs. {how}"),
                object=ObjectRef(t.schema, t.name, None, None),
                action=action,
                evidence={"rows": round(rows), "table_bytes": size,
                          "partitioned": t.relkind == "p",
                          "updates": model.table_counter(t.relid, "n_tup_upd"),
                          "deletes": model.table_counter(t.relid, "n_tup_del")},
                benefit=float(rows),
            )

    @staticmethod
    def _unique_candidate(model: Model, t: TableStats, not_null: set[str]) -> IndexStats | None:
        for ix in model.indexes_by_table.get(t.relid, []):
            keys = ix.columns[:ix.key_count]
            if (ix.is_unique and ix.is_valid and ix.method == "btree" and not ix.predicate
                    and not ix.expressions and ix.constraint_type is None
                    and all(k is not None and k in not_null for k in keys)
                    and len(keys) == len(ix.columns)):
                return ix
        return None

    def _action(self, model: Model, t: TableStats,
                cols: dict[str, Column]) -> tuple[Action | None, str]:
        not_null = {name for name, c in cols.items() if c.not_null}
        name = ident(index_name(t.name, [], "pkey"))
        target = ident(t.schema, t.name)
        if t.relkind != "p":
            ix = self._unique_candidate(model, t, not_null)
            if ix is not None:
                return (Action(sql=f"ALTER TABLE {target} ADD CONSTRAINT {name} "
                                   f"PRIMARY KEY USING INDEX {ident(ix.name)};",
                               undo_sql=f"ALTER TABLE {target} DROP CONSTRAINT {name};"),
                        f"The unique index {ix.name} on NOT NULL columns can become the key "
                        "without a rebuild (it is renamed to the constraint's name).")
        keys: list[str] = ["id"] if "id" in cols else []
        if t.relkind == "p":
            part = partition_columns(t.partition_key)
            if part is None or not keys:
                return None, ("A partitioned table's key must include its partition key "
                              f"({t.partition_key}); choose the identifying columns and add "
                              "them with ALTER TABLE ... ADD PRIMARY KEY.")
            keys += [c for c in part if c not in keys]
        if keys:
            cols_sql = ", ".join(ident(k) for k in keys)
            return (Action(sql=f"ALTER TABLE {target} ADD CONSTRAINT {name} "
                               f"PRIMARY KEY ({cols_sql});",
                           undo_sql=f"ALTER TABLE {target} DROP CONSTRAINT {name};"),
                    f"Declaring ({', '.join(keys)}) the key builds a unique index under a lock "
                    "that blocks writes for the build, and fails if the values are not unique "
                    "and NOT NULL (that is worth knowing too).")
        return (Action(sql=f"ALTER TABLE {target} ADD COLUMN id bigint GENERATED ALWAYS AS "
                           f"IDENTITY CONSTRAINT {name} PRIMARY KEY;",
                       undo_sql=f"ALTER TABLE {target} DROP COLUMN id;"),
                "Adding a bigint identity column as the key rewrites the table under an "
                "exclusive lock: on a large table do it in a maintenance window.")
