"""Findings of a migration file as report Recommendations, with their live cost when known.

Offline a finding says what the statement locks and does; with evidence it adds the size of
the relation, the estimated hold time (and how it was estimated), the traffic that would be
blocked in that time, and the sessions it would queue behind right now (MG023).
"""

from __future__ import annotations

from typing import Any

from pgsage.analyzer.migration import locks as L
from pgsage.analyzer.migration.analysis import CATALOG, FileReport, Finding, StatementReport
from pgsage.analyzer.migration.evidence import Evidence, conflicting_sessions, cost
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.units import format_bytes, format_duration

BUSY_BLOCKED = 1000.0
"""Blocked statements (writes or reads) from which a finding is raised to high."""
QUEUE_ONLY = frozenset({"MG015", "MG017"})
"""Findings about waiting in the lock queue, not about the work done under the lock: the
live queue is MG023's, so they carry no hold-time estimate."""


def recommendations(report: FileReport, evidence: Evidence | None) -> list[Recommendation]:
    out = []
    for stmt, finding in report.all_findings():
        out.append(_recommendation(report.path, stmt, finding, evidence))
    if evidence is not None:
        out.extend(_queue_findings(report, evidence))
    return out


def _object(relation: str | None, columns: tuple[str, ...] = ()) -> ObjectRef:
    if relation is None:
        return ObjectRef()
    schema, _, table = relation.rpartition(".")
    return ObjectRef(schema=schema or None, table=table, columns=columns or None)


def _where(path: str, stmt: StatementReport | None) -> str:
    return f"{path}:{stmt.line}" if stmt is not None else path


def _recommendation(path: str, stmt: StatementReport | None, f: Finding,
                    evidence: Evidence | None) -> Recommendation:
    severity = f.severity
    detail = f.detail
    ev: dict[str, Any] = {"file": path, "line": stmt.line if stmt else None,
                          "statement": stmt.sql if stmt else None}
    if stmt is not None:
        ev["locks"] = [{"relation": lk.relation, "mode": lk.mode, "kind": lk.kind}
                       for lk in stmt.locks]
        ev["effects"] = dict(stmt.effects)
        ev["safe_rewrite_locks"] = dict(f.rewrite_locks)
    impact: dict[str, Any] = {}
    if evidence is not None and stmt is not None and f.relation is not None \
            and f.code not in QUEUE_ONLY:
        live, impact, busy = _live_cost(stmt, f.relation, evidence)
        if live:
            detail += " Live: " + live
        if busy and severity.rank < Severity.HIGH.rank:
            severity = Severity.HIGH
    elif evidence is None and stmt is not None and stmt.slow:
        detail += " Offline: the table's size and traffic are unknown (give a DSN)."
    return Recommendation(
        rule=f.code, category=Category.MIGRATION, severity=severity,
        title=f"{_where(path, stmt)}: {f.title}", detail=detail,
        object=_object(f.relation, f.columns),
        action=Action(sql=f.safe_sql) if f.safe_sql else None,
        impact=impact, evidence=ev, benefit=float(impact.get("blocked_statements", 0.0)))


def _live_cost(stmt: StatementReport, relation: str, evidence: Evidence
               ) -> tuple[str, dict[str, Any], bool]:
    rel = evidence.find(relation)
    mode = stmt.lock_on(relation)
    if rel is None or mode is None:
        return "", {}, False
    effect = stmt.effects.get(relation, CATALOG)
    c = cost(effect, mode, rel, evidence)
    parts = [f"{relation} is {format_bytes(rel.total_bytes)} (heap "
             f"{format_bytes(rel.heap_bytes)}, ~{max(rel.rows, 0):,} rows)"]
    window = f"measured over {evidence.sample_seconds:.0f} s"
    if rel.writes_per_s is not None:
        parts.append(f"{rel.writes_per_s:,.1f} writes/s and {rel.reads_per_s or 0:,.1f} "
                     f"scans/s {window}")
    parts.append(f"estimated hold of {mode}: {format_duration(c.hold_s)} ({c.method})")
    blocked = (c.blocked_writes or 0.0) + (c.blocked_reads or 0.0)
    if c.blocked_writes is not None or c.blocked_reads is not None:
        parts.append(f"about {blocked:,.0f} statements would wait "
                     f"({L.blocked_traffic(mode)})")
    impact = {"relation_bytes": rel.total_bytes, "heap_bytes": rel.heap_bytes,
              "rows_estimate": rel.rows, "writes_per_s": rel.writes_per_s,
              "reads_per_s": rel.reads_per_s, "sample_seconds": evidence.sample_seconds,
              "estimated_hold_seconds": round(c.hold_s, 3), "hold_estimate_method": c.method,
              "blocked_writes": c.blocked_writes, "blocked_reads": c.blocked_reads,
              "blocked_statements": round(blocked, 1)}
    return "; ".join(parts) + ".", impact, blocked >= BUSY_BLOCKED


