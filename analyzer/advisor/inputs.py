"""What the index advisor weighs: table facts, the statements worth indexing for, write costs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from pgsage.analyzer.advisor.candidates import CandidateOptions, TableFacts
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import AdvisorOptions, Candidate
from pgsage.analyzer.model.workload import Statement, TableRef, Workload
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats


# --- shared inputs ---------------------------------------------------------------------
def partitions(model: Model, relid: int) -> list[TableStats]:
    """The direct partitions of a table (none unless it is partitioned)."""
    return [t for t in model.tables.values() if t.is_partition and t.parent_relid == relid]


def leaf_partitions(model: Model, relid: int) -> list[TableStats]:
    """The partitions holding the rows of a partitioned table (sub-partitions resolved)."""
    out = []
    for part in partitions(model, relid):
        out += leaf_partitions(model, part.relid) if part.relkind == "p" else [part]
    return out


def _as_whole(model: Model, table: TableStats) -> TableStats:
    """A partitioned table's size and counters are its partitions' (its own are empty)."""
    if table.relkind != "p":
        return table
    leaves = leaf_partitions(model, table.relid)
    return dataclasses.replace(
        table, reltuples=float(sum(max(p.reltuples, 0) for p in leaves)),
        relpages=sum(p.relpages for p in leaves),
        n_live_tup=sum(p.n_live_tup or 0 for p in leaves),
        seq_scan=sum(p.seq_scan or 0 for p in leaves))


def candidate_options(model: Model) -> CandidateOptions:
    config = model.setting("default_text_search_config")
    return CandidateOptions(text_search_config=config) if config else CandidateOptions()


def table_facts(model: Model) -> dict[int, TableFacts]:
    columns: dict[int, dict[str, object]] = {}
    for col in model.columns:
        columns.setdefault(col.relid, {})[col.name] = col
    return {relid: TableFacts(_as_whole(model, t), columns.get(relid, {}),  # type: ignore[arg-type]
                              model.indexes_by_table.get(relid, []))
            for relid, t in model.tables.items()}


PLANNED_KINDS = ("select", "update", "delete")
"""An UPDATE or DELETE is planned as the read that finds its rows (never the write)."""


def focus_statements(model: Model, workload: Workload, options: AdvisorOptions) -> list[int]:
    """Queryids worth indexing for: most total time first, bounded in number."""
    frame = model.statements
    if frame.empty:
        return []
    frame = frame[frame["calls"] >= options.min_calls]
    ordered = frame.groupby("queryid", as_index=False)[["total_exec_time", "calls"]].sum()
    ordered = ordered.sort_values("total_exec_time", ascending=False)
    out = []
    for queryid in ordered["queryid"]:
        st = workload.statements.get(int(queryid))
        if st is not None and st.tables and st.kind in PLANNED_KINDS:
            out.append(int(queryid))
        if len(out) >= options.max_statements:
            break
    return out


def calls_by_queryid(model: Model) -> dict[int, int]:
    frame = model.statements
    if frame.empty:
        return {}
    sums = frame.groupby("queryid")["calls"].sum()
    return {int(str(k)): int(v) for k, v in sums.items()}


def rows_written(model: Model, relid: int) -> tuple[float, float]:
    """(rows inserted or non-HOT updated, HOT updates) on a table over the statements' window
    (a partitioned table's: its partitions').

    From the table counters where they cover the statements' window; otherwise from the
    rows pg_stat_statements' own INSERT and UPDATE statements on the table wrote, which share
    the reads' window whatever the table counters cover (`write_cost_note` says which)."""
    table = model.tables.get(relid)
    if table is None:
        return 0.0, 0.0
    if table.relkind == "p":
        parts = [rows_written(model, p.relid) for p in leaf_partitions(model, relid)]
        return sum(w for w, _ in parts), sum(h for _, h in parts)
    if not model.same_window:
        return _written_by_statements(model, relid)
    ins = model.table_counter_over_window(relid, "n_tup_ins") or 0.0
    upd = model.table_counter_over_window(relid, "n_tup_upd") or 0.0
    hot = model.table_counter_over_window(relid, "n_tup_hot_upd") or 0.0
    return ins + max(upd - hot, 0.0), hot


