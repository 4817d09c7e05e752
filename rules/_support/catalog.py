"""Catalog views the schema, maintenance and security rules share, derived from the model."""

from __future__ import annotations

from collections.abc import Iterator

from pgsage.analyzer.model.core import Model
from pgsage.collectors.columns import Column
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.tables import TableStats

INT_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}
"""The largest value of each integer type, as format_type() names it."""


def columns_of(model: Model) -> dict[int, dict[str, Column]]:
    """Columns by table and name; of the two statistics rows an inheritance parent has, the
    one for the table alone (inherited = false) wins."""
    out: dict[int, dict[str, Column]] = {}
    for col in model.columns:
        known = out.setdefault(col.relid, {}).get(col.name)
        if known is None or (known.inherited and not col.inherited):
            out[col.relid][col.name] = col
    return out


def primary_keys(model: Model) -> dict[int, Constraint]:
    return {c.relid: c for c in model.constraints if c.type == "p"}


def foreign_keys(model: Model) -> list[Constraint]:
    return [c for c in model.constraints if c.type == "f"]


def user_tables(model: Model, kinds: str = "rp") -> Iterator[TableStats]:
    """Permanent tables to judge: partitions are judged through their partitioned table."""
    for t in model.tables.values():
        if t.relkind in kinds and not t.is_partition and t.persistence != "t":
            yield t


def table_rows(table: TableStats | None) -> float:
    """Rows of a table: the planner's estimate or the live-tuple counter, the larger."""
    if table is None:
        return 0.0
    return max(table.reltuples, float(table.n_live_tup or 0), 0.0)


def rows_with_partitions(model: Model, table: TableStats) -> float:
    """Rows of a table, or of all its partitions (recursively) for a partitioned one."""
    if table.relkind != "p":
        return table_rows(table)
    return sum(rows_with_partitions(model, t) for t in model.tables.values()
               if t.parent_relid == table.relid and t.is_partition)


def bytes_with_partitions(model: Model, table: TableStats) -> int:
    if table.relkind != "p":
        return table.table_bytes or 0
    return sum(bytes_with_partitions(model, t) for t in model.tables.values()
               if t.parent_relid == table.relid and t.is_partition)


def words(name: str) -> list[str]:
    """`orderTotal_amount` -> ['order', 'total', 'amount']: snake case and camel case."""
    out: list[str] = []
    for part in name.split("_"):
        word = ""
        for ch in part:
            if ch.isupper() and word and not word[-1].isupper():
                out.append(word.lower())
                word = ""
            word += ch
        if word:
            out.append(word.lower())
    return out
