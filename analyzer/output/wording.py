"""The words every format shares: a finding's time gain, its object, its severity label and
the overview's windows, so table, Markdown and HTML say the same thing."""

from __future__ import annotations

from pgsage.analyzer.model.core import Window
from pgsage.analyzer.model.findings import ObjectRef, Question, Recommendation, TimeGain
from pgsage.analyzer.output.overview import Overview
from pgsage.analyzer.output.report import Report, iso
from pgsage.analyzer.units import format_bytes

QUESTIONS_HEADING = "Questions SQL cannot answer"
"""Where the rules list what a person has to check (backups, restore tests, ...)."""
UNUSED_HEADING = "Indexes not used so far"
STATEMENTS_LISTED = 5
"""Per-statement time lines shown in a finding; the JSON keeps them all."""


def ms_text(ms: float) -> str:
    """A duration in the unit a person reads best: `0.42 ms`, `80 ms`, `3.1 s`, `3 min`."""
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def count_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.1f}".rstrip("0").rstrip(".")


def win_short(rec: Recommendation) -> str:
    """The estimated win in a few characters, for the ranked list."""
    gain = rec.gain
    if gain is None:
        return "-"
    if gain.saved_ms is not None:
        hourly = gain.per_hour(gain.saved_ms)
        return (f"≈{ms_text(hourly)}/h saved" if hourly is not None
                else f"≈{ms_text(gain.saved_ms)} saved")
    hourly = gain.per_hour(gain.spent_ms)
    return f"uses {ms_text(hourly)}/h" if hourly is not None else f"uses {ms_text(gain.spent_ms)}"


def _statement_line(gain: TimeGain, queryid: str, calls: float, mean: float,
                    after: float | None) -> str:
    hourly = gain.per_hour(calls)
    rate = f"{count_text(hourly)} calls/h" if hourly is not None else \
        f"{count_text(calls)} calls in the window"
    if after is None:
        spent = gain.per_hour(mean * calls)
        took = (f"{ms_text(spent)} of database time per hour" if spent is not None
                else f"{ms_text(mean * calls)} of database time in the window")
        return f"queryid {queryid}: {ms_text(mean)} per call, {rate} ⇒ {took}"
    saved = (mean - after) * calls
    hourly_saved = gain.per_hour(saved)
    about = (f"about {ms_text(hourly_saved)} of database time saved per hour"
             if hourly_saved is not None else
             f"about {ms_text(saved)} of database time saved over the window")
    return (f"queryid {queryid}: ≈ {ms_text(mean)} → {ms_text(after)} per call, {rate} "
            f"⇒ {about}")


def time_lines(rec: Recommendation, window: Window) -> list[str]:
    """The finding's database time in words: per statement, in all, and what is measured."""
    gain = rec.gain
    if gain is None:
        return []
    listed = sorted(gain.statements, key=lambda s: -(s.mean_ms - (s.after_ms or 0)) * s.calls)
    lines = [_statement_line(gain, s.queryid, s.calls, s.mean_ms, s.after_ms)
             for s in listed[:STATEMENTS_LISTED]]
    if len(listed) > STATEMENTS_LISTED:
        lines.append(f"and {len(listed) - STATEMENTS_LISTED} more statement(s)")
    per_hour = window.seconds > 0
    if gain.saved_ms is not None:
        total = gain.per_hour(gain.saved_ms) if per_hour else gain.saved_ms
        if len(listed) > 1 and total is not None:
            lines.append(f"In all: about {ms_text(total)} of database time saved "
                         + ("per hour." if per_hour else "over the window."))
        lines.append(f"Measured: calls and mean times over {window.describe()}. Estimated: "
                     "the time per call with the fix (measured mean x the planner's cost "
                     "after/before; the costs are in the evidence).")
    else:
        lines.append(f"Measured over {window.describe()}; what the fix saves is not "
                     "estimated.")
    return lines


def object_label(obj: ObjectRef) -> str:
    """`orders (user_id)` for columns of a table, else the index or the table; the schema
    only where it is not `public`."""
    schema = f"{obj.schema}." if obj.schema and obj.schema != "public" else ""
    if obj.table and obj.columns:
        return f"{schema}{obj.table} ({', '.join(obj.columns)})"
    name = obj.index or obj.table
    return f"{schema}{name}" if name else "-"


