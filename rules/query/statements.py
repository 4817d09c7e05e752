"""Statements worth fixing, from pg_stat_statements counters over the window.

QY001 top statements, QY002 temp spills, QY003 N+1 loops, QY012 regressions against a
baseline, QY013 planning time, QY014 JIT on short statements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Statement, Use
from pgsage.analyzer.sqlgen import ident, literal
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.statements import StatementStats
from pgsage.rules._settings import pg_memory
from pgsage.rules._workload import (
    Totals,
    block_size,
    is_catalog_only,
    short,
    statement_evidence,
    totals,
    workload_ms,
)
from pgsage.rules.base import Rule, register
from pgsage.rules.query._rewrite import batched

MB = 1024**2
GB = 1024**3


def _object(statement: Statement | None) -> ObjectRef:
    """The statement's table when it reads one table, else nothing in particular."""
    if statement is not None and len(statement.tables) == 1:
        table = next(iter(statement.tables))
        return ObjectRef(table.schema, table.name)
    return ObjectRef()


def set_local(setting: str, value: str, queryid: int, text: str | None) -> Action:
    """A transaction that gives one statement a setting: SET LOCAL ends with it."""
    return Action(sql=(f"BEGIN;\nSET LOCAL {setting} = {literal(value)};\n"
                       f"-- run the statement here (queryid {queryid}): {short(text, 200)}\n"
                       "COMMIT;"))


def describe(model: Model, t: Totals) -> str:
    """Calls, mean, rows, cache, temp, planning and WAL of one statement, in a sentence."""
    hit = f"{t.hit_ratio:.1%}" if t.hit_ratio is not None else "n/a"
    plan = (f"planning {t.mean_plan_ms:,.2f} ms vs execution {t.mean_exec_ms:,.2f} ms per "
            "call" if t.plans else f"{t.mean_exec_ms:,.2f} ms execution per call (planning "
            "not tracked: pg_stat_statements.track_planning is off)")
    return (f"{t.calls:,} calls, {t.rows_per_call:,.1f} rows per call, {plan}, cache hit "
            f"{hit}, {format_bytes(t.temp_written * block_size(model))} temp written, "
            f"{format_bytes(t.wal_bytes)} WAL")


