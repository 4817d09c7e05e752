"""Bloat: space in tables and btree indexes beyond what their rows need, estimated from the
catalog and pg_stats (no scan of the data, as the well-known check_postgres / ioguix
estimates do), with the command that gives the space back.

The estimate: rows x (tuple header + average width of each column, aligned) packed into
pages at the fill factor, against the pages the relation has. It is an estimate (±20% is
typical): it needs statistics for every column, and it is skipped where they are missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pgsage.analyzer.model.core import Model
from pgsage.collectors.columns import Column

PAGE_HEADER = 24


LINE_POINTER = 4


MAXALIGN = 8


def align(n: float, to: int = MAXALIGN) -> float:
    return math.ceil(n / to) * to


def row_width(cols: list[Column]) -> float | None:
    """Average bytes of a row's values; None when a column has no statistics."""
    if any(c.avg_width is None or c.null_frac is None for c in cols):
        return None
    return sum((c.avg_width or 0) * (1 - (c.null_frac or 0)) for c in cols)


@dataclass(frozen=True, slots=True)
class Estimate:
    actual_bytes: int
    expected_bytes: int

    @property
    def bloat_bytes(self) -> int:
        return max(self.actual_bytes - self.expected_bytes, 0)

    @property
    def ratio(self) -> float:
        return self.bloat_bytes / self.actual_bytes if self.actual_bytes else 0.0


def block_size(model: Model) -> int:
    return model.server.block_size if model.server else 8192
