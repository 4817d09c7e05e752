"""The `pgsage` command: wiring only. Every failure becomes one line and an exit code.

Exit codes: 0 ok, 1 findings at or above `--fail-on`, 2 usage/config/input error,
3 cannot connect or the server refused.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from pgsage.analyzer import __version__
from pgsage.analyzer.app.migration import migration_app
from pgsage.analyzer.engine import config as config_mod
from pgsage.analyzer.engine.pipeline import analyze as run_rules
from pgsage.analyzer.engine.pipeline import analyze_live, indexes_live, take_snapshot
from pgsage.analyzer.errors import PgsageError, UsageError
from pgsage.analyzer.files import write_private
from pgsage.analyzer.model.findings import Severity
from pgsage.analyzer.model.index_plan import AdvisorOptions
from pgsage.analyzer.model.snapshot import Snapshot
from pgsage.analyzer.output.render import Format, render
from pgsage.analyzer.output.report import Report
from pgsage.analyzer.sidecar.settings import sidecar_of
from pgsage.analyzer.units import parse_duration, parse_size

app = typer.Typer(
    name="pgsage",
    help="Performance analyzer for live PostgreSQL databases: ranked, explained, "
         "ready-to-run recommendations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
rules_app = typer.Typer(help="List and explain the rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(migration_app, name="migration")

err = Console(stderr=True, highlight=False, soft_wrap=True)
"""stderr; soft_wrap keeps each message on one line, whatever the terminal's width."""
log = logging.getLogger("pgsage")

T = TypeVar("T")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"pgsage {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback,
                                          is_eager=True, help="Print the version and exit.")]
    = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")]
    = False,
    log_format: Annotated[str, typer.Option("--log-format", help="plain or json")] = "plain",
) -> None:
    """pgsage: performance analyzer for live PostgreSQL databases."""
    from pgsage.analyzer.logs import configure

    try:
        configure(logging.INFO if verbose else logging.WARNING, log_format)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log-format") from None


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body, turning pgsage's errors into one line and their exit code."""
    try:
        return fn()
    except PgsageError as exc:
        err.print(f"pgsage: error: {exc}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("pgsage: interrupted", markup=False)
        raise typer.Exit(130) from None


def _interval(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--interval'") from None


def _severity(value: str | None, option: str = "--fail-on") -> Severity | None:
    if value is None:
        return None
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"'{option}'") from None


def dsn_argument(value: str | None) -> str | None:
    """A bare word is a database name, as for psql (`pgsage analyze shop`); anything with
    `=` or `://` is a libpq connection string or URI and goes through as it is."""
    if value is None or "=" in value or "://" in value:
        return value
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dbname=value)


def warn_password_in_dsn(dsns: list[str] | str | None) -> None:
    """A password on the command line is in `ps` for every local user: say so, once."""
    from pgsage.analyzer.live.connection import parse_dsn

    for dsn in [dsns] if isinstance(dsns, str) else dsns or []:
        try:
            has_password = bool(parse_dsn(dsn).get("password"))
        except UsageError:
            return  # the connection attempt reports a malformed DSN
        if has_password:
            err.print("pgsage: warning: a password in the DSN on the command line is visible "
                      "to every local user (ps); use PGPASSWORD, ~/.pgpass or a service file",
                      markup=False)
            return


def warn_readable_config(path: Path | None) -> None:
    """The sidecar's configuration may hold DSNs with passwords."""
    try:
        readable = path is not None and bool(path.stat().st_mode & 0o004)
    except OSError:
        return  # loading it reports the problem
    if readable:
        err.print(f"pgsage: warning: configuration file {path} is readable by every local "
                  f"user and may hold passwords: chmod 600 {path}", markup=False)


def _load_config(path: Path | None, flags: dict[str, Any] | None = None) -> config_mod.Config:
    return config_mod.load(path, flags=flags)


def _wait_with_progress(seconds: float) -> None:
    """A progress bar on a terminal; elsewhere one log line (a bar would leave blank lines)."""
    import time

    if not err.is_terminal:
        log.info("waiting %.0f s for the second snapshot", seconds)
        time.sleep(seconds)
        return
    with Progress(TextColumn("waiting for the second snapshot"), BarColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as progress:
        task = progress.add_task("wait", total=seconds)
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(0.25, left))
            progress.update(task, completed=seconds - max(left - 0.25, 0))


def _advisor_progress() -> Callable[[str, float], None] | None:
    """A progress line on stderr while the index advisor plans (only on a terminal)."""
    if not err.is_terminal:
        return None
    progress = Progress(TextColumn("index advisor: {task.description}"), BarColumn(),
                        console=err, transient=True)
    task = progress.add_task("starting", total=1.0)

    def update(phase: str, done: float) -> None:
        if not progress.live.is_started:
            progress.start()
        progress.update(task, description=phase, completed=done)
        if done >= 1.0:
            progress.stop()

    return update