@register
class TopStatements(Rule):
    """The statements that take the largest share of the database's time, with a drill-down.

    What it detects:
        Statements that take at least `min_share` of all statement time (planning plus
        execution of top-level statements) over the window, at most `max_statements` of
        them, skipping statements about the catalog only (monitoring) and utility
        commands (DDL, VACUUM, COPY). Each comes with
        what was measured: calls, mean and standard deviation, rows per call, cache hit
        ratio, temp blocks, planning against execution time, WAL bytes, and its plan's
        cost and hash when the plan collector planned it.

        Severity: info; low from `low_share`; medium only when one statement dominates
        (at least `dominant_share` of the time) and keeps on average `dominant_busy` of
        a backend busy over the window. Other QY/IX findings for the same queryid say
        what to change.

    Why it matters:
        A handful of statements usually accounts for most of the load: that is where a
        fix pays off. Ranking by total time, not by mean, finds the fast statement
        called a million times as well as the slow report.

    Example:
        queryid 4211: 38% of statement time, 52,000 calls, 4.1 ms mean, 1 row per call

    What to do:
        Read the other findings for this queryid; `pgsage indexes --explain QUERYID`
        shows its plan with and without the indexes pgsage proposes.

    Options:
        min_share: share of statement time from which a statement is listed.
        max_statements: statements listed at most.
        min_workload_ms: total statement time below which nothing is reported (an idle
        database).
        low_share / dominant_share: shares from which the finding is low / may be medium.
        dominant_busy: average share of one backend's time the dominant statement needs
        to be medium.
    """

    code: ClassVar[str] = "QY001"
    name: ClassVar[str] = "query.top_statements"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.INFO

    @dataclass(frozen=True)
    class Options:
        min_share: float = 0.05
        max_statements: int = 5
        min_workload_ms: float = 100.0
        low_share: float = 0.2
        dominant_share: float = 0.5
        dominant_busy: float = 0.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = totals(model)
        total = workload_ms(found)
        if total < options.min_workload_ms:
            return
        window_ms = model.window.seconds * 1000
        listed = 0
        for t in sorted(found.values(), key=lambda t: -t.total_ms):
            share = min(t.total_ms / total, 1.0)
            if listed >= options.max_statements or share < options.min_share:
                break
            statement = model.workload.statements.get(t.queryid)
            if is_catalog_only(statement) or (statement is not None
                                              and statement.kind in ("utility", "other")):
                continue  # monitoring, DDL and maintenance are not the workload to fix
            listed += 1
            busy = t.total_ms / window_ms if window_ms > 0 else 0.0
            severity = Severity.INFO
            if share >= options.low_share:
                severity = Severity.LOW
            if share >= options.dominant_share and busy >= options.dominant_busy:
                severity = Severity.MEDIUM
            plan = model.plans.get(t.queryid)
            plan_text = (f" Its generic plan costs {plan.total_cost:,.1f} (plan hash "
                         f"{plan.plan_hash})." if plan else "")
            text = model.statement_text(t.queryid)
            explain = (f"; `pgsage indexes --explain {t.queryid}` shows its plan"
                       if statement is not None and statement.plain_select else "")
            yield self.finding(
                severity=severity,
                title=f"queryid {t.queryid} takes {share:.0%} of statement time: "
                      f"{short(text, 70)}",
                detail=(f"Over {model.window.describe()} this statement took "
                        f"{t.total_ms / 1000:,.1f} s of {total / 1000:,.1f} s of statement "
                        f"time ({share:.1%}; on average {busy:.1%} of one backend): "
                        f"{describe(model, t)}.{plan_text} Other findings for queryid "
                        f"{t.queryid} say what to change{explain}.\n  {short(text, 400)}"),
                object=_object(statement),
                impact={"queryids": [t.queryid], "share_of_time": round(share, 4)},
                evidence={**statement_evidence(model, t), "share_of_time": round(share, 4),
                          "backend_busy": round(busy, 4),
                          "plan_cost": plan.total_cost if plan else None,
                          "plan_hash": plan.plan_hash if plan else None},
                benefit=t.total_ms,
            )


def _next_power_of_two(value: float) -> int:
    n = max(int(value), 1)
    return 1 << (n - 1).bit_length()


