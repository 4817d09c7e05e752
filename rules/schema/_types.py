"""Column types: money in floating point, timestamps without time zone, varchar(n) habits."""

from __future__ import annotations

from collections.abc import Iterator

from pgsage.analyzer.model.core import Model
from pgsage.collectors.columns import Column
from pgsage.collectors.tables import TableStats
from pgsage.rules._support.catalog import columns_of, user_tables


def columns_by_table(model: Model) -> Iterator[tuple[TableStats, list[Column]]]:
    cols = columns_of(model)
    for t in user_tables(model, "rp"):
        yield t, sorted(cols.get(t.relid, {}).values(), key=lambda c: c.attnum)