def emit(report: Report, fmt: Format, output: Path | None, fail_on: Severity | None,
         top: int | None = None, min_severity: Severity | None = None) -> None:
    """Write the report (its first `top` findings at or above `min_severity`), then exit 1
    when any finding reaches `--fail-on`, shown or not."""
    full = report
    report = report.limited(top, min_severity)
    if output is not None:
        try:
            write_private(output, render(report, fmt).encode())
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    else:
        sys.stdout.write(render(report, fmt, color=sys.stdout.isatty()))
    if fail_on is not None and any(r.severity.rank >= fail_on.rank
                                   for r in full.recommendations):
        raise typer.Exit(1)


ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML configuration file.",
                                                 envvar="PGSAGE_CONFIG")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Report format.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write the report to this file, not stdout.")]
FailOnOpt = Annotated[str | None, typer.Option(
    "--fail-on", metavar="<severity>",
    help="Exit 1 when a finding at or above this severity exists "
         "(critical, high, medium, low, info).")]
SelectOpt = Annotated[list[str] | None, typer.Option(
    "--select", metavar="<rule>",
    help="Only these rules (code, code prefix or category); repeatable.")]
IgnoreOpt = Annotated[list[str] | None, typer.Option(
    "--ignore", metavar="<rule>",
    help="Skip these rules (code, code prefix or category); repeatable.")]
TopOpt = Annotated[int | None, typer.Option(
    "--top", metavar="<n>", min=1, help="Show only the N most valuable findings.")]
MinSeverityOpt = Annotated[str | None, typer.Option(
    "--min-severity", metavar="<severity>",
    help="Show only findings at or above this severity (critical, high, medium, low, info).")]
DsnArg = Annotated[str | None, typer.Argument(
    help="libpq DSN or URI, or a bare database name as for psql; PGHOST, PGPORT, PGUSER, "
         "PGDATABASE, .pgpass and service files apply.", show_default=False)]
TrustFunctionOpt = Annotated[list[str] | None, typer.Option(
    "--trust-function", metavar="<schema.function>",
    help="Plan statements calling this function although no superuser owns it; repeatable.")]
TrustSchemaOpt = Annotated[list[str] | None, typer.Option(
    "--trust-schema", metavar="<schema>",
    help="Plan statements calling functions of this schema whoever owns them; repeatable.")]


def _trust_flags(functions: list[str] | None, schemas: list[str] | None) -> dict[str, Any]:
    """`--trust-function/--trust-schema` as the `[planning]` table."""
    planning: dict[str, Any] = {}
    if functions:
        planning["trust_functions"] = functions
    if schemas:
        planning["trust_schemas"] = schemas
    return {"planning": planning} if planning else {}


def _rule_flags(select: list[str] | None, ignore: list[str] | None) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    if select:
        rules["select"] = select
    if ignore:
        rules["ignore"] = ignore
    return {"rules": rules} if rules else {}


RPO_RULE = "BK003"
"""The rule that measures archiving against the recovery-point objective (`--rpo`)."""


def _host_flags(memory: str | None, cpus: int | None, storage: str | None,
                rpo: str | None) -> dict[str, Any]:
    """`--memory/--cpus/--storage` as the `[host]` table; `--rpo` as the RPO rule's option."""
    host = {k: v for k, v in (("memory", memory), ("cpus", cpus), ("storage", storage))
            if v is not None}
    flags: dict[str, Any] = {"host": host} if host else {}
    if rpo is not None:
        try:
            seconds = parse_duration(rpo)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--rpo'") from None
        flags["rules"] = {"options": {RPO_RULE: {"rpo_seconds": seconds}}}
    return flags


DISK_RULE = "SC003"
"""The rule that projects growth onto the disk size (`--disk-size`)."""


def _disk_flags(disk_size: str | None) -> dict[str, Any]:
    """`--disk-size` as the capacity rule's `disk_bytes` option."""
    if disk_size is None:
        return {}
    try:
        size = parse_size(disk_size)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--disk-size'") from None
    if size <= 0:
        raise typer.BadParameter("must be larger than zero", param_hint="'--disk-size'")
    return {"rules": {"options": {DISK_RULE: {"disk_bytes": size}}}}