@register
class TempSpill(Rule):
    """A statement spills sorts or hashes to temporary files: give it more work_mem.

    What it detects:
        Statements called at least `min_calls` times that wrote at least `min_temp_bytes`
        of temporary files over the window (pg_stat_statements temp_blks_written). The
        work_mem proposed for that statement is `factor` times the largest spill per
        call (an in-memory sort or hash needs more than its on-disk form), at least
        twice the current work_mem, rounded up to a power of two, at most
        `max_work_mem`. Medium from `medium_temp_bytes` over the window.

    Why it matters:
        A sort or hash that does not fit in work_mem is written to disk and read back:
        often ten times slower, and temp I/O competes with everything else. Raising
        work_mem for the whole server multiplies by every sort of every connection;
        raising it for the statement that needs it does not.

    Example:
        SELECT customer_id, sum(total) FROM orders GROUP BY 1 ORDER BY 2 DESC
        -- 24 MB of temp files per call with work_mem = 4MB

    What to do:
        Run the statement in a transaction that sets `SET LOCAL work_mem` to the proposed
        value (it ends with the transaction). When many statements spill, CF012 proposes
        a server-wide or per-role work_mem. When even `max_work_mem` is not enough, an
        index that provides the order, or a smaller result, is the fix.

    Options:
        min_calls: calls a statement needs.
        min_temp_bytes: temp bytes the statement wrote over the window.
        medium_temp_bytes: from this, the finding is medium.
        factor: memory needed per byte spilled.
        max_work_mem: the largest work_mem proposed for one statement.
    """

    code: ClassVar[str] = "QY002"
    name: ClassVar[str] = "query.temp_spill"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 5
        min_temp_bytes: int = 16 * MB
        medium_temp_bytes: int = GB
        factor: float = 2.0
        max_work_mem: int = GB

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        work_mem = model.setting_bytes("work_mem") or 4 * MB
        block = block_size(model)
        found = totals(model)
        for t in sorted(found.values(), key=lambda t: -t.temp_written):
            spilled = t.temp_written * block
            if t.calls < options.min_calls or spilled < options.min_temp_bytes:
                continue
            statement = model.workload.statements.get(t.queryid)
            if statement is not None and statement.kind in ("utility", "other"):
                continue  # CREATE INDEX, VACUUM, COPY: maintenance_work_mem, not work_mem
            per_call = spilled / t.calls
            wanted = _next_power_of_two(max(per_call * options.factor, work_mem * 2, 4 * MB))
            text = model.statement_text(t.queryid)
            common = (f"queryid {t.queryid} wrote {format_bytes(spilled)} of temporary files "
                      f"over {model.window.describe()} ({format_bytes(per_call)} per call, "
                      f"{t.calls:,} calls) with work_mem = {pg_memory(work_mem)}.")
            if wanted > options.max_work_mem:
                detail = (f"{common} Holding that in memory would take more than "
                          f"{pg_memory(options.max_work_mem)} per sort or hash: make the "
                          "result smaller (a filter, a LIMIT with an index that provides the "
                          "order) instead of raising work_mem.")
                action = None
                proposed = None
            else:
                proposed = pg_memory(wanted)
                detail = (f"{common} Give this statement work_mem = {proposed} with SET LOCAL "
                          "in its transaction: only it gets the memory, and only while it "
                          "runs. When many statements spill, CF012 weighs a server-wide or "
                          f"per-role work_mem instead.\n  {short(text, 400)}")
                action = set_local("work_mem", proposed, t.queryid, text)
            severity = (Severity.MEDIUM if spilled >= options.medium_temp_bytes
                        else self.severity)
            yield self.finding(
                severity=severity,
                title=(f"queryid {t.queryid} spills {format_bytes(per_call)} per call to disk"
                       + (f": SET LOCAL work_mem = {proposed}" if proposed else "")),
                detail=detail,
                object=_object(statement),
                action=action,
                impact={"queryids": [t.queryid], "temp_bytes": int(spilled)},
                evidence={**statement_evidence(model, t),
                          "work_mem": pg_memory(work_mem), "proposed_work_mem": proposed,
                          "temp_bytes_per_call": int(per_call)},
                benefit=spilled,
            )


def _eq_columns(statement: Statement) -> list[str]:
    """Columns compared for equality with a parameter (or constant) in WHERE, not in an OR."""
    table = next(iter(statement.tables))
    return sorted({u.column for u in statement.uses_of(table)
                   if u.use is Use.EQ and u.clause == "where" and not u.in_or
                   and u.column is not None and u.expression is None})


