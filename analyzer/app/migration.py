"""`pgsage migration check` and `pgsage migration plan`: wiring only.

check: parse the files, read the live catalog and evidence when a DSN is given, judge every
statement, render the report like every other command. plan: see `plan_command`.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from pgsage.analyzer.errors import UsageError
from pgsage.analyzer.migration.analysis import FileReport, MigrationParseError, Schema, analyze_sql
from pgsage.analyzer.migration.evidence import DEFAULT_THROUGHPUT, Evidence
from pgsage.analyzer.migration.judge import recommendations, statements_json, statements_text
from pgsage.analyzer.model.core import Window
from pgsage.analyzer.model.findings import Recommendation, ranked
from pgsage.analyzer.model.snapshot import CollectorStatus, Target
from pgsage.analyzer.output.render import Format
from pgsage.analyzer.output.report import Report
from pgsage.analyzer.units import format_bytes, parse_duration, parse_size

migration_app = typer.Typer(help="Judge schema migrations against the live database.",
                            no_args_is_help=True)

DEFAULT_VERSION = 180000
_DSN = re.compile(r"^(postgres(ql)?://|.*\b(host|dbname|port|user|service)=)")


def parse_version(text: str) -> int:
    """`15`, `15.4`, `9.6` or `150004` as server_version_num."""
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?", text.strip())
    if not m:
        raise UsageError(f"--server-version: not a version: {text!r} (e.g. 15 or 16.4)")
    major = int(m.group(1))
    if major >= 10000:
        return major
    minor = int(m.group(2) or 0)
    if major < 10:
        return major * 10000 + minor * 100
    return major * 10000 + minor


def split_arguments(args: list[str]) -> tuple[list[str], str | None]:
    """FILE... [DSN]: the last argument is the DSN when it is not a file and reads as one."""
    if len(args) > 1 and not Path(args[-1]).exists() and _DSN.match(args[-1]):
        return args[:-1], args[-1]
    if len(args) == 1 and not Path(args[0]).exists() and _DSN.match(args[0]):
        raise UsageError("give at least one migration file (or - for standard input)")
    return args, None


def read_files(paths: list[str]) -> list[tuple[str, str]]:
    out = []
    for p in paths:
        if p == "-":
            out.append(("<stdin>", sys.stdin.read()))
            continue
        try:
            out.append((p, Path(p).read_text()))
        except OSError as exc:
            raise UsageError(f"cannot read {p}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"cannot read {p}: not UTF-8 text") from None
    return out


def _analyze_all(files: list[tuple[str, str]], version: int, single_tx: bool,
                 schema: Schema | None = None) -> list[FileReport]:
    """Every file analysed; every file that does not parse named on one line, then exit 2."""
    from pgsage.analyzer.app.cli import err

    reports, failures = [], []
    for path, text in files:
        try:
            reports.append(analyze_sql(text, version, assume_in_transaction=single_tx,
                                       path=path, schema=schema))
        except MigrationParseError as exc:
            failures.append(str(exc))
    if failures:
        for line in failures:
            err.print(f"pgsage: error: {line}", markup=False)
        raise typer.Exit(2)
    return reports


def _names(reports: list[FileReport]) -> list[str]:
    names: dict[str, None] = {}
    for rep in reports:
        for s in rep.statements:
            for lk in s.locks:
                name = lk.relation
                if name.startswith("(table of "):
                    name = name.removeprefix("(table of ").removesuffix(")")
                if not name.startswith("("):
                    names.setdefault(name, None)
    return list(names)


def check_report(files: list[tuple[str, str]], dsn: str | None, version: int | None,
                 single_tx: bool, sample_s: float, throughput: int) -> Report:
    """The report of `migration check` (exits 2 when a file does not parse)."""
    offline_version = version or DEFAULT_VERSION
    reports = _analyze_all(files, offline_version, single_tx)
    notes: list[str] = []
    evidence: Evidence | None = None
    collectors: dict[str, CollectorStatus] = {}
    started = time.time()
    if dsn is None:
        target = Target("(offline)", None, None, offline_version)
        notes.append(
            f"offline, judged for PostgreSQL {offline_version // 10000}"
            + ("" if version else " (the default; give --server-version)")
            + ": relation sizes, live traffic, lock holders, old column types and function "
              "volatility were not read (give a DSN)")
        window = Window(None, started, "none")
    else:
        reports, evidence, target = _live(files, dsn, version, single_tx, sample_s,
                                          throughput, reports, notes)
        collectors["migration"] = CollectorStatus(True, len(evidence.relations),
                                                  time.time() - started)
        window = Window(started, started + evidence.sample_seconds, "between-snapshots")
    recs: list[Recommendation] = []
    for rep in reports:
        recs.extend(recommendations(rep, evidence))
    notes.extend(_unknown_notes(reports))
    appendix = "\n".join(statements_text(r) for r in reports)
    sections = {"migration": {"files": [statements_json(r) for r in reports],
                              "evidence": _evidence_json(evidence)}}
    return Report(target=target, window=window, collectors=collectors,
                  recommendations=ranked(recs), notes=notes, sections=sections,
                  appendix="Statements, their locks and effects:\n" + appendix)


def _live(files: list[tuple[str, str]], dsn: str, version: int | None, single_tx: bool,
          sample_s: float, throughput: int, offline: list[FileReport], notes: list[str]
          ) -> tuple[list[FileReport], Evidence, Target]:
    from dataclasses import replace

    from pgsage.analyzer.live import migration as live
    from pgsage.analyzer.live.connection import Session, describe_target, parse_dsn

    with Session.open(dsn) as session:
        server = live.server_version(session)
        if version is not None and version // 10000 != server // 10000:
            notes.append(f"--server-version {version // 10000} ignored: the server is "
                         f"{server // 10000}")
        names = _names(offline)
        schema = live.read_schema(session, names)
        reports = _analyze_all(files, server, single_tx, schema)
        evidence = live.read_evidence(session, _names(reports), sample_s)
        where = live.target_of(session)
    evidence = replace(evidence, throughput=float(throughput),
                       throughput_method=("given with --throughput"
                                          if throughput != DEFAULT_THROUGHPUT else
                                          evidence.throughput_method))
    notes.extend(evidence.notes)
    t = evidence.timeouts
    if not t.lock_timeout or t.lock_timeout in ("0", "0ms"):
        notes.append(f"the migration's role has no lock_timeout ({t.source}): a blocked "
                     "ALTER waits forever while the queue behind it grows; SET lock_timeout "
                     "in the migration")
    else:
        notes.append(f"the migration's role has lock_timeout = {t.lock_timeout} ({t.source})")
    if t.statement_timeout and t.statement_timeout not in ("0", "0ms"):
        notes.append(f"statement_timeout = {t.statement_timeout} ({t.source}): a rewrite or "
                     "backfill longer than that is cancelled")
    if evidence.long_transactions:
        oldest = evidence.long_transactions[0]
        notes.append(f"{len(evidence.long_transactions)} transaction(s) open longer than "
                     f"{live.LONG_TRANSACTION_S:.0f} s (oldest: pid {oldest.pid}, "
                     f"{(oldest.xact_age_s or 0):.0f} s): CONCURRENTLY builds wait for them")
    missing = [n for n in _names(reports) if n not in evidence.relations]
    if missing:
        notes.append("not in the live database (created by the migration or misnamed): "
                     + ", ".join(missing[:10]))
    params = parse_dsn(dsn)
    host = params.get("host") or params.get("hostaddr") or describe_target({}).split("/")[0]
    target = Target(str(where["database"]), host, where["port"], server)
    return reports, evidence, target


def _unknown_notes(reports: list[FileReport]) -> list[str]:
    out: list[str] = []
    for rep in reports:
        for s in rep.statements:
            out.extend(f"{rep.path}:{s.line}: not judged: {u}" for u in s.unknown)
    return out


def _evidence_json(evidence: Evidence | None) -> dict[str, object] | None:
    if evidence is None:
        return None
    return {
        "sample_seconds": round(evidence.sample_seconds, 3),
        "throughput_bytes_per_s": evidence.throughput,
        "throughput_method": evidence.throughput_method,
        "relations": {n: {"heap_bytes": r.heap_bytes, "total_bytes": r.total_bytes,
                          "total": format_bytes(r.total_bytes), "rows_estimate": r.rows,
                          "writes_per_s": r.writes_per_s, "reads_per_s": r.reads_per_s}
                      for n, r in evidence.relations.items()},
        "sessions": [{"pid": s.pid, "relation": s.relation, "mode": s.mode,
                      "granted": s.granted, "state": s.state, "xact_age_s": s.xact_age_s,
                      "blocked_by": list(s.blocked_by)} for s in evidence.sessions],
        "long_transactions": [{"pid": s.pid, "state": s.state, "xact_age_s": s.xact_age_s}
                              for s in evidence.long_transactions],
        "timeouts": {"lock_timeout": evidence.timeouts.lock_timeout,
                     "statement_timeout": evidence.timeouts.statement_timeout,
                     "source": evidence.timeouts.source},
    }


def _duration(value: str, flag: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=flag) from None


def _size(value: str, flag: str) -> int:
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=flag) from None
    if size <= 0:
        raise typer.BadParameter("must be larger than zero", param_hint=flag)
    return size


SampleOption = Annotated[str, typer.Option(
    "--sample", metavar="<duration>",
    help="With a DSN: measure writes and reads per second over this long.")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Report format.")]
OutputOption = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write the report to this file, not stdout.")]
FailOnOption = Annotated[str | None, typer.Option(
    "--fail-on", metavar="<severity>",
    help="Exit 1 when a finding at or above this severity exists.")]
"""Options `check` and `plan` share, declared once."""


@migration_app.command("check")
def check(
    args: Annotated[list[str], typer.Argument(
        help="Migration files (- for standard input), then optionally a libpq DSN or URI.",
        metavar="FILE... [DSN]", show_default=False)],
    server_version: Annotated[str | None, typer.Option(
        "--server-version", metavar="<version>",
        help="Judge for this PostgreSQL version offline (e.g. 15); with a DSN the server's "
             "own version is used.")] = None,
    single_transaction: Annotated[bool, typer.Option(
        "--single-transaction",
        help="Each file runs in one transaction (as most migration tools run them).")]
    = False,
    sample: SampleOption = "5s",
    throughput: Annotated[str, typer.Option(
        "--throughput", metavar="<size>",
        help="Sequential throughput per second hold times are estimated with.")] = "200MB",
    fmt: FormatOption = Format.TABLE,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
) -> None:
    """Each statement's locks, rewrite/scan, live cost and a safe rewrite (MG rules)."""
    from pgsage.analyzer.app.cli import _severity, emit, guarded

    threshold = _severity(fail_on)
    sample_s = _duration(sample, "'--sample'")
    rate = _size(throughput, "'--throughput'")

    def body() -> None:
        paths, dsn = split_arguments(args)
        version = parse_version(server_version) if server_version else None
        report = check_report(read_files(paths), dsn, version, single_transaction, sample_s,
                              rate)
        emit(report, fmt, output, threshold)

    guarded(body)


