"""pg_stat_statements: every counter the installed extension version has.

Counters come from `pg_stat_statements(showtext := false)`; texts are read in a second
call only for queryids the caller does not know yet, because reading the text file is the
expensive part of the view on a busy server (pgmonitor and pganalyze both hit this).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import (
    CollectorRun,
    ServerContext,
    Skip,
    query,
    records,
    register,
    version_num,
)
from pgsage.collectors.redact import redact

MIN_EXTENSION = (1, 9)


@dataclass(frozen=True, slots=True)
class StatementStats:
    userid: int
    username: str | None
    dbid: int
    toplevel: bool
    queryid: int
    plans: int
    total_plan_time: float
    min_plan_time: float
    max_plan_time: float
    mean_plan_time: float
    stddev_plan_time: float
    calls: int
    total_exec_time: float
    min_exec_time: float
    max_exec_time: float
    mean_exec_time: float
    stddev_exec_time: float
    rows: int
    shared_blks_hit: int
    shared_blks_read: int
    shared_blks_dirtied: int
    shared_blks_written: int
    local_blks_hit: int
    local_blks_read: int
    local_blks_dirtied: int
    local_blks_written: int
    temp_blks_read: int
    temp_blks_written: int
    shared_blk_read_time: float
    shared_blk_write_time: float
    wal_records: int
    wal_fpi: int
    wal_bytes: float
    local_blk_read_time: float | None = None
    local_blk_write_time: float | None = None
    temp_blk_read_time: float | None = None
    temp_blk_write_time: float | None = None
    jit_functions: int | None = None
    jit_generation_time: float | None = None
    jit_inlining_count: int | None = None
    jit_inlining_time: float | None = None
    jit_optimization_count: int | None = None
    jit_optimization_time: float | None = None
    jit_emission_count: int | None = None
    jit_emission_time: float | None = None
    jit_deform_count: int | None = None
    jit_deform_time: float | None = None
    wal_buffers_full: int | None = None
    parallel_workers_to_launch: int | None = None
    parallel_workers_launched: int | None = None
    stats_since: float | None = None
    minmax_stats_since: float | None = None
    query: str | None = None
    """Only for queryids new to the caller; None means "text already known"."""


def located(ctx: ServerContext) -> tuple[str, tuple[int, ...]]:
    """Schema and version of pg_stat_statements, or Skip saying exactly what to run."""
    if ctx.preload_libraries is not None and "pg_stat_statements" not in ctx.preload_libraries:
        raise Skip("pg_stat_statements is not in shared_preload_libraries (add it to "
                   "postgresql.conf and restart, then CREATE EXTENSION pg_stat_statements)")
    found = ctx.extensions.get("pg_stat_statements")
    if found is None:
        raise Skip("extension not created in this database (CREATE EXTENSION pg_stat_statements)")
    version = ctx.extension_version("pg_stat_statements") or ()
    if version < MIN_EXTENSION:
        raise Skip(f"pg_stat_statements {found[0]} is too old "
                   "(ALTER EXTENSION pg_stat_statements UPDATE)")
    return found[1], version


@register
class StatementsCollector:
    name: ClassVar[str] = "statements"
    cadence: ClassVar[str] = "statements"
    cumulative: ClassVar[bool] = True
    record = StatementStats
    description: ClassVar[str] = "pg_stat_statements counters; texts only for new queryids"

    def run(self, ctx: ServerContext) -> CollectorRun:
        schema, version = located(ctx)
        where = {"schema": schema}
        rows = yield query("pg_stat_statements", version_num(version), identifiers=where)
        new = sorted({r["queryid"] for r in rows} - ctx.known_query_texts)
        texts: dict[int, str] = {}
        if new:
            found = yield query("pg_stat_statements_texts", version_num(version),
                                {"queryids": new}, identifiers=where)
            # Redacted here, before any snapshot, cache or report can hold a password.
            texts = {r["queryid"]: redact(r["query"]) for r in found if r["query"] is not None}
        for row in rows:
            row["query"] = texts.get(row["queryid"])
        return records(StatementStats, rows)
