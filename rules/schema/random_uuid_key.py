"""A large, insert-heavy table has a random (UUIDv4) primary key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.analyzer.units import format_bytes
from pgsage.rules._stats import describe
from pgsage.rules._support.catalog import columns_of, primary_keys, rows_with_partitions
from pgsage.rules.base import Rule, register


@register
class RandomUuidKey(Rule["RandomUuidKey.Options"]):
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
    References:
        https://www.postgresql.org/docs/18/functions-uuid.html
    """

    code: ClassVar[str] = "SD005"
    name: ClassVar[str] = "schema.random_uuid_key"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=1_000_000, metadata={
            "help": "rows from which a table counts as large."})
        min_inserts_per_second: float = field(default=1.0, metadata={
            "help": "inserts per second over the window from which it is insert-heavy."})
        max_correlation: float = field(default=0.3, metadata={
            "help": "absolute pg_stats correlation below which keys count as random."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        window = model.counter_window
        for relid, pk in primary_keys(model).items():
            t = model.tables.get(relid)
            if t is None or t.is_partition or len(pk.columns) != 1:
                continue
            col = cols.get(relid, {}).get(pk.columns[0])
            if col is None or col.type != "uuid" or col.correlation is None:
                continue
            rows = rows_with_partitions(model, t)
            inserts = model.table_counter(relid, "n_tup_ins") or 0
            rate = inserts / window.seconds if window.seconds > 0 else 0.0
            if (rows < options.min_rows or rate < options.min_inserts_per_second
                    or abs(col.correlation) >= options.max_correlation):
                continue
            pk_index = next((ix for ix in model.indexes_by_table.get(relid, [])
                             if ix.is_primary), None)
            if model.version_num >= 180000:
                action: Action | None = Action(
                    sql=f"ALTER TABLE {ident(t.schema, t.name)} ALTER COLUMN "
                        f"{ident(col.name)} SET DEFAULT uuidv7();",
                    undo_sql=f"ALTER TABLE {ident(t.schema, t.name)} ALTER COLUMN "
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