@register
class NPlusOne(Rule):
    """Very many calls of a one-row lookup: the N+1 pattern of an application loop.

    What it detects:
        A SELECT on one table, called at least `min_calls` times over the window, returning
        at most `max_rows_per_call` rows per call, that looks the table up by equality on
        its primary key (or a unique key, or an indexed column) compared with a parameter.
        When another statement returned about as many rows in all as this one has calls
        (within `parent_tolerance`) in far fewer calls, it is named: probably the list
        the loop iterates over. Low; medium with such a parent and at least
        `medium_share` of statement time.

    Why it matters:
        Each call costs a network round trip, a parse/bind/execute and a context switch
        for a few microseconds of work: a page that shows 500 orders makes 501 queries.
        One query for the whole list does the same work in one trip.

    Example:
        SELECT id, name FROM customers WHERE id = $1   -- 120,000 calls, 1 row each

    What to do:
        Fetch the rows for the whole list at once: `WHERE id = ANY($1)` with an array of
        keys (the rewrite is in the finding), or join the table into the statement that
        produced the list. ORMs call this eager loading (`select_related`,
        `prefetch_related`, `includes`, `JOIN FETCH`).

    Options:
        min_calls: calls over the window from which a lookup counts.
        max_rows_per_call: rows per call at most.
        parent_tolerance: how close the parent's rows must be to this statement's calls.
        medium_share: share of statement time for medium (with a parent).
    """

    code: ClassVar[str] = "QY003"
    name: ClassVar[str] = "query.n_plus_one"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 1000
        max_rows_per_call: float = 2.0
        parent_tolerance: float = 0.25
        medium_share: float = 0.05

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = totals(model)
        total = workload_ms(found) or 1.0
        for t in found.values():
            if t.calls < options.min_calls or t.rows_per_call > options.max_rows_per_call:
                continue
            statement = model.workload.statements.get(t.queryid)
            if statement is None or not statement.plain_select or len(statement.tables) != 1:
                continue
            table = next(iter(statement.tables))
            columns = _eq_columns(statement)
            if not columns:
                continue
            how = self._lookup_kind(model, table.relid, columns)
            if how is None:
                continue
            parent = self._parent(found, t, options)
            text = model.statement_text(t.queryid) or statement.text
            rewrite = batched(text, columns[0]) if len(columns) == 1 else None
            share = t.total_ms / total
            severity = (Severity.MEDIUM if parent is not None and share >= options.medium_share
                        else self.severity)
            parent_text = ""
            if parent is not None:
                parent_text = (f" queryid {parent.queryid} returned {parent.rows:,.0f} rows in "
                               f"{parent.calls:,} calls over the same window, about one per "
                               f"call of this lookup: probably the list the loop walks "
                               f"({short(model.statement_text(parent.queryid), 120)}).")
            fix = (f" Fetch the whole list in one call: {rewrite} with an array of keys, or "
                   "join the table into the statement that produced the list." if rewrite else
                   " Join the table into the statement that produced the list, or fetch all "
                   "keys at once with = ANY($1).")
            yield self.finding(
                severity=severity,
                title=f"N+1 lookups: queryid {t.queryid} called {t.calls:,} times for "
                      f"{t.rows_per_call:.1f} row(s) each on {table.name}",
                detail=(f"queryid {t.queryid} looked up {table.name} by {', '.join(columns)} "
                        f"({how}) {t.calls:,} times over {model.window.describe()}, "
                        f"{t.rows_per_call:.2f} rows per call, {t.mean_exec_ms:.3f} ms each: "
                        "the shape of an application loop that runs one query per item (N+1); "
                        "each call also costs a network round trip that pg_stat_statements "
                        f"does not see.{parent_text}{fix}\n  {short(text, 300)}"),
                object=ObjectRef(table.schema, table.name, None, tuple(columns)),
                impact={"queryids": [t.queryid] + ([parent.queryid] if parent else []),
                        "round_trips_saved": t.calls - (parent.calls if parent else 1)},
                evidence={**statement_evidence(model, t), "lookup": how,
                          "parent_queryid": str(parent.queryid) if parent else None,
                          "parent_rows": parent.rows if parent else None,
                          "rewrite": rewrite},
                benefit=t.total_ms + t.calls * 0.1,
            )

    @staticmethod
    def _lookup_kind(model: Model, relid: int, columns: list[str]) -> str | None:
        for ix in model.indexes_by_table.get(relid, []):
            keys = ix.columns[: ix.key_count]
            if not ix.is_valid or ix.predicate or None in keys:
                continue
            if (ix.is_unique or ix.is_primary) and set(keys) <= set(columns):
                return "primary key" if ix.is_primary else f"unique key {ix.name}"
        for ix in model.indexes_by_table.get(relid, []):
            if ix.is_valid and ix.columns and ix.columns[0] in columns:
                return f"indexed by {ix.name}"
        return None

    @staticmethod
    def _parent(found: dict[int, Totals], t: Totals, options: NPlusOne.Options) -> Totals | None:
        best: Totals | None = None
        for other in found.values():
            if other.queryid == t.queryid or other.calls * 5 > t.calls or other.rows < 10:
                continue
            gap = abs(other.rows - t.calls) / t.calls
            if gap <= options.parent_tolerance and (
                    best is None or gap < abs(best.rows - t.calls) / t.calls):
                best = other
        return best


