"""An integer (int4) key on a large or fast-growing table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import alter_column_types, ident
from pgsage.collectors.key_ranges import KeyRange
from pgsage.collectors.sequences import Sequence
from pgsage.collectors.tables import TableStats
from pgsage.rules._stats import DAY
from pgsage.rules._support.catalog import (
    INT_MAX,
    columns_of,
    foreign_keys,
    primary_keys,
    rows_with_partitions,
)
from pgsage.rules._support.sequences import ONLINE_OUTLINE, sequence_range
from pgsage.rules.base import Rule, register
from pgsage.rules.maintenance.sequence_exhaustion import SequenceExhaustion


@register
class Int4Key(Rule["Int4Key.Options"]):
    """An integer (int4) key on a large or fast-growing table.

    What it detects:
        Single-column primary keys of type integer or smallint on tables with at least
        `min_rows` rows, or where the key's own advance between two snapshots (the owning
        sequence's last value, else the largest value in pg_stats) leaves less than
        `horizon_days` until the type's maximum (2147483647 for integer). Insert counts
        are no measure of key use (COPY with explicit ids, delete-and-reinsert, keys
        without a sequence), so one snapshot gives no projection. The
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
    """

    code: ClassVar[str] = "SD004"
    name: ClassVar[str] = "schema.int4_key"
    category: ClassVar[Category] = Category.SCHEMA
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=100_000_000, metadata={
            "help": "rows from which an int4 key is reported whatever the insert rate."})
        horizon_days: float = field(default=3 * 365.0, metadata={
            "help": "report when the key's measured advance exhausts it within this."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        owned = {(s.owner_schema, s.owner_table, s.owner_column): s for s in model.sequences
                 if s.owner_table and s.owner_column}
        ranges = {(k.relid, k.column): k for k in model.key_ranges}
        cols = columns_of(model)
        warn = SequenceExhaustion.Options().warn_ratio
        before_seqs = ({(s.schema, s.name): s for s in model.baseline.rows("sequences",
                                                                            Sequence)}
                       if model.baseline is not None else {})
        before_ranges = ({(k.relid, k.column): k for k in model.baseline.rows("key_ranges",
                                                                             KeyRange)}
                         if model.baseline is not None else {})
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
            earlier: int | None = None
            if seq is not None and seq.readable and seq.last_value is not None:
                if sequence_range(seq).used(seq.last_value) >= warn:
                    continue  # MT001 reports it
                position, source = seq.last_value, f"sequence {seq.schema}.{seq.name}"
                old = before_seqs.get((seq.schema, seq.name))
                earlier = old.last_value if old is not None and old.readable else None
            elif key_range is not None and key_range.max_value is not None:
                if key_range.max_value / limit >= warn:
                    continue  # MT013 reports it
                position, source = key_range.max_value, "largest value in pg_stats"
                old_range = before_ranges.get((relid, column))
                earlier = old_range.max_value if old_range is not None else None
            else:
                position, source = int(rows), "row count (a lower bound)"
            rate = self._advance(model, position, earlier)
            days_left = (limit - position) / rate / DAY if rate else None
            soon = days_left is not None and days_left < options.horizon_days
            if rows < options.min_rows and not soon:
                continue
            yield self._finding(model, t, column, col.type, limit, rows, position, source,
                                rate, days_left, seq, earlier is not None)

    @staticmethod
    def _advance(model: Model, position: int, earlier: int | None) -> float | None:
        """Key values used per second between the snapshots, or None without a measure."""
        window = model.snapshots_window
        if window is None or earlier is None or position < earlier:
            return None  # a reset sequence or an emptied table: no steady advance to project
        return window.per_second(position - earlier)

    def _finding(self, model: Model, t: TableStats, column: str, type_name: str, limit: int,
                 rows: float, position: int, source: str, rate: float | None,
                 days_left: float | None, seq: Sequence | None,
                 measured: bool) -> Recommendation:
        refs = [c for c in foreign_keys(model)
                if c.ref_relid == t.relid and c.ref_columns == (column,) and len(c.columns) == 1]
        lines = [alter_column_types(t.schema, t.name, [(column, "bigint")])]
        lines += [alter_column_types(c.schema, c.table, [(c.columns[0], "bigint")]) for c in refs]
        if seq is not None:
            lines.append(f"ALTER SEQUENCE {ident(seq.schema, seq.name)} AS bigint;")
        window = (model.snapshots_window.describe() if model.snapshots_window is not None
                  else "")
        if days_left is not None and rate is not None:
            when = (f"it advanced {rate:,.1f} values per second over {window}, which "
                    f"reaches the maximum in about {days_left:,.0f} days")
        elif measured:
            when = f"it did not advance over {window}"
        else:
            when = ("one snapshot gives no rate of use (--interval, --baseline or the sidecar "
                    "measure the key's advance)")
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
                      "rows": round(rows),
                      "values_per_second": round(rate, 3) if rate is not None else None,
                      "days_left": round(days_left, 1) if days_left is not None else None,
                      "referencing_columns": [f"{c.schema}.{c.table}.{c.columns[0]}"
                                              for c in refs]},
            benefit=rows,
        )