def objects_label(rec: Recommendation) -> str:
    objects = rec.objects
    first = object_label(objects[0])
    return first if len(objects) == 1 else f"{first} +{len(objects) - 1}"


def severity_note(rec: Recommendation) -> str | None:
    """Where a finding's severity differs from its rule's default (`rules list` shows the
    default), say so."""
    default = rec.adjusted_from
    if default is None:
        return None
    way = "raised" if rec.severity.rank > default.rank else "lowered"
    return (f"Severity {rec.severity.value} (adjusted from the rule's default {default.value}: "
            f"{way} by what this finding measured).")


def _version(num: int | None) -> str:
    if not num:
        return "?"
    return f"{num // 10000}.{num % 10000}"


def target_line(report: Report) -> str:
    t = report.target
    where = f"{t.host}:{t.port}" if t.port else (t.host or "local")
    return (f"{t.database} on {where} — PostgreSQL {_version(t.server_version_num)}; "
            f"counters cover {report.window.describe()} (to {iso(report.window.end)})")


def failed_collectors(report: Report) -> list[tuple[str, str]]:
    return [(name, s.reason or "failed") for name, s in report.collectors.items() if not s.ok]


def summary_line(report: Report) -> str:
    if not report.recommendations:
        return "No findings: nothing to recommend."
    by_sev = report.counts()["by_severity"]
    parts = [f"{by_sev[s]} {s}" for s in ("critical", "high", "medium", "low", "info")
             if s in by_sev]
    count = len(report.recommendations)
    return (f"{count} finding{'' if count == 1 else 's'}: " + ", ".join(parts)
            + "; most valuable first")


def questions_by_finding(report: Report) -> list[tuple[int, Question]]:
    """Each question with the number of the first finding of its rule."""
    first: dict[str, int] = {}
    for number, rec in enumerate(report.recommendations, 1):
        first.setdefault(rec.rule, number)
    return [(first[q.rule], q) for q in report.questions if q.rule in first]


def overview_rows(overview: Overview) -> dict[str, list[list[str]]]:
    """The overview's tables as rows of text, for the table and Markdown formats."""
    top = [[q.queryid, count_text(q.calls), ms_text(q.mean_ms), count_text(q.rows),
            f"{q.share:.0%}", q.text] for q in overview.top_statements]
    sizes = ([["database", d.name, format_bytes(d.bytes)] for d in overview.databases]
             + [["table", t.name, format_bytes(t.bytes)] for t in overview.tables]
             + [["index", i.name, format_bytes(i.bytes)] for i in overview.indexes])
    unused = [[u.name, u.table, format_bytes(u.bytes)] for u in overview.unused_indexes]
    return {"top": top, "sizes": sizes, "unused": unused}


def overview_facts(overview: Overview) -> list[str]:
    """One line each: cache hit ratios, connections, settings waiting for a restart."""
    hits = ", ".join(f"{k} {v:.1%}" if v is not None else f"{k} unknown"
                     for k, v in overview.cache_hit.items()) or "unknown"
    conns = ", ".join(f"{n} {state}" for state, n in overview.connections.items()) or "none seen"
    pending = ", ".join(overview.pending_restart) or "none"
    return [f"Cache hit ratio: {hits} (database over {overview.counter_window.describe()}, "
            f"statements over {overview.window.describe()}).",
            f"Connections by state: {conns}.",
            f"Settings waiting for a restart: {pending}."]


def statements_heading(overview: Overview) -> str:
    hourly = overview.per_hour(overview.statements_total_ms)
    rate = f", {ms_text(hourly)} per hour" if hourly is not None else ""
    return (f"Top statements by total time over {overview.window.describe()} "
            f"({ms_text(overview.statements_total_ms)} of execution in all{rate})")


def unused_heading(overview: Overview) -> str:
    return (f"{UNUSED_HEADING} (no scan over {overview.counter_window.describe()}; a list to "
            "watch, not a drop recommendation: unique and primary keys are left out)")