def _written_by_statements(model: Model, relid: int) -> tuple[float, float]:
    """Rows the window's INSERT and UPDATE statements whose one target is this table wrote;
    the HOT share of the updates is the table's own (a ratio, over its counters' window)."""
    inserted = updated = 0.0
    for queryid, st in model.workload.statements.items():
        if st.kind not in ("insert", "update") or queryid not in model.totals:
            continue
        targets = set(st.updated_columns) if st.kind == "update" else st.tables
        if len(targets) != 1 or next(iter(targets)).relid != relid:
            continue
        rows = model.totals[queryid].rows
        if st.kind == "update":
            updated += rows
        else:
            inserted += rows
    table = model.tables[relid]
    hot_share = ((table.n_tup_hot_upd or 0) / table.n_tup_upd) if table.n_tup_upd else 0.0
    hot = updated * hot_share
    return inserted + updated - hot, hot


def write_cost_note(model: Model) -> str | None:
    """Where the plan's write overhead comes from, when not from the table counters."""
    if model.same_window:
        return None
    return ("write overhead counted from the rows pg_stat_statements' INSERT and UPDATE "
            f"statements wrote over {model.window.describe()}: the table counters cover "
            f"{model.counter_window.describe()}, another window, so they are not weighed "
            "against the reads (--interval or --baseline measure both over one window)")


def updated_columns(workload: Workload, table: TableRef) -> set[str]:
    cols: set[str] = set()
    for st in workload.statements.values():
        cols |= st.updated_columns.get(table, set())
    return cols


def write_overhead(model: Model, workload: Workload, candidate: Candidate,
                   options: AdvisorOptions) -> tuple[float, float, float]:
    """(penalty in cost units, rows written, HOT updates lost) of adding this index."""
    written, hot = rows_written(model, candidate.table.relid)
    lost = hot if candidate.all_columns() & updated_columns(workload, candidate.table) else 0.0
    existing = len(model.indexes_by_table.get(candidate.table.relid, []))
    penalty = options.write_cost_per_row * (written + lost * (existing + 1))
    return penalty, written, lost


def redundant_after(candidate: Candidate, indexes: Iterable[IndexStats]) -> list[IndexStats]:
    """Existing indexes the candidate makes unnecessary: a strict key prefix of it, same
    method and predicate, nothing a constraint, replica identity or uniqueness needs."""
    out = []
    keys = [k.column if not k.expression else None for k in candidate.keys]
    for ix in indexes:
        if ix.is_unique or ix.is_primary or ix.constraint_type or ix.is_replica_identity \
                or ix.referenced_by_fk or not ix.is_valid or ix.method != candidate.method \
                or ix.definition is None:  # locked when read: its predicate is unknown
            continue
        if ix.expressions or ix.predicate or candidate.predicate:
            continue
        ix_keys = list(ix.columns[: ix.key_count])
        if len(ix_keys) > len(keys) or ix_keys != keys[: len(ix_keys)]:
            continue
        if any(ix.options[: ix.key_count]) and any(k.desc for k in candidate.keys):
            continue
        out.append(ix)
    return out


def referenced_columns(statement: Statement, table: TableRef) -> set[str] | None:
    """Columns of a table the statement reads or compares; None when it reads `*`."""
    if table in statement.select_star:
        return None
    cols = {u.column for u in statement.uses_of(table) if u.column}
    return cols | statement.selected_columns.get(table, set())


def hypopg_schema(model: Model) -> str | None:
    ext = model.extensions.get("hypopg")
    return ext.schema if ext and ext.installed_version else None



def score_per_byte(net: float, size: int) -> float:
    """Net benefit per byte, the greedy order of both advisors (tiny indexes count as a page)."""
    return net / max(size, 8192)
