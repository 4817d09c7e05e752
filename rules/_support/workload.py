"""What the query, plan, partitioning, pooling and scaling rules share about statements.

They judge a statement by its queryid, through `model.totals` (the model sums the counters
per queryid once). The workload's total time counts top-level entries only: with
`pg_stat_statements.track = all`, a statement run inside a function is also inside its
caller's time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pgsage.analyzer.advisor.candidates import squash
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import Candidate, IndexChoice
from pgsage.analyzer.model.plan_tree import catalog_only
from pgsage.analyzer.model.statements import Totals
from pgsage.analyzer.model.workload import Statement
from pgsage.analyzer.sqlgen import index_name
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.statements import StatementStats


def workload_ms(found: dict[int, Totals]) -> float:
    """Planning + execution time of top-level statements over the window."""
    return sum(t.total_ms for t in found.values() if t.toplevel)


def exec_ms_after_indexes(model: Model, t: Totals) -> float:
    """A statement's execution time over the window once the index plan's indexes exist:
    the measured time scaled by the planner's cost ratio; the measured time where no
    proposed index serves it. Scaling advice weighs this load, not the load pgsage's own
    advice removes."""
    ratio = model.index_plan.cost_ratio(t.queryid)
    return t.exec_ms * ratio if ratio is not None else t.exec_ms


def block_size(model: Model) -> int:
    return model.server.block_size if model.server else 8192


def cumulative(model: Model, queryid: int) -> StatementStats | None:
    """The snapshot's own row for a statement (the top-level one with most calls): for what
    cannot be differenced over a window, such as stddev, min and max."""
    rows = [s for s in model.snapshot.rows("statements", StatementStats) if s.queryid == queryid]
    return max(rows, key=lambda s: (s.toplevel, s.calls)) if rows else None


def is_catalog_only(statement: Statement | None) -> bool:
    """A statement about the catalog only (monitoring tools, pgsage's own collection)."""
    return catalog_only(statement)


def short(text: str | None, width: int = 110) -> str:
    if text is None:
        return "(text unknown)"
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def leading_indexed(model: Model, relid: int, column: str) -> list[IndexStats]:
    """Valid indexes whose first key is the plain column."""
    return [ix for ix in model.indexes_by_table.get(relid, [])
            if ix.is_valid and ix.columns and ix.columns[0] == column]


def expression_indexed(model: Model, relid: int, expression: str) -> IndexStats | None:
    """A valid index on the table with this expression as a key (compared without spaces,
    parentheses and quotes, as `pg_get_expr` and pglast print them differently)."""
    wanted = squash(expression)
    for ix in model.indexes_by_table.get(relid, []):
        if ix.is_valid and ix.expressions and wanted in squash(ix.expressions):
            return ix
    return None


def advisor_choices_for(model: Model, queryid: int) -> list[IndexChoice]:
    """The index advisor's chosen indexes (IX001) that serve this statement."""
    return [c for c in model.index_plan.choices if queryid in c.queryids]


def advisor_choice_on(model: Model, relid: int, expression: str | None = None,
                      column: str | None = None, method: str | None = None
                      ) -> IndexChoice | None:
    """An IX001 choice on the table leading with this expression or column."""
    for choice in model.index_plan.choices:
        cand = choice.candidate
        if cand.table.relid != relid or not cand.keys:
            continue
        if method is not None and cand.method != method:
            continue
        first = cand.keys[0]
        if expression is not None and first.expression is not None \
                and squash(first.expression) == squash(expression):
            return choice
        if column is not None and first.expression is None and first.column == column:
            return choice
    return None


def statements_on(model: Model, relid: int) -> Iterator[Statement]:
    for statement in model.workload.statements.values():
        if any(t.relid == relid for t in statement.tables):
            yield statement


def statement_evidence(model: Model, t: Totals) -> dict[str, object]:
    """The drill-down every statement finding carries: what was measured over the window."""
    block = block_size(model)
    row = cumulative(model, t.queryid)
    out: dict[str, object] = {
        "queryid": str(t.queryid), "calls": t.calls,
        "total_exec_ms": round(t.exec_ms, 2), "mean_exec_ms": round(t.mean_exec_ms, 3),
        "rows_per_call": round(t.rows_per_call, 2),
        "cache_hit_ratio": round(t.hit_ratio, 4) if t.hit_ratio is not None else None,
        "shared_blks_read": int(t.shared_read),
        "temp_blks_written": int(t.temp_written),
        "temp_bytes_written": int(t.temp_written * block),
        "total_plan_ms": round(t.plan_ms, 2), "mean_plan_ms": round(t.mean_plan_ms, 3),
        "wal_bytes": int(t.wal_bytes), "user": t.username,
    }
    if row is not None:
        out["stddev_exec_ms_cumulative"] = round(row.stddev_exec_time, 3)
        out["max_exec_ms_cumulative"] = round(row.max_exec_time, 3)
    return out


def expression_words(expression: str) -> list[str]:
    """`lower(email)` -> ['lower', 'email']; `(created_at)::date` -> ['created_at', 'date']."""
    return [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression)][:4]


def free_index_name(model: Model, candidate: Candidate) -> str:
    """A name for a new index that no index of the snapshot has: the candidate's name, or
    one built from its expressions' words, with a number appended if still taken."""
    taken = {ix.name for ix in model.indexes if ix.schema == candidate.table.schema}
    parts: list[str] = []
    for key in candidate.keys:
        parts.extend(expression_words(key.expression) if key.expression else [key.column or ""])
    suffix = {"btree": "idx", "gin": "gin_idx", "brin": "brin_idx"}.get(candidate.method, "idx")
    name = candidate.name()
    if name in taken or any(k.expression for k in candidate.keys):
        name = index_name(candidate.table.name, parts, suffix)
    base, n = name, 1
    while name in taken:
        n += 1
        name = index_name(candidate.table.name, [*parts, str(n)], suffix)
    return name if name else base