def _baseline_means(model: Model) -> dict[int, tuple[int, float, float]]:
    """queryid -> (calls, mean ms, rows per call) as of the baseline (cumulative)."""
    if model.baseline is None:
        return {}
    sums: dict[int, list[float]] = {}
    for s in model.baseline.rows("statements", StatementStats):
        acc = sums.setdefault(s.queryid, [0.0, 0.0, 0.0])
        acc[0] += s.calls
        acc[1] += s.total_exec_time
        acc[2] += s.rows
    return {q: (int(c), e / c, r / c) for q, (c, e, r) in sums.items() if c > 0}


@register
class Regression(Rule):
    """A statement got slower: its mean time rose by a factor at a similar number of rows.

    What it detects:
        With a baseline (`--baseline` or `--interval`), statements whose mean execution
        time over the window is at least `factor` times their mean as of the baseline,
        while rows per call stayed within `rows_tolerance` (so it is not simply returning
        more), with at least `min_calls` calls on both sides and at least `min_added_ms`
        of extra time over the window. A statement new in the window has no past and is
        never a regression. Medium from `high_factor` or when the extra time is at least
        `medium_share` of statement time.

    Why it matters:
        The same statement doing the same work more slowly means something changed: a
        plan (an index dropped, statistics drifted), bloat, a cache that no longer
        holds the data, or locking. It is cheapest to fix while the change is recent.

    Example:
        queryid 88: 1.2 ms -> 45 ms mean, 1 row per call before and after

    What to do:
        Look at QY105 (plan changed) for the same queryid first. Otherwise refresh the
        statistics of the statement's tables (the action) and compare its plan with
        `pgsage indexes --explain QUERYID`; check MT findings for bloat on those tables.

    Options:
        factor: ratio of means from which a statement is reported.
        high_factor: ratio from which it is medium.
        rows_tolerance: rows per call may differ by at most this ratio.
        min_calls: calls needed in the window and before it.
        min_added_ms: extra execution time over the window at least.
        medium_share: share of statement time the extra time needs for medium.
    """

    code: ClassVar[str] = "QY012"
    name: ClassVar[str] = "query.regression"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        factor: float = 2.0
        high_factor: float = 5.0
        rows_tolerance: float = 1.5
        min_calls: int = 20
        min_added_ms: float = 100.0
        medium_share: float = 0.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        before = _baseline_means(model)
        if not before:
            return
        found = totals(model)
        total = workload_ms(found) or 1.0
        for t in found.values():
            past = before.get(t.queryid)
            if past is None or t.calls < options.min_calls or past[0] < options.min_calls:
                continue
            calls_before, mean_before, rows_before = past
            if mean_before <= 0:
                continue
            ratio = t.mean_exec_ms / mean_before
            added = (t.mean_exec_ms - mean_before) * t.calls
            rows_now = t.rows_per_call
            similar = (max(rows_now, rows_before) + 1) / (min(rows_now, rows_before) + 1)
            if ratio < options.factor or added < options.min_added_ms \
                    or similar > options.rows_tolerance:
                continue
            statement = model.workload.statements.get(t.queryid)
            old, new = model.baseline_plans.get(t.queryid), model.plans.get(t.queryid)
            plan_note = ""
            if old and new and old.plan_hash != new.plan_hash:
                plan_note = (f" Its plan changed (hash {old.plan_hash} -> {new.plan_hash}, cost "
                             f"{old.total_cost:,.1f} -> {new.total_cost:,.1f}): see QY105.")
            tables = sorted(statement.tables, key=lambda r: (r.schema, r.name)) \
                if statement else []
            action = (Action(sql="\n".join(f"ANALYZE {ident(r.schema, r.name)};"
                                           for r in tables)) if tables else None)
            severity = (Severity.MEDIUM if ratio >= options.high_factor
                        or added / total >= options.medium_share else self.severity)
            yield self.finding(
                severity=severity,
                title=f"queryid {t.queryid} is {ratio:.1f}x slower: {mean_before:,.2f} -> "
                      f"{t.mean_exec_ms:,.2f} ms per call",
                detail=(f"As of the baseline, queryid {t.queryid} averaged {mean_before:,.3f} ms "
                        f"over {calls_before:,} calls ({rows_before:,.1f} rows per call); over "
                        f"{model.window.describe()} it averaged {t.mean_exec_ms:,.3f} ms over "
                        f"{t.calls:,} calls ({rows_now:,.1f} rows per call): the same work, "
                        f"{added / 1000:,.1f} s more in all.{plan_note} Refreshing the "
                        "statistics of its tables is the first, cheap step; then compare its "
                        f"plan (`pgsage indexes --explain {t.queryid}`).\n  "
                        f"{short(model.statement_text(t.queryid), 300)}"),
                object=_object(statement),
                action=action,
                impact={"queryids": [t.queryid], "added_ms": round(added, 1)},
                evidence={**statement_evidence(model, t), "mean_exec_ms_before":
                          round(mean_before, 3), "calls_before": calls_before,
                          "rows_per_call_before": round(rows_before, 2),
                          "ratio": round(ratio, 2),
                          "plan_hash_before": old.plan_hash if old else None,
                          "plan_hash_now": new.plan_hash if new else None},
                benefit=added,
            )


