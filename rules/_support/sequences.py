"""Where a sequence (serial and identity columns) ends: MT001 warns before it does, SD004
leaves a key whose sequence MT001 reports to MT001; both advise the same online change."""

from __future__ import annotations

from dataclasses import dataclass

from pgsage.collectors.sequences import Sequence

TYPE_RANGE = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
"""Integer types a sequence or its column can have, as format_type() names them."""


ONLINE_OUTLINE = (
    "ALTER COLUMN ... TYPE bigint rewrites the table and all its indexes under an ACCESS "
    "EXCLUSIVE lock that blocks reads and writes for the whole rewrite; it is fine for a "
    "small table or a maintenance window. For a large table do it online: add a new bigint "
    "column, keep it filled by a trigger on insert and update, backfill old rows in small "
    "batches, build a unique index on it CONCURRENTLY, then in one short transaction swap "
    "the columns (drop the old, rename the new, attach the primary key with ADD CONSTRAINT "
    "... PRIMARY KEY USING INDEX, move the default or identity) and re-point foreign keys "
    "added NOT VALID and validated afterwards."
)


@dataclass(frozen=True, slots=True)
class Range:
    """Where a sequence stops, and what stops it."""

    end: int
    base: int
    column_bound: bool
    """The owning column's type ends first (or at the same value)."""
    sequence_bound: bool
    """The sequence's own MAXVALUE/MINVALUE ends first (or at the same value)."""

    def used(self, value: int) -> float:
        total = abs(self.end - self.base)
        return abs(value - self.base) / total if total else 1.0


def sequence_range(seq: Sequence) -> Range:
    column = TYPE_RANGE.get(seq.owner_column_type or "")
    if seq.increment_by > 0:
        col_end = column[1] if column else None
        end = min(seq.max_value, col_end) if col_end is not None else seq.max_value
        base = max(seq.min_value, column[0]) if column else seq.min_value
    else:
        col_end = column[0] if column else None
        end = max(seq.min_value, col_end) if col_end is not None else seq.min_value
        base = min(seq.max_value, column[1]) if column else seq.max_value
    seq_end = seq.max_value if seq.increment_by > 0 else seq.min_value
    return Range(end=end, base=base, column_bound=col_end == end, sequence_bound=seq_end == end)
