"""Keys: tables without a primary key, int4 keys on big tables, random UUID primary keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.columns import ColumnStats
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.sequences import SequenceState
from pgsage.collectors.tables import TableStats
from pgsage.rules._catalog import (
    INT_MAX,
    bytes_with_partitions,
    columns_of,
    foreign_keys,
    primary_keys,
    rows_with_partitions,
    user_tables,
)
from pgsage.rules._ddl import alter_columns_type, constraint_name, table
from pgsage.rules._stats import DAY, counter_window, describe, table_counter
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance.sequences import ONLINE_OUTLINE, SequenceExhaustion, sequence_range

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
class NoPrimaryKey(Rule):
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

    Options:
        min_rows: rows from which a missing key is medium (low below).
    """

    code: ClassVar[str] = "SD001"
    name: ClassVar[str] = "schema.no_primary_key"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 10_000

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
                          "updates": table_counter(model, t.relid, "n_tup_upd"),
                          "deletes": table_counter(model, t.relid, "n_tup_del")},
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
                cols: dict[str, ColumnStats]) -> tuple[Action | None, str]:
        not_null = {name for name, c in cols.items() if c.not_null}
        name = ident(constraint_name(t.name, [], "pkey"))
        target = table(t.schema, t.name)
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


@register
class Int4Key(Rule):
    """An integer (int4) key on a large or fast-growing table.

    What it detects:
        Single-column primary keys of type integer or smallint on tables with at least
        `min_rows` rows, or where the insert rate observed over the window leaves less
        than `horizon_days` until the type's maximum (2147483647 for integer). The
        position is the owning sequence's last value, else the largest value in pg_stats,
        else the row count. Keys whose sequence has already used MT001's share of its range
        are left to MT001, and keys without a sequence near their end to MT013: one finding
        per key.

    Why it matters:
        When the key reaches its maximum every insert fails. Changing the type of a large
        table's key (and of every foreign key that references it) rewrites them under an
        exclusive lock: it has to be planned months ahead, and is cheapest while the
        table is still small.

    Example:
        CREATE TABLE events (id serial PRIMARY KEY, ...);   -- 600M rows, 2M inserts a day

    What to do:
        Change the key, the columns that reference it and the sequence to bigint. The
        action does it in one go (a rewrite under an exclusive lock); for a large table
        the finding outlines the online way.

    Options:
        min_rows: rows from which an int4 key is reported whatever the insert rate.
        horizon_days: report when the observed insert rate exhausts the key within this.
    """

    code: ClassVar[str] = "SD004"
    name: ClassVar[str] = "schema.int4_key"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 100_000_000
        horizon_days: float = 3 * 365.0

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        owned = {(s.owner_schema, s.owner_table, s.owner_column): s for s in model.sequences
                 if s.owner_table and s.owner_column}
        ranges = {(k.relid, k.column): k for k in model.key_ranges}
        cols = columns_of(model)
        warn = SequenceExhaustion.Options().warn_ratio
        window = counter_window(model)
        for relid, pk in primary_keys(model).items():
            t = model.tables.get(relid)
            if t is None or t.is_partition or len(pk.columns) != 1:
                continue
            column = pk.columns[0]
            col = cols.get(relid, {}).get(column)
            if col is None or col.type not in ("integer", "smallint"):
                continue
            limit = INT_MAX[col.type]
            rows = rows_with_partitions(model, t)
            seq = owned.get((t.schema, t.name, column))
            key_range = ranges.get((relid, column))
            if seq is not None and seq.readable and seq.last_value is not None:
                if sequence_range(seq).used(seq.last_value) >= warn:
                    continue  # MT001 reports it
                position, source = seq.last_value, f"sequence {seq.schema}.{seq.name}"
            elif key_range is not None and key_range.max_value is not None:
                if key_range.max_value / limit >= warn:
                    continue  # MT013 reports it
                position, source = key_range.max_value, "largest value in pg_stats"
            else:
                position, source = int(rows), "row count (a lower bound)"
            inserts = table_counter(model, relid, "n_tup_ins") or 0
            rate = inserts / window.seconds if window.seconds > 0 else 0.0
            days_left = (limit - position) / rate / DAY if rate > 0 else None
            soon = days_left is not None and days_left < options.horizon_days
            if rows < options.min_rows and not soon:
                continue
            yield self._finding(model, t, column, col.type, limit, rows, position, source,
                                rate, days_left, seq, describe(window))

    def _finding(self, model: Model, t: TableStats, column: str, type_name: str, limit: int,
                 rows: float, position: int, source: str, rate: float,
                 days_left: float | None, seq: SequenceState | None,
                 window: str) -> Recommendation:
        refs = [c for c in foreign_keys(model)
                if c.ref_relid == t.relid and c.ref_columns == (column,) and len(c.columns) == 1]
        lines = [alter_columns_type(t.schema, t.name, [(column, "bigint")])]
        lines += [alter_columns_type(c.schema, c.table, [(c.columns[0], "bigint")]) for c in refs]
        if seq is not None:
            lines.append(f"ALTER SEQUENCE {ident(seq.schema, seq.name)} AS bigint;")
        when = (f"at the {rate:,.1f} inserts per second observed over {window} it reaches "
                f"the maximum in about {days_left:,.0f} days" if days_left is not None
                else f"no inserts were observed over {window}")
        referencing = (f" {len(refs)} foreign key(s) reference it and change with it "
                       f"({', '.join(f'{c.schema}.{c.table}.{c.columns[0]}' for c in refs)})."
                       if refs else "")
        return self.finding(
            title=f"Widen {t.name}.{column} to bigint: {type_name} key on a "
                  f"{rows:,.0f}-row table",
            detail=(f"The primary key {t.schema}.{t.name}.{column} is {type_name} (maximum "
                    f"{limit:,}) and is at {position:,} ({source}, {position / limit:.1%} "
                    f"used); {when}. Widening it later means rewriting a bigger table."
                    f"{referencing} {ONLINE_OUTLINE}"),
            object=ObjectRef(t.schema, t.name, None, (column,)),
            action=Action(sql="\n".join(lines)),
            evidence={"type": type_name, "position": position, "position_source": source,
                      "max_value": limit, "used_ratio": round(position / limit, 4),
                      "rows": round(rows), "inserts_per_second": round(rate, 3),
                      "days_left": round(days_left, 1) if days_left is not None else None,
                      "referencing_columns": [f"{c.schema}.{c.table}.{c.columns[0]}"
                                              for c in refs]},
            benefit=rows,
        )


