"""Indexes: pg_stat_user_indexes + pg_index (columns, expressions, predicate, constraints)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import CollectorRun, Row, ServerContext, make_record, query, register

BATCH = 2000
"""Indexes per statement: each batch opens this many relations (size, definition)."""


@dataclass(frozen=True, slots=True)
class IndexStats:
    indexrelid: int
    relid: int
    schema: str
    table: str
    name: str
    method: str
    definition: str | None
    """pg_get_indexdef; None when the index was locked (`locked_by`)."""
    columns: tuple[str | None, ...]
    """Key then INCLUDE columns by name; None where the key is an expression."""
    key_count: int
    opclasses: tuple[str, ...]
    options: tuple[int, ...]
    """indoption per key column: bit 1 DESC, bit 2 NULLS FIRST."""
    expressions: str | None
    predicate: str | None
    is_unique: bool
    is_primary: bool
    is_exclusion: bool
    is_valid: bool
    is_ready: bool
    is_replica_identity: bool
    constraint_name: str | None
    constraint_type: str | None
    """p, u or x when the index backs a constraint of its table."""
    referenced_by_fk: bool
    bytes: int | None
    idx_scan: int | None
    idx_tup_read: int | None
    idx_tup_fetch: int | None
    last_idx_scan: float | None = None
    locked_by: int | None = None
    """The pid holding or awaiting an ACCESS EXCLUSIVE lock on the index or its table when
    it was read (0: a prepared transaction): its definition, expressions, predicate and
    size were left unread (None), as reading them would wait for the lock."""

    @property
    def known_definition(self) -> str:
        """The definition of an index read unlocked: rules that act on an index (drop it,
        recreate it) skip the locked ones, whose definition is unknown."""
        if self.definition is None:
            raise ValueError(f"{self.name} was locked when read: its definition is unknown")
        return self.definition


@register
class IndexesCollector:
    """One row per index, then the key column and operator class names mapped client-side.

    Index rows come in batches of `BATCH` (each statement well under statement_timeout).
    Per-index ARRAY(SELECT ...) subqueries over pg_attribute and pg_opclass cost about 3 s
    on 20,000 indexes; two set-based reads and a dictionary lookup cost a few milliseconds.
    """

    name: ClassVar[str] = "indexes"
    cadence: ClassVar[str] = "tables"
    cumulative: ClassVar[bool] = True
    record = IndexStats
    description: ClassVar[str] = "pg_stat_user_indexes + pg_index: definition, flags, size, scans"

    def run(self, ctx: ServerContext) -> CollectorRun:
        version = ctx.server_version_num
        oids = [r["oid"] for r in (yield query("index_oids", version))]
        if not oids:
            return []
        rows: list[Row] = []
        for start in range(0, len(oids), BATCH):
            rows.extend((yield query(self.name, version, {"oids": oids[start:start + BATCH]})))
        names = {(r["relid"], r["attnum"]): r["name"]
                 for r in (yield query("index_key_columns", version))}
        opclasses = {r["oid"]: r["name"] for r in (yield query("opclasses", version))}
        out: list[IndexStats] = []
        for row in rows:
            relid = row["relid"]
            out.append(make_record(IndexStats, {
                **row,
                "columns": tuple(names.get((relid, k)) if k > 0 else None
                                 for k in row["keys"] or ()),
                "opclasses": tuple(opclasses.get(o, str(o)) for o in row["opclass_oids"] or ()),
            }))
        return out