@register
class PlanningTime(Rule):
    """A statement spends as long being planned as being executed.

    What it detects:
        Statements planned at least `min_plans` times whose mean planning time is at least
        `ratio` times their mean execution time, with at least `min_plan_ms` of planning
        over the window. Needs `pg_stat_statements.track_planning = on` (off by default:
        without it planning time is not recorded and the rule says nothing). Medium when
        the planning time is at least `medium_share` of all statement time.

    Why it matters:
        Planning is paid on every execution unless the plan is reused. Statements over
        many partitions (each adds planning work before pruning at run time), with many
        joins, or with huge IN lists can plan for milliseconds and run in microseconds.

    Example:
        SELECT ... FROM events WHERE tenant_id = $1   -- 900 partitions: 4 ms planning,
        0.2 ms execution

    What to do:
        Reuse plans: server-side prepared statements from the driver (psycopg
        `prepare_threshold`, JDBC `prepareThreshold`, asyncpg by default; through
        PgBouncer in transaction mode from 1.21 with `max_prepared_statements`). For
        partitioned tables, fewer partitions; for many joins, fewer joins or a lower
        `join_collapse_limit` for that statement.

    Options:
        min_plans: plans over the window at least.
        ratio: mean planning time over mean execution time from which it is reported.
        min_plan_ms: planning milliseconds over the window at least.
        medium_share: share of statement time for medium.
    """

    code: ClassVar[str] = "QY013"
    name: ClassVar[str] = "query.planning_time"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_plans: int = 100
        ratio: float = 1.0
        min_plan_ms: float = 1000.0
        medium_share: float = 0.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = totals(model)
        total = workload_ms(found) or 1.0
        for t in found.values():
            if t.plans < options.min_plans or t.plan_ms < options.min_plan_ms:
                continue
            if t.mean_plan_ms < options.ratio * max(t.mean_exec_ms, 1e-6):
                continue
            statement = model.workload.statements.get(t.queryid)
            partitions = 0
            for ref in statement.tables if statement else ():
                partitions += sum(1 for other in model.tables.values()
                                  if other.parent_relid == ref.relid and other.is_partition)
            why = []
            if partitions:
                why.append(f"it reads partitioned tables with {partitions} partitions in all")
            if statement and len(statement.tables) >= 6:
                why.append(f"it joins {len(statement.tables)} tables")
            reason = ("; ".join(why) + ". ") if why else ""
            yield self.finding(
                severity=(Severity.MEDIUM if t.plan_ms / total >= options.medium_share
                          else self.severity),
                title=f"queryid {t.queryid} plans for {t.mean_plan_ms:,.2f} ms and runs for "
                      f"{t.mean_exec_ms:,.2f} ms",
                detail=(f"Over {model.window.describe()} queryid {t.queryid} was planned "
                        f"{t.plans:,} times, {t.plan_ms / 1000:,.1f} s in all, more than its "
                        f"execution time. {reason}Reuse the plan with server-side prepared "
                        "statements (psycopg prepare_threshold, JDBC prepareThreshold, asyncpg "
                        "by default; PgBouncer 1.21+ max_prepared_statements in transaction "
                        "mode); for partitioned tables use fewer partitions.\n  "
                        f"{short(model.statement_text(t.queryid), 300)}"),
                object=_object(statement),
                impact={"queryids": [t.queryid], "plan_ms": round(t.plan_ms, 1)},
                evidence={**statement_evidence(model, t), "partitions": partitions},
                benefit=t.plan_ms,
            )