@register
class RandomUuidKey(Rule):
    """A large, insert-heavy table has a random (UUIDv4) primary key.

    What it detects:
        Single-column uuid primary keys on tables with at least `min_rows` rows and at
        least `min_inserts_per_second` inserts over the window, whose pg_stats correlation
        (how well the physical order follows the value order) is below `max_correlation`:
        the values are random, as gen_random_uuid() makes them. Time-ordered UUIDs (v7)
        correlate close to 1 and are not reported; columns without statistics are not
        judged.

    Why it matters:
        Each new random key lands on a random leaf page of the primary key index, so the
        whole index has to stay in memory, pages split all over it (it ends up about 30%
        larger than needed), and every checkpoint writes full-page images of pages all
        over it: more WAL, more I/O, slower inserts as the table grows.

    Example:
        CREATE TABLE events (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), ...);

    What to do:
        Generate time-ordered keys: on PostgreSQL 18 `DEFAULT uuidv7()` (existing keys stay
        valid); before 18 generate UUIDv7 in the application (or use a bigint identity for
        new tables). New keys then append to the right edge of the index.

    Options:
        min_rows: rows from which a table counts as large.
        min_inserts_per_second: inserts per second over the window from which it is
            insert-heavy.
        max_correlation: absolute pg_stats correlation below which keys count as random.

    References:
        https://www.postgresql.org/docs/18/functions-uuid.html
    """

    code: ClassVar[str] = "SD005"
    name: ClassVar[str] = "schema.random_uuid_key"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 1_000_000
        min_inserts_per_second: float = 1.0
        max_correlation: float = 0.3

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        window = counter_window(model)
        for relid, pk in primary_keys(model).items():
            t = model.tables.get(relid)
            if t is None or t.is_partition or len(pk.columns) != 1:
                continue
            col = cols.get(relid, {}).get(pk.columns[0])
            if col is None or col.type != "uuid" or col.correlation is None:
                continue
            rows = rows_with_partitions(model, t)
            inserts = table_counter(model, relid, "n_tup_ins") or 0
            rate = inserts / window.seconds if window.seconds > 0 else 0.0
            if (rows < options.min_rows or rate < options.min_inserts_per_second
                    or abs(col.correlation) >= options.max_correlation):
                continue
            pk_index = next((ix for ix in model.indexes_by_table.get(relid, [])
                             if ix.is_primary), None)
            if model.version_num >= 180000:
                action: Action | None = Action(
                    sql=f"ALTER TABLE {table(t.schema, t.name)} ALTER COLUMN "
                        f"{ident(col.name)} SET DEFAULT uuidv7();",
                    undo_sql=f"ALTER TABLE {table(t.schema, t.name)} ALTER COLUMN "
                             f"{ident(col.name)} SET DEFAULT gen_random_uuid();")
                how = ("On PostgreSQL 18 set the default to uuidv7(); if the application "
                       "generates the keys, switch it to UUIDv7 as well.")
            else:
                action = None
                how = ("Before PostgreSQL 18 generate UUIDv7 in the application (most "
                       "languages have a library), or use a bigint identity for new tables; "
                       "on 18 `DEFAULT uuidv7()` does it in the database.")
            yield self.finding(
                title=f"Random UUID primary key on {t.name}: use time-ordered UUIDv7",
                detail=(f"{t.schema}.{t.name}.{col.name} is a uuid primary key whose values "
                        f"are random (pg_stats correlation {col.correlation:.2f}) on a "
                        f"{rows:,.0f}-row table taking {rate:,.1f} inserts per second over "
                        f"{describe(window)}. Random keys insert all over the primary key "
                        f"index ({format_bytes(pk_index.bytes if pk_index else None)}): page "
                        "splits, an index that must stay in memory, and full-page images in "
                        f"the WAL after every checkpoint. {how}"),
                object=ObjectRef(t.schema, t.name, pk_index.name if pk_index else None,
                                 (col.name,)),
                action=action,
                evidence={"rows": round(rows), "inserts_per_second": round(rate, 3),
                          "correlation": round(col.correlation, 4),
                          "pk_index_bytes": pk_index.bytes if pk_index else None},
                benefit=float(pk_index.bytes or 0) if pk_index else rows,
            )
