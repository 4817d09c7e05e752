"""What the server lets anyone see: I/O timing, pg_stat_statements capacity, statement texts
in pg_stat_activity, slow-statement logging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import literal
from pgsage.collectors.statements import StatementsInfo
from pgsage.rules._settings import applies, change, display, evidence, is_on
from pgsage.rules.base import NoOptions, Rule, register

STEPS = (5000, 10000, 20000, 50000, 100000)


@register
class TrackIoTimingOff(Rule):
    """track_io_timing is off: nobody can tell how long reads and writes take.

    What it detects:
        track_io_timing = off.

    Why it matters:
        Without it pg_stat_statements, pg_stat_database, pg_stat_io and EXPLAIN (ANALYZE,
        BUFFERS) count blocks read but not the time spent reading them, so a slow disk
        and a cold cache look the same as a fast one. The overhead is a clock read per
        I/O, negligible on current systems (pg_test_timing shows it).

    Example:
        track_io_timing = off (the default)

    What to do:
        Turn it on; a reload suffices (context superuser).

    Options:
        None.
    """

    code: ClassVar[str] = "CF017"
    name: ClassVar[str] = "config.track_io_timing"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if is_on(model, "track_io_timing") is not False:
            return
        yield self.finding(
            title="Turn on track_io_timing: I/O time is not measured",
            detail=("track_io_timing is off, so pg_stat_statements and pg_stat_database "
                    "count blocks read and written but not the time they took: slow storage "
                    "cannot be told from a cold cache. The cost is one clock read per I/O "
                    "(run pg_test_timing on the host to see it is small). The change "
                    f"{applies(model, 'track_io_timing')}."),
            object=ObjectRef(),
            action=change(model, {"track_io_timing": "on"}),
            evidence=evidence(model, "track_io_timing", "on"),
        )


@register
class StatementsEvicted(Rule):
    """pg_stat_statements evicts entries: pg_stat_statements.max is too small.

    What it detects:
        pg_stat_statements_info.dealloc above zero over the window (since the last reset
        without a baseline): entries were thrown away to make room for new statements.

    Why it matters:
        Evicted statements lose their counters and come back as new entries; the least
        used are evicted first, but then every reading undercounts, and a workload with
        many distinct statements (unparameterised literals, IN lists of varying length
        before 18) churns the table and rewrites the query text file constantly.

    Example:
        pg_stat_statements.max = 100, dealloc = 4312

    What to do:
        Raise pg_stat_statements.max (restart needed: the table is in shared memory, about
        1 kB per entry plus the texts). With pg_stat_statements.track = all, nested
        statements take entries too: `top` may be enough.

    Options:
        None.
    """

    code: ClassVar[str] = "CF018"
    name: ClassVar[str] = "config.pg_stat_statements_max"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.MEDIUM

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        info = model.statements_info
        value = model.setting("pg_stat_statements.max")
        if info is None or value is None:
            return
        evicted = info.dealloc
        over = "since pg_stat_statements was last reset"
        if model.baseline is not None:
            before = model.baseline.one("statements_info", StatementsInfo)
            if before is not None and before.dealloc <= info.dealloc:
                evicted = info.dealloc - before.dealloc
                over = model.window.describe()
        if evicted <= 0:
            return
        current = int(value)
        proposed = str(next((s for s in STEPS if s >= 2 * current), current * 2))
        track = model.setting("pg_stat_statements.track")
        track_note = (" pg_stat_statements.track is `all`, so statements nested in functions "
                      "take entries too; `top` may be enough." if track == "all" else "")
        yield self.finding(
            title=f"pg_stat_statements evicted {evicted:,} entries: "
                  f"pg_stat_statements.max {current} -> {proposed}",
            detail=(f"pg_stat_statements deallocated entries {evicted:,} times {over}: it "
                    f"holds at most {current} statements and had to forget the least used to "
                    "make room, so counters are lost and statements reappear as new."
                    f"{track_note} The change "
                    f"{applies(model, 'pg_stat_statements.max')}."),
            object=ObjectRef(),
            action=change(model, {"pg_stat_statements.max": proposed}),
            evidence=evidence(model, "pg_stat_statements.max", proposed, dealloc=evicted,
                              entries_in_this_database=len(model.statements),
                              track=track),
            benefit=float(evicted),
        )


@register
class QueryTextsTruncated(Rule):
    """Application statements are longer than track_activity_query_size.

    What it detects:
        Statements on user tables (from pg_stat_statements, which keeps whole texts) at
        least `min_statements` of which are longer, in bytes, than track_activity_query_size:
        pg_stat_activity shows them cut. Texts in pg_stat_statements are normalized
        (constants replaced by $n), so the texts the sessions run are longer still.

    Why it matters:
        pg_stat_activity.query is what anyone looks at during an incident (which statement
        is blocking, what is running for an hour), and what monitoring samples. A cut text
        ends before its WHERE clause and cannot be matched to its statement.

    Example:
        track_activity_query_size = 1024 with 3 kB ORM-generated SELECTs

    What to do:
        Raise track_activity_query_size to the next power of two above the longest text
        (restart needed; the memory is the value times max_connections, kilobytes).

    Options:
        min_statements: how many long statements make a finding.
    """

    code: ClassVar[str] = "CF019"
    name: ClassVar[str] = "config.track_activity_query_size"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_statements: int = 1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        limit = model.setting_bytes("track_activity_query_size")
        if limit is None or model.statements.empty:
            return
        lengths: dict[int, int] = {}
        for queryid, statement in model.workload.statements.items():
            if statement.tables:  # application statements, not catalog reads (pgsage's own)
                lengths[queryid] = len(statement.text.encode())
        long = {q: n for q, n in lengths.items() if n >= limit}
        if len(long) < options.min_statements:
            return
        longest = max(long.values())
        proposed = 1 << max(longest, limit).bit_length()
        proposed = min(proposed, 1024 * 1024)
        text = f"{proposed // 1024}kB"
        yield self.finding(
            title=f"{len(long)} statements are cut in pg_stat_activity: "
                  f"track_activity_query_size {display(model, 'track_activity_query_size')} "
                  f"-> {text}",
            detail=(f"{len(long)} of {len(lengths)} application statements are longer than "
                    f"track_activity_query_size ({limit} bytes), the longest {longest:,} bytes "
                    "even normalized: pg_stat_activity (what you look at during an incident) "
                    "shows them cut before the end. The change "
                    f"{applies(model, 'track_activity_query_size')}; it "
                    f"costs {text} of shared memory per connection slot."),
            object=ObjectRef(),
            action=change(model, {"track_activity_query_size": text}),
            impact={"queryids": sorted(long, key=lambda q: -long[q])[:10]},
            evidence=evidence(model, "track_activity_query_size", text,
                              long_statements=len(long), longest_bytes=longest),
        )


@register
class SlowStatementsNotLogged(Rule):
    """Neither log_min_duration_statement nor auto_explain logs slow statements.

    What it detects:
        log_min_duration_statement = -1 and auto_explain not loaded (or with
        auto_explain.log_min_duration = -1).

    Why it matters:
        pg_stat_statements gives averages; the log is where one slow execution, its
        parameters and (with auto_explain) its actual plan are kept. Without either, a
        query that was slow once at 3 a.m. leaves no trace of why.

    Example:
        log_min_duration_statement = -1, shared_preload_libraries = 'pg_stat_statements'

    What to do:
        Log statements slower than `threshold` and their plans: the action sets
        log_min_duration_statement and loads auto_explain for new sessions through
        session_preload_libraries (no restart), with log_analyze off so it adds no
        per-row timing overhead.

    Options:
        threshold: the duration from which statements are logged.
    """

    code: ClassVar[str] = "CF022"
    name: ClassVar[str] = "config.slow_statement_logging"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        threshold: str = "1s"

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        logged = model.setting("log_min_duration_statement")
        explain = model.setting("auto_explain.log_min_duration")
        if logged is None or logged != "-1" or (explain is not None and explain != "-1"):
            return
        session = [p.strip() for p in (model.setting("session_preload_libraries") or "")
                   .split(",") if p.strip()]
        libraries = ", ".join([*session, "auto_explain"]) if "auto_explain" not in session \
            else ", ".join(session)
        lines = ["LOAD 'auto_explain';  -- lets ALTER SYSTEM accept auto_explain.* settings",
                 f"ALTER SYSTEM SET log_min_duration_statement = {literal(options.threshold)};",
                 f"ALTER SYSTEM SET session_preload_libraries = {literal(libraries)};",
                 f"ALTER SYSTEM SET auto_explain.log_min_duration = {literal(options.threshold)};",
                 "ALTER SYSTEM SET auto_explain.log_analyze = off;",
                 "SELECT pg_reload_conf();"]
        undo = ("ALTER SYSTEM RESET log_min_duration_statement; "
                "ALTER SYSTEM RESET session_preload_libraries; "
                "ALTER SYSTEM RESET auto_explain.log_min_duration; "
                "ALTER SYSTEM RESET auto_explain.log_analyze; SELECT pg_reload_conf();")
        yield self.finding(
            title=f"Log slow statements and their plans (over {options.threshold})",
            detail=("log_min_duration_statement is -1 and auto_explain is not active: a "
                    "statement that is slow once leaves no trace of its parameters or plan. "
                    f"Log statements over {options.threshold}, with their plans through "
                    "auto_explain for new sessions; both take effect on reload, no restart."),
            object=ObjectRef(),
            action=Action(sql="\n".join(lines), undo_sql=undo),
            evidence=evidence(model, "log_min_duration_statement", options.threshold,
                              auto_explain_loaded=explain is not None,
                              session_preload_libraries=session),
        )
