"""`pgsage migration plan`: load the target schema into a throwaway server, diff its catalog
with the live one, and judge every step of the plan as `migration check` would."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pgsage.analyzer.app.throwaway import ThrowawayServer, embedded_bin_dir, system_bin_dirs
from pgsage.analyzer.errors import UsageError
from pgsage.analyzer.migration.analysis import Schema, analyze_sql, split_statements
from pgsage.analyzer.migration.catalog import Catalog
from pgsage.analyzer.migration.evidence import Evidence
from pgsage.analyzer.migration.judge import recommendations
from pgsage.analyzer.migration.plan import NOT_COVERED, Plan, Step, build_plan
from pgsage.analyzer.model.core import Window
from pgsage.analyzer.model.findings import Recommendation, ranked
from pgsage.analyzer.model.snapshot import CollectorStatus, Target
from pgsage.analyzer.output.report import Report


def bin_dir_for(version: int) -> tuple[Path, str | None]:
    """Server binaries of the same major version as the live server, when installed."""
    major = version // 10000
    for d in system_bin_dirs():
        if d.parent.name == str(major):
            return d, None
    embedded = embedded_bin_dir()
    note = (None if major == 18 else
            f"the target schema was loaded into PostgreSQL 18 (no {major} binaries here): "
            "catalog texts may differ in form between versions")
    return embedded, note


def load_target(schema_sql: str, version: int) -> tuple[Catalog, list[str]]:
    """The catalog of `schema_sql` loaded into a throwaway server of the right version."""
    from pgsage.analyzer.live.catalog import read_catalog
    from pgsage.analyzer.live.connection import Session

    bin_dir, note = bin_dir_for(version)
    with ThrowawayServer(bin_dir) as server:
        try:
            server.psql(schema_sql)
        except Exception as exc:
            raise UsageError(f"the target schema does not load: {str(exc)[-300:]}") from None
        with Session.open(server.dsn()) as session:
            catalog = read_catalog(session)
    return catalog, [note] if note else []


def judge_steps(plan: Plan, version: int, schema: Schema | None,
                evidence: Evidence | None) -> tuple[list[dict[str, Any]], list[Recommendation]]:
    """The steps judged in order as one file, as `check` judges it (a step knows what the
    steps before it did: a validated CHECK spares SET NOT NULL its scan)."""
    ordered = plan.ordered()
    texts = [_judged_text(step) for step in ordered]
    counts = [len(split_statements(t, "plan")[0]) for t in texts]
    report = analyze_sql("\n".join(texts), version, schema=schema, path="plan")
    steps: list[dict[str, Any]] = []
    start = 0
    lines: dict[int, int] = {}
    for n, (step, count) in enumerate(zip(ordered, counts, strict=True), 1):
        mine = report.statements[start:start + count]
        start += count
        lines.update({s.line: n for s in mine})
        steps.append({"step": n, "phase": step.phase, "why": step.why, "sql": step.sql,
                      "locks": [{"relation": lk.relation, "mode": lk.mode}
                                for s in mine for lk in s.locks],
                      "effects": {rel: eff for s in mine for rel, eff in s.effects.items()},
                      "findings": sorted({f.code for s in mine for f in s.findings})})
    recs = []
    for rec in recommendations(report, evidence):
        line = rec.evidence.get("line")
        step_no = lines.get(line) if isinstance(line, int) else None
        title = rec.title.replace(f"plan:{line}:", f"plan step {step_no}:", 1) \
            if step_no else rec.title
        recs.append(replace(rec, title=title, evidence={**rec.evidence, "step": step_no}))
    return steps, recs


def _judged_text(step: Step) -> str:
    """A step taken with a retried lock_timeout is judged as the statement under that timeout."""
    if step.sql != step.statement:
        return f"SET lock_timeout = '2s';\n{step.statement};\nRESET lock_timeout;"
    return step.statement.rstrip(";") + ";"


def plan_text(plan: Plan, steps: list[dict[str, Any]]) -> str:
    lines = ["Migration plan (run the script outside a transaction block, in this order):"]
    for s in steps:
        locks = ", ".join(f"{lk['mode']} on {lk['relation']}" for lk in s["locks"]) or "none"
        lines.append(f"  {s['step']:>3}. [{s['phase']}] {s['why']}")
        lines.append(f"       locks: {locks}; effect: "
                     + (", ".join(f"{v} {k}" for k, v in s["effects"].items()) or "-"))
    lines.extend(f"  warning: {w}" for w in plan.warnings)
    lines.append("Not covered by the diff:")
    lines.extend(f"  - {item}" for item in NOT_COVERED)
    return "\n".join(lines)


def plan_report(target_sql: str, dsn: str | None, version: int | None,
                renames: dict[str, str], sample_s: float) -> tuple[Report, Plan]:
    import time

    from pgsage.analyzer.app.migration import DEFAULT_VERSION

    started = time.time()
    notes: list[str] = []
    schema: Schema | None = None
    evidence: Evidence | None = None
    if dsn is None:
        server = version or DEFAULT_VERSION
        live = Catalog()
        notes.append("no DSN: planned from an empty database, without sizes or traffic")
        target = Target("(offline)", None, None, server)
    else:
        live, server, schema, target = _live_side(dsn)
    catalog, load_notes = load_target(target_sql, server)
    notes.extend(load_notes)
    plan = build_plan(live, catalog, renames, server)
    if dsn is not None:
        evidence = _evidence(dsn, plan, server, sample_s)
    steps, recs = judge_steps(plan, server, schema, evidence)
    notes.extend(f"plan: {w}" for w in plan.warnings)
    window = (Window(None, started, "none") if evidence is None else
              Window(started, started + evidence.sample_seconds, "between-snapshots"))
    report = Report(
        target=target, window=window,
        collectors={"migration": CollectorStatus(True, len(steps), time.time() - started)},
        recommendations=ranked(recs), notes=notes,
        sections={"migration_plan": {"steps": steps, "warnings": plan.warnings,
                                     "not_covered": list(NOT_COVERED),
                                     "script": plan.script()}},
        appendix=plan_text(plan, steps))
    return report, plan


def _live_side(dsn: str) -> tuple[Catalog, int, Schema, Target]:
    from pgsage.analyzer.live import migration as live_mod
    from pgsage.analyzer.live.catalog import read_catalog
    from pgsage.analyzer.live.connection import Session, parse_dsn

    with Session.open(dsn) as session:
        server = live_mod.server_version(session)
        live = read_catalog(session)
        schema = live_mod.read_schema(session, list(live.tables) + list(live.indexes))
        where = live_mod.target_of(session)
    params = parse_dsn(dsn)
    return live, server, schema, Target(str(where["database"]), params.get("host"),
                                        where["port"], server)


def _evidence(dsn: str, plan: Plan, version: int, sample_s: float) -> Evidence:
    from pgsage.analyzer.live import migration as live_mod
    from pgsage.analyzer.live.connection import Session

    names: dict[str, None] = {}
    for step in plan.steps:
        for s in analyze_sql(_judged_text(step), version).statements:
            for lk in s.locks:
                names.setdefault(lk.relation, None)
    with Session.open(dsn) as session:
        return live_mod.read_evidence(session, list(names), sample_s)