@migration_app.command("plan")
def plan(
    target: Annotated[Path, typer.Option(
        "--target", help="The target schema (SQL), loaded into a throwaway server.",
        show_default=False)],
    args: Annotated[list[str] | None, typer.Argument(
        help="A libpq DSN or URI of the live database (none: plan from an empty one).",
        metavar="[DSN]", show_default=False)] = None,
    rename: Annotated[list[str] | None, typer.Option(
        "--rename", metavar="<old=new>",
        help="A rename the diff cannot tell from drop + add: table=new or table.col=new; "
             "repeatable.")] = None,
    script: Annotated[Path | None, typer.Option(
        "--script", help="Write the plan as a runnable SQL script to this file.")] = None,
    server_version: Annotated[str | None, typer.Option(
        "--server-version", metavar="<version>", help="Without a DSN: plan for this version.")]
    = None,
    sample: SampleOption = "5s",
    fmt: FormatOption = Format.TABLE,
    output: OutputOption = None,
    fail_on: FailOnOption = None,
) -> None:
    """An expand / backfill / contract plan from the live schema to a target schema."""
    from pgsage.analyzer.app.cli import _severity, emit, guarded
    from pgsage.analyzer.app.migration_plan import plan_report
    from pgsage.analyzer.migration.plan import parse_renames

    threshold = _severity(fail_on)
    sample_s = _duration(sample, "'--sample'")

    def body() -> None:
        if args and len(args) > 1:
            raise UsageError("give at most one DSN")
        try:
            renames = parse_renames(rename or [])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        version = parse_version(server_version) if server_version else None
        text = read_files([str(target)])[0][1]
        report, built = plan_report(text, args[0] if args else None, version, renames,
                                    sample_s)
        if script is not None:
            try:
                script.write_text(built.script())
            except OSError as exc:
                raise UsageError(f"cannot write {script}: {exc.strerror}") from None
        emit(report, fmt, output, threshold)

    guarded(body)