@app.command()
def analyze(
    dsn: DsnArg = None,
    interval: Annotated[str | None, typer.Option(
        "--interval", "-i", metavar="<duration>",
        help="Take two snapshots this far apart (e.g. 60s) and report rates over the window.")]
    = None,
    snapshot: Annotated[Path | None, typer.Option(
        "--snapshot", help="Analyze a snapshot file instead of connecting.")] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", help="An older snapshot file: report rates between it and now.")] = None,
    fmt: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    top: TopOpt = None,
    min_severity: MinSeverityOpt = None,
    memory: Annotated[str | None, typer.Option(
        "--memory", metavar="<size>",
        help="RAM of the database host (e.g. 16GB), for memory settings advice; "
             "4GB is assumed and said so when not given.")] = None,
    cpus: Annotated[int | None, typer.Option(
        "--cpus", metavar="<n>", min=1, help="CPUs of the database host (2 assumed).")] = None,
    storage: Annotated[str | None, typer.Option(
        "--storage", metavar="<ssd|hdd>",
        help="Storage of the database host, for planner cost advice.")] = None,
    rpo: Annotated[str | None, typer.Option(
        "--rpo", metavar="<duration>",
        help="Recovery-point objective WAL archiving is measured against (default 1h).")]
    = None,
    disk_size: Annotated[str | None, typer.Option(
        "--disk-size", metavar="<size>",
        help="Size of the data disk (e.g. 500GB): with a baseline, when growth fills it.")]
    = None,
    trust_function: TrustFunctionOpt = None,
    trust_schema: TrustSchemaOpt = None,
) -> None:
    """Take a snapshot of a database (or read one) and report what to do about it."""
    seconds = _interval(interval)
    threshold = _severity(fail_on)
    at_least = _severity(min_severity, "--min-severity")
    target = dsn_argument(dsn)
    flags = config_mod.merge(_rule_flags(select, ignore), _host_flags(memory, cpus, storage, rpo))
    flags = config_mod.merge(flags, _disk_flags(disk_size))
    flags = config_mod.merge(flags, _trust_flags(trust_function, trust_schema))

    def body() -> None:
        if snapshot is not None and (target or seconds):
            raise UsageError("--snapshot reads a file: give no DSN and no --interval with it")
        if baseline is not None and seconds:
            raise UsageError("--baseline and --interval both set the window: give one")
        cfg = _load_config(config, flags)
        warn_password_in_dsn(dsn)
        older = Snapshot.load(baseline) if baseline else None
        if snapshot is not None:
            report = run_rules(Snapshot.load(snapshot), cfg, older)
        else:
            report = analyze_live(target, cfg, seconds, _wait_with_progress, baseline=older,
                                  progress=_advisor_progress())
        emit(report, fmt, output, threshold, top, at_least)

    guarded(body)


def _budget(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--budget'") from None


@app.command()
def indexes(
    dsn: DsnArg = None,
    budget: Annotated[str | None, typer.Option(
        "--budget", metavar="<size>", help="Storage for new indexes, e.g. 500MB, 2GB "
                                           "(default: no limit).")] = None,
    max_new: Annotated[int | None, typer.Option(
        "--max-new", min=0, max=1000, show_default=False,
        help="At most this many new indexes (default: 10; no count with --budget).")] = None,
    min_improvement: Annotated[float | None, typer.Option(
        "--min-improvement", min=0.0, max=1.0, show_default=False,
        help="A new index must cut its statements' cost by at least this fraction "
             "(default: 0.1; none with --budget: the budget bounds the plan).")] = None,
    time_limit: Annotated[str | None, typer.Option(
        "--time-limit", metavar="<duration>", show_default=False,
        help="Stop the search after this long (default: 60s; 10min with --budget).")] = None,
    explain: Annotated[int | None, typer.Option(
        "--explain", metavar="<queryid>",
        help="Show the plans of one statement before and after the new indexes.")] = None,
    fmt: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
    config: ConfigOpt = None,
    trust_function: TrustFunctionOpt = None,
    trust_schema: TrustSchemaOpt = None,
) -> None:
    """The whole-workload index plan with its reasoning (what-if proven with HypoPG)."""
    threshold = _severity(fail_on)
    try:
        limit = parse_duration(time_limit) if time_limit is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--time-limit'") from None
    options = AdvisorOptions(budget_bytes=_budget(budget), max_new=max_new,
                             min_improvement=min_improvement, time_limit_s=limit)

    def body() -> None:
        cfg = _load_config(config, _trust_flags(trust_function, trust_schema))
        warn_password_in_dsn(dsn)
        emit(indexes_live(dsn_argument(dsn), cfg, options, explain, _advisor_progress()), fmt,
             output, threshold)

    guarded(body)


@app.command("snapshot")
def snapshot_cmd(
    dsn: DsnArg = None,
    output: Annotated[Path, typer.Option("--output", "-o",
                                         help="Snapshot file to write (.json or .json.gz).")]
    = Path("pgsage-snapshot.json"),
    config: ConfigOpt = None,
    trust_function: TrustFunctionOpt = None,
    trust_schema: TrustSchemaOpt = None,
) -> None:
    """Collect a snapshot to a file, to analyze elsewhere with `analyze --snapshot`."""

    def body() -> None:
        warn_password_in_dsn(dsn)
        snap = take_snapshot(dsn_argument(dsn), _load_config(config, _trust_flags(
            trust_function, trust_schema)))
        try:
            snap.save(output)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
        failed = [k for k, v in snap.status.items() if not v.ok]
        err.print(f"wrote {output}: {len(snap.status) - len(failed)} of {len(snap.status)} "
                  f"collectors ran" + (f" (skipped: {', '.join(failed)})" if failed else ""),
                  markup=False)

    guarded(body)


@app.command()
def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Leave the demo server running and "
                                                      "print its DSN.")] = False,
    seconds: Annotated[float, typer.Option("--seconds", help="How long the workload runs.",
                                           min=1, max=600)] = 8.0,
    fmt: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
    top: TopOpt = None,
    min_severity: MinSeverityOpt = None,
) -> None:
    """Start a throwaway PostgreSQL 18 with a shop database, run a workload, analyze it."""
    threshold = _severity(fail_on)
    at_least = _severity(min_severity, "--min-severity")

    def body() -> None:
        from pgsage.analyzer.app.demo import run_demo

        report = run_demo(seconds=seconds, keep=keep, console=err)
        emit(report, fmt, output, threshold, top, at_least)

    guarded(body)