@register
class JitOnShortStatement(Rule):
    """JIT compilation takes most of a short statement's time.

    What it detects:
        Statements that were JIT-compiled, spent at least `min_jit_ms` compiling over the
        window and at least `min_share` of their execution time in JIT, with a mean
        execution under `short_ms`. One finding per statement; CF020 looks at the whole
        workload and proposes the server-wide setting.

    Why it matters:
        JIT kicks in when a plan's estimated cost passes jit_above_cost; a short statement
        whose cost is overestimated (often from a bad row estimate) then spends tens of
        milliseconds compiling code that runs for one.

    Example:
        SELECT ... 40 ms per call, 31 ms of it JIT generation, inlining and optimization

    What to do:
        Run the statement with JIT off (`SET LOCAL jit = off` in its transaction), and
        look at why its estimated cost is high (QY104 for estimates); for many such
        statements, CF020's server-wide change.

    Options:
        min_share: share of the statement's execution time spent in JIT.
        short_ms: mean execution time under which a statement is short.
        min_jit_ms: JIT milliseconds over the window at least.
    """

    code: ClassVar[str] = "QY014"
    name: ClassVar[str] = "query.jit"
    category: ClassVar[Category] = Category.QUERY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_share: float = 0.5
        short_ms: float = 1000.0
        min_jit_ms: float = 500.0

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for t in totals(model).values():
            if t.jit_functions <= 0 or t.jit_ms < options.min_jit_ms or t.exec_ms <= 0:
                continue
            share = t.jit_ms / t.exec_ms
            if share < options.min_share or t.mean_exec_ms >= options.short_ms:
                continue
            statement = model.workload.statements.get(t.queryid)
            plan = model.plans.get(t.queryid)
            above = model.setting("jit_above_cost")
            cost = (f" Its generic plan costs {plan.total_cost:,.0f} against jit_above_cost "
                    f"{above}." if plan and above else "")
            text = model.statement_text(t.queryid)
            yield self.finding(
                title=f"JIT takes {share:.0%} of queryid {t.queryid}'s "
                      f"{t.mean_exec_ms:,.1f} ms: SET LOCAL jit = off",
                detail=(f"queryid {t.queryid} spent {t.jit_ms:,.0f} ms of {t.exec_ms:,.0f} ms "
                        f"of execution compiling with JIT over {model.window.describe()} "
                        f"({t.calls:,} calls, {t.jit_ms / t.calls:,.1f} ms per call).{cost} "
                        "Turn JIT off for this statement; the planner's cost estimate that "
                        "triggers it is probably too high. CF020 weighs the server-wide "
                        f"setting.\n  {short(text, 300)}"),
                object=_object(statement),
                action=set_local("jit", "off", t.queryid, text),
                impact={"queryids": [t.queryid], "jit_ms": round(t.jit_ms, 1)},
                evidence={**statement_evidence(model, t), "jit_ms": round(t.jit_ms, 1),
                          "jit_share": round(share, 4), "jit_above_cost": above},
                benefit=t.jit_ms,
            )