def _queue_findings(report: FileReport, evidence: Evidence) -> list[Recommendation]:
    """MG023: the statement's lock conflicts with sessions on the relation right now."""
    out = []
    for stmt in report.statements:
        for relation, mode in stmt.strongest().items():
            ahead = conflicting_sessions(relation, mode, evidence)
            if not ahead:
                continue
            blocks = L.blocks_traffic(mode) and mode != L.ROW_EXCLUSIVE
            who = "; ".join(
                f"pid {s.pid} {'holds' if s.granted else 'waits for'} {s.mode}"
                f" ({s.state or 'unknown state'}"
                + (f", transaction open {format_duration(s.xact_age_s)}"
                   if s.xact_age_s is not None else "") + ")"
                for s in ahead[:5])
            out.append(Recommendation(
                rule="MG023", category=Category.MIGRATION,
                severity=Severity.HIGH if blocks else Severity.MEDIUM,
                title=f"{report.path}:{stmt.line}: {mode} on {relation} would wait behind "
                      f"{len(ahead)} session(s) now",
                detail=f"Right now: {who}. The statement would wait for them"
                       + (f", and every later query on {relation} that conflicts with {mode} "
                          f"({L.blocked_traffic(mode)}) would queue behind it"
                          if blocks else "")
                       + ". Run it with a short lock_timeout and retry, or end those "
                         "transactions first.",
                object=_object(relation),
                evidence={"file": report.path, "line": stmt.line,
                          "sessions": [{"pid": s.pid, "mode": s.mode, "granted": s.granted,
                                        "state": s.state, "xact_age_s": s.xact_age_s,
                                        "blocked_by": list(s.blocked_by),
                                        "application": s.application} for s in ahead]}))
    return out


def statements_json(report: FileReport) -> dict[str, Any]:
    return {"file": report.path, "statements": [
        {"line": s.line, "command": s.command, "sql": s.sql,
         "in_transaction": s.in_transaction,
         "locks": [{"relation": lk.relation, "mode": lk.mode, "kind": lk.kind,
                    "note": lk.note or None} for lk in s.locks],
         "effects": dict(s.effects), "caveats": list(s.caveats),
         "not_judged_offline": list(s.unknown),
         "findings": [f.code for f in s.findings]}
        for s in report.statements if s.command != "transaction control"],
        "held_until_commit": [[{"relation": h.relation, "mode": h.mode,
                                "from_statement": h.acquired_at + 1} for h in group]
                              for group in report.held]}


def statements_text(report: FileReport) -> str:
    lines = [f"{report.path}:"]
    for s in report.statements:
        if s.command == "transaction control" or s.command.startswith("SET "):
            continue
        lines.append(f"  line {s.line}: {' '.join(s.sql.split())[:90]}")
        for lk in s.locks:
            lines.append(f"    lock {lk.mode:<22} {lk.kind} {lk.relation}"
                         + (f" ({lk.note})" if lk.note else ""))
        for rel, eff in s.effects.items():
            lines.append(f"    {eff:<26} {rel}")
        lines.extend(f"    note: {c}" for c in s.caveats)
        lines.extend(f"    not judged offline: {u}" for u in s.unknown)
    for group in report.held:
        lines.append("  held until COMMIT: " + ", ".join(
            f"{h.mode} on {h.relation} (from statement {h.acquired_at + 1})" for h in group))
    return "\n".join(lines)