@rules_app.command("list")
def rules_list(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, markdown or json")]
    = Format.TABLE,
) -> None:
    """Every rule with its code, category, default severity and summary."""
    from pgsage.analyzer.output.rules_doc import list_rules

    sys.stdout.write(list_rules(fmt))


@rules_app.command("show")
def rules_show(code: Annotated[str, typer.Argument(help="Rule code, e.g. IX001.")]) -> None:
    """The documentation and options of one rule."""
    from pgsage.analyzer.output.rules_doc import show_rule

    guarded(lambda: sys.stdout.write(show_rule(code)))


@app.command()
def serve(
    ctx: typer.Context,
    dsn: Annotated[list[str] | None, typer.Argument(
        help="One or more libpq DSNs or URIs to watch (instead of [[targets]] in the "
             "configuration); none at all: the PG* environment variables.",
        metavar="<dsn>...", show_default=False)] = None,
    config: ConfigOpt = None,
    listen: Annotated[str | None, typer.Option(
        "--listen", "-l", metavar="<host:port>",
        help="Address of the HTTP endpoints (/metrics, /healthz, /readyz, /recommendations); "
             "default 127.0.0.1:9816.")] = None,
) -> None:
    """Run as a sidecar: scheduled collection, Prometheus metrics, health and advice over HTTP.

    SIGHUP reloads the configuration (one that does not validate is rejected and the
    running one kept); SIGTERM lets running jobs finish, closes connections and exits.
    """
    flags: dict[str, Any] = {}
    if dsn:
        flags["targets"] = [{"dsn": d} for d in dsn]
    if listen:
        flags["serve"] = {"listen": listen}
    json_logs = bool(ctx.parent and ctx.parent.params.get("log_format") == "json")

    def load() -> config_mod.Config:
        from pgsage.analyzer.sidecar.service import with_defaults

        return with_defaults(config_mod.load(config, flags=flags), json_logs)

    def body() -> int:
        from pgsage.analyzer.sidecar.service import run

        warn_password_in_dsn(dsn)
        warn_readable_config(config)
        return run(load(), load)

    raise typer.Exit(guarded(body))


config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(
    path: Annotated[Path, typer.Argument(help="The TOML configuration file.",
                                         show_default=False)],
) -> None:
    """Validate a configuration file, with the PGSAGE_* environment, as `serve` would see it.

    Exit 0 when it is valid; 2 listing every problem with its key.
    """

    def body() -> None:
        sidecar = sidecar_of(config_mod.load(path))
        targets = ", ".join(t.name for t in sidecar.targets) or "none (PG* variables)"
        extras = [x for x, on in (("TLS", sidecar.serve.tls), ("basic auth", sidecar.serve.auth))
                  if on]
        typer.echo(f"{path}: valid; targets: {targets}; listen {sidecar.serve.host}:"
                   f"{sidecar.serve.port}{' with ' + ' and '.join(extras) if extras else ''}")

    guarded(body)


def main() -> None:
    """Entry point: usage errors become one `pgsage: error:` line and exit 2, like the rest."""
    try:
        code = app(prog_name="pgsage", standalone_mode=False)
    except typer.Abort:
        err.print("pgsage: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:
        # Click's exceptions (vendored by recent Typer as typer._click, public in older ones)
        # are recognised by their interface rather than by a private import.
        exit_code, message = getattr(exc, "exit_code", None), getattr(exc, "format_message", None)
        if not isinstance(exit_code, int) or message is None:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stderr.write(message() + "\n")  # a bare `pgsage`: the help is the answer
            sys.exit(exit_code)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err.print(f"pgsage: error: {message()}{hint}", markup=False)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)
