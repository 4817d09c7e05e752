"""The `pgsage` command as a user meets it: exit codes, one-line errors, no secrets, libpq.

Every test runs the real command in a subprocess (`python -m pgsage.analyzer`, the same entry
point as the `pgsage` script) with a clean environment: no `PG*` or `PGSAGE_*` variable leaks
in from the developer's shell. Exit codes are DESIGN.md's: 0 ok, 1 findings at or above `--fail-on`,
2 usage, configuration or input file, 3 cannot connect or the server refused.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from report_contract import check_report

from pgsage.analyzer import __version__
from pgsage.analyzer.app.throwaway import (
    ThrowawayServer,
    bin_dir_major,
    fetched_bin_dirs,
    free_port,
)
from pgsage.analyzer.model.snapshot import Snapshot, Target

PGSAGE = [sys.executable, "-m", "pgsage.analyzer"]

pytestmark = pytest.mark.subprocess  # every test runs the command as a user does


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without libpq's or pgsage's variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSFILE"] = "/nonexistent/pgpass"  # never the developer's ~/.pgpass
    env.update(extra)
    return env


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err

    def json(self) -> dict[str, object]:
        return check_report(self.out)


def pgsage(*args: str | Path, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> Run:
    done = subprocess.run([*PGSAGE, *map(str, args)], capture_output=True, text=True,
                          env=clean_env() if env is None else env, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=180)
    return Run(done.returncode, done.stdout, done.stderr)


def assert_error(run: Run, code: int, *mentions: str, secrets: tuple[str, ...] = ()) -> None:
    """Exit `code` with one `pgsage: error:` line on stderr, no traceback, no secret."""
    assert run.code == code, f"exit {run.code}, expected {code}; stderr: {run.err!r}"
    assert "Traceback" not in run.output
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {run.err!r}"
    assert lines[0].startswith("pgsage: error: "), lines[0]
    for word in mentions:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    for secret in secrets:
        assert secret not in run.output, "a password appears in the output"
        assert secret not in run.output.lower()


def closed_port_dsn() -> str:
    return f"host=127.0.0.1 port={free_port()} dbname=shop user=dba connect_timeout=5"


def minimal_snapshot(path: Path, taken_at: float | None = None) -> Path:
    """A valid snapshot file that no collector filled (for tests about files and flags)."""
    Snapshot(taken_at=taken_at or time.time(),
             target=Target(database="shop", host="db1", port=5432, server_version_num=180000),
             status={}, data={}).save(path)
    return path


def host_port(dsn: str) -> tuple[str, str]:
    params = conninfo_to_dict(dsn)
    return str(params["host"]), str(params["port"])


def rules_of(report: dict[str, object]) -> list[str]:
    return [r["rule"] for r in report["recommendations"]]


# --- a database with one known finding ------------------------------------------------------

SEED_SQL = """
CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."Order" (id bigint PRIMARY KEY, "userId" int, note text);
CREATE INDEX "Order_user_a" ON "Sales Data"."Order" ("userId");
CREATE INDEX "Order_user_b" ON "Sales Data"."Order" ("userId");
"""
"""Two identical indexes on a table whose names need quoting: IX002 reports the second."""


@dataclass
class Seeded:
    dsn: str
    database: str
    snapshot: Path


@pytest.fixture(scope="module")
def seeded(pg_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """One seeded database per server and a snapshot of it, shared by a module's tests."""
    name = f"cli_{os.getpid()}_{pg_server.label}"
    pg_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_server.execute(f'CREATE DATABASE "{name}"')
    pg_server.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", name)
    pg_server.execute(SEED_SQL, name)
    dsn = pg_server.dsn(name)
    path = tmp_path_factory.mktemp("seeded") / "seeded.json"
    run = pgsage("snapshot", dsn, "-o", path)
    assert run.code == 0, run.err
    try:
        yield Seeded(dsn, name, path)
    finally:
        pg_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- connecting ------------------------------------------------------------------------------

def test_an_unreachable_server_exits_3() -> None:
    assert_error(pgsage("analyze", closed_port_dsn()), 3, "cannot connect", "127.0.0.1")


def test_an_unresolvable_host_name_exits_3() -> None:
    run = pgsage("analyze", "host=no-such-host.invalid dbname=shop connect_timeout=5")
    assert_error(run, 3, "cannot connect", "no-such-host.invalid")


@pytest.mark.parametrize("dsn", [
    "host=localhost port=",
    "postgresql://x:y@:bad/",
    "not a dsn = =",
    "host=127.0.0.1 port=99999",
    "postgresql://dba@db1/shop?nonsense=1",
])
def test_a_malformed_dsn_exits_2(dsn: str) -> None:
    assert_error(pgsage("analyze", dsn), 2, "malformed DSN")


def test_a_malformed_dsn_never_echoes_its_password() -> None:
    secret = f"Pw{secrets.token_hex(6)}"
    run = pgsage("analyze", f"postgresql://dba:{secret}@db1:notaport/shop")
    assert_error(run, 2, "malformed DSN", secrets=(secret,))


@pytest.fixture(scope="module")
def postgres_13() -> Iterator[ThrowawayServer]:
    """A real PostgreSQL 13, the newest version pgsage does not support (npm build)."""
    bin_dir = next((d for d in fetched_bin_dirs() if bin_dir_major(d) == 13), None)
    if bin_dir is None:
        pytest.skip("no PostgreSQL 13 build here (bash .ci/fetch-postgres installs one)")
    with ThrowawayServer(bin_dir) as server:
        yield server


@pytest.mark.pg
def test_postgresql_13_is_refused_in_one_line(postgres_13: ThrowawayServer) -> None:
    assert_error(pgsage("analyze", postgres_13.dsn()), 3, "PostgreSQL 13.", "needs 14 or newer")


def test_a_missing_database_exits_3(pg) -> None:
    run = pgsage("analyze", pg.server.dsn("no_such_database_here"))
    assert_error(run, 3, "no_such_database_here")


@pytest.fixture
def password_role(pg) -> Iterator[tuple[str, str]]:
    """A role that must authenticate with scram-sha-256 over TCP, and its password.

    The throwaway servers trust every local connection; a pg_hba.conf line in front of the
    others makes this one role need its password. The file is restored afterwards.
    """
    server = pg.server.throwaway
    if server is None:
        pytest.skip("needs a throwaway server whose pg_hba.conf the test may edit")
    role, password = f"pw_{pg.name}", f"Sekr3t-{secrets.token_hex(8)}"
    pg.server.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' IN ROLE pg_monitor")
    hba = server.data_dir / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{original}")
    pg.server.execute("SELECT pg_reload_conf()")
    _wait_until_password_needed(pg.server.dsn(pg.name, user=role))
    try:
        yield role, password
    finally:
        hba.write_text(original)
        pg.server.execute("SELECT pg_reload_conf()")
        pg.server.execute(f"DROP ROLE IF EXISTS {role}")


def _wait_until_password_needed(dsn: str) -> None:
    """The postmaster rereads pg_hba.conf asynchronously after pg_reload_conf()."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            psycopg.connect(dsn, connect_timeout=5).close()
        except psycopg.OperationalError:
            return
        time.sleep(0.1)
    pytest.fail("the server kept trusting the role after pg_hba.conf was reloaded")


def test_the_right_password_connects(pg, password_role) -> None:
    role, password = password_role
    run = pgsage("analyze", pg.server.dsn(pg.name, user=role, password=password), "-f", "json")
    assert run.code == 0, run.err
    assert password not in run.output


@pytest.mark.parametrize("form", ["key=value", "uri", "PGPASSWORD"])
def test_a_wrong_password_exits_3_and_is_never_printed(pg, password_role,
                                                       form: str) -> None:
    role, password = password_role
    wrong = f"Wr0ng-{secrets.token_hex(8)}"
    host, port = host_port(pg.dsn)
    env = clean_env()
    if form == "key=value":
        dsn = pg.server.dsn(pg.name, user=role, password=wrong)
    elif form == "uri":
        dsn = f"postgresql://{role}:{wrong}@{host}:{port}/{pg.name}"
    else:
        dsn = pg.server.dsn(pg.name, user=role)
        env["PGPASSWORD"] = wrong
    run = pgsage("analyze", dsn, env=env)
    if form != "PGPASSWORD":  # a password on the command line is warned about first
        warning, _, rest = run.err.partition("\n")
        assert warning.startswith("pgsage: warning: a password in the DSN"), run.err
        assert wrong not in warning and password not in warning
        run = replace(run, err=rest)
    assert_error(run, 3, "password authentication failed", secrets=(wrong, password))


def test_a_snapshot_file_never_holds_the_password(pg, password_role,
                                                  tmp_path: Path) -> None:
    role, password = password_role
    out = tmp_path / "snap.json"
    run = pgsage("snapshot", pg.server.dsn(pg.name, user=role, password=password), "-o", out)
    assert run.code == 0, run.err
    assert password not in run.output
    assert password not in out.read_text()


# --- libpq's environment ---------------------------------------------------------------------

def test_pg_environment_variables_stand_in_for_the_dsn(pg) -> None:
    host, port = host_port(pg.dsn)
    env = clean_env(PGHOST=host, PGPORT=port, PGUSER="postgres", PGDATABASE=pg.name)
    run = pgsage("analyze", "-f", "json", env=env)
    assert run.code == 0, run.err
    assert run.json()["target"]["database"] == pg.name


def test_a_service_file_names_the_target(pg, tmp_path: Path) -> None:
    host, port = host_port(pg.dsn)
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[pgsage_test]\nhost={host}\nport={port}\ndbname={pg.name}\n"
                        "user=postgres\n")
    env = clean_env(PGSERVICEFILE=str(services), PGSERVICE="pgsage_test")
    run = pgsage("analyze", "-f", "json", env=env)
    assert run.code == 0, run.err
    assert run.json()["target"]["database"] == pg.name


def test_a_service_named_in_the_dsn_is_used(pg, tmp_path: Path) -> None:
    host, port = host_port(pg.dsn)
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[shop]\nhost={host}\nport={port}\ndbname={pg.name}\nuser=postgres\n")
    run = pgsage("analyze", "service=shop", "-f", "json",
                 env=clean_env(PGSERVICEFILE=str(services)))
    assert run.code == 0, run.err
    assert run.json()["target"]["database"] == pg.name


def test_pgpass_supplies_the_password(pg, password_role, tmp_path: Path) -> None:
    role, password = password_role
    host, port = host_port(pg.dsn)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"{host}:{port}:{pg.name}:{role}:{password}\n")
    passfile.chmod(0o600)  # libpq ignores a password file others can read
    dsn = pg.server.dsn(pg.name, user=role)
    assert pgsage("analyze", dsn).code == 3  # the control: without the file it is refused
    run = pgsage("analyze", dsn, "-f", "json", env=clean_env(PGPASSFILE=str(passfile)))
    assert run.code == 0, run.err
    assert password not in run.output


# --- snapshot files ---------------------------------------------------------------------------

def test_a_missing_snapshot_file_exits_2(tmp_path: Path) -> None:
    run = pgsage("analyze", "--snapshot", tmp_path / "nope.json")
    assert_error(run, 2, "nope.json", "does not exist")


def test_a_snapshot_file_that_is_not_json_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text("this is not json\n")
    assert_error(pgsage("analyze", "--snapshot", path), 2, "snap.json", "not valid JSON")


def test_a_truncated_gzip_snapshot_exits_2(tmp_path: Path) -> None:
    whole = minimal_snapshot(tmp_path / "whole.json.gz").read_bytes()
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    assert_error(pgsage("analyze", "--snapshot", cut), 2, "cut.json.gz")


def test_a_snapshot_of_an_unknown_format_version_exits_2(tmp_path: Path) -> None:
    doc = json.loads(minimal_snapshot(tmp_path / "snap.json").read_text())
    doc["format_version"] = 99
    path = tmp_path / "future.json"
    path.write_text(json.dumps(doc))
    assert_error(pgsage("analyze", "--snapshot", path), 2, "format version 99")


@pytest.mark.parametrize("content", ['{"hello": "world"}', "[1, 2, 3]", '"text"'])
def test_a_json_file_that_is_not_a_snapshot_exits_2(tmp_path: Path, content: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content)
    assert_error(pgsage("analyze", "--snapshot", path), 2, "not a pgsage snapshot")


def test_a_damaged_snapshot_exits_2(tmp_path: Path) -> None:
    doc = json.loads(minimal_snapshot(tmp_path / "snap.json").read_text())
    doc["data"] = ["not", "a", "mapping"]
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(doc))
    assert_error(pgsage("analyze", "--snapshot", path), 2, "damaged")


def test_a_snapshot_round_trip_gives_the_same_findings(seeded: Seeded) -> None:
    direct = pgsage("analyze", seeded.dsn, "--select", "IX002", "-f", "json")
    offline = pgsage("analyze", "--snapshot", seeded.snapshot, "--select", "IX002", "-f", "json")
    assert direct.code == offline.code == 0, direct.err + offline.err
    assert direct.json()["recommendations"] == offline.json()["recommendations"]
    assert direct.json()["target"] == offline.json()["target"]
    assert rules_of(offline.json()) == ["IX002"]


def test_a_gzipped_snapshot_reads_like_a_plain_one(seeded: Seeded, tmp_path: Path) -> None:
    gz = tmp_path / "snap.json.gz"
    assert pgsage("snapshot", seeded.dsn, "-o", gz).code == 0
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(gz.read_bytes()))["format"] == "pgsage-snapshot"
    run = pgsage("analyze", "--snapshot", gz, "--select", "IX002", "-f", "json")
    assert run.code == 0, run.err
    assert rules_of(run.json()) == ["IX002"]


def test_snapshot_reports_what_it_wrote_on_stderr(seeded: Seeded, tmp_path: Path) -> None:
    run = pgsage("snapshot", seeded.dsn, "-o", tmp_path / "s.json")
    assert run.code == 0
    assert run.out == ""
    assert re.search(r"wrote .*s\.json: \d+ of \d+ collectors ran", run.err)


def test_a_baseline_gives_a_window_between_two_snapshots(seeded: Seeded, tmp_path: Path) -> None:
    newer = tmp_path / "newer.json"
    assert pgsage("snapshot", seeded.dsn, "-o", newer).code == 0
    run = pgsage("analyze", "--snapshot", newer, "--baseline", seeded.snapshot, "-f", "json")
    assert run.code == 0, run.err
    window = run.json()["window"]
    span = (json.loads(newer.read_text())["taken_at"]
            - json.loads(seeded.snapshot.read_text())["taken_at"])
    assert window["kind"] == "between-snapshots"
    assert window["seconds"] == pytest.approx(span, abs=0.01)


def test_a_baseline_newer_than_the_snapshot_exits_2(tmp_path: Path) -> None:
    older = minimal_snapshot(tmp_path / "older.json", taken_at=time.time() - 60)
    newer = minimal_snapshot(tmp_path / "newer.json")
    run = pgsage("analyze", "--snapshot", older, "--baseline", newer)
    assert_error(run, 2, "baseline")


def test_without_a_baseline_counters_cover_the_time_since_reset(seeded: Seeded) -> None:
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "-f", "json")
    assert run.json()["window"]["kind"] == "since-reset"


def test_an_interval_takes_two_snapshots_that_far_apart(pg) -> None:
    run = pgsage("analyze", pg.dsn, "--interval", "2s", "-f", "json")
    assert run.code == 0, run.err
    window = run.json()["window"]
    assert window["kind"] == "between-snapshots"
    # the wait plus one collection: at least the interval (no timing claim beyond that)
    assert 2.0 <= window["seconds"] < 60


def test_an_unwritable_snapshot_path_exits_2(seeded: Seeded, tmp_path: Path) -> None:
    run = pgsage("snapshot", seeded.dsn, "-o", tmp_path / "no-such-dir" / "s.json")
    assert_error(run, 2, "cannot write")


# --- flags -------------------------------------------------------------------------------------

def test_an_unknown_format_exits_2() -> None:
    assert_error(pgsage("analyze", closed_port_dsn(), "--format", "xml"), 2, "--format")


@pytest.mark.parametrize("interval", ["abc", "-5s", "0"])
def test_a_nonsense_interval_exits_2_before_connecting(interval: str) -> None:
    assert_error(pgsage("analyze", closed_port_dsn(), "--interval", interval), 2, "--interval")


@pytest.mark.parametrize("severity", ["bogus", ""])
def test_a_nonsense_fail_on_exits_2_before_connecting(severity: str) -> None:
    assert_error(pgsage("analyze", closed_port_dsn(), "--fail-on", severity), 2, "--fail-on")


def test_an_unknown_option_exits_2() -> None:
    assert_error(pgsage("analyze", "--no-such-option"), 2, "--no-such-option")


def test_snapshot_and_interval_together_exit_2(tmp_path: Path) -> None:
    run = pgsage("analyze", "--snapshot", minimal_snapshot(tmp_path / "s.json"),
                 "--interval", "5s")
    assert_error(run, 2, "--snapshot")


def test_fail_on_exits_1_when_a_finding_reaches_the_severity(seeded: Seeded) -> None:
    # IX002 (duplicate index) is a medium finding
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "--select", "IX002",
                 "--fail-on", "medium", "-f", "json")
    assert run.code == 1
    assert rules_of(run.json()) == ["IX002"]  # the report is still printed in full
    assert "Traceback" not in run.err


def test_fail_on_exits_0_when_every_finding_is_below_the_severity(seeded: Seeded) -> None:
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "--select", "IX002",
                 "--fail-on", "high")
    assert run.code == 0, run.err


def test_fail_on_is_case_insensitive(seeded: Seeded) -> None:
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "--select", "IX002",
                 "--fail-on", "MEDIUM")
    assert run.code == 1


def test_output_writes_the_report_to_a_file(seeded: Seeded, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "-f", "json", "--output", target)
    assert run.code == 0, run.err
    assert run.out == ""
    check_report(target.read_text())


def test_an_unwritable_output_path_exits_2(tmp_path: Path) -> None:
    run = pgsage("analyze", "--snapshot", minimal_snapshot(tmp_path / "s.json"),
                 "--output", tmp_path / "no-such-dir" / "report.txt")
    assert_error(run, 2, "cannot write", "report.txt")


# --- help and version ------------------------------------------------------------------------

def test_version_prints_the_package_version() -> None:
    run = pgsage("--version")
    assert run.code == 0
    assert run.out.strip() == f"pgsage {__version__}"


def test_help_lists_the_commands() -> None:
    run = pgsage("--help")
    assert run.code == 0
    assert run.out.startswith("Usage: pgsage ")
    listed = re.findall(r"^  (\w+)\s", run.out.split("Commands:", 1)[1], re.MULTILINE)
    assert {"analyze", "snapshot", "demo", "rules"} <= set(listed), listed


def test_pgsage_without_a_command_shows_the_help() -> None:
    run = pgsage()
    assert run.code == 2
    assert "Commands:" in run.output
    assert "Traceback" not in run.output


def test_analyze_help_documents_every_option() -> None:
    from typer.main import get_command

    from pgsage.analyzer.app.cli import app

    analyze = get_command(app).commands["analyze"]
    text = pgsage("analyze", "--help").out
    options = [o for p in analyze.params if p.param_type_name == "option" for o in p.opts]
    assert "--interval" in options and "--fail-on" in options
    for option in options:
        assert re.search(rf"(^|[\s,]){re.escape(option)}\b", text), f"{option} not in help"
    for param in analyze.params:
        assert param.help, f"{param.name} has no help text"


def test_rules_show_of_an_unknown_code_exits_2() -> None:
    assert_error(pgsage("rules", "show", "XX999"), 2, "XX999")


# --- the report --------------------------------------------------------------------------------

def test_the_json_report_keeps_the_contract(seeded: Seeded) -> None:
    run = pgsage("analyze", seeded.dsn, "-f", "json")
    assert run.code == 0, run.err
    report = run.json()  # check_report raises on any breach of the contract
    found = [r for r in report["recommendations"] if r["rule"] == "IX002"]
    assert found, "the seeded duplicate index was not reported"
    assert found[0]["object"] == {"schema": "Sales Data", "table": "Order",
                                  "index": "Order_user_b", "columns": ["userId"]}
    assert report["target"]["database"] == seeded.database


def test_a_failed_collector_is_reported_with_its_reason(pg) -> None:
    pg.execute("DROP EXTENSION pg_stat_statements")
    run = pgsage("analyze", pg.dsn, "-f", "json")
    assert run.code == 0, run.err
    statements = run.json()["collectors"]["statements"]
    assert statements["ok"] is False
    assert "CREATE EXTENSION pg_stat_statements" in statements["reason"]


def test_the_markdown_report_shows_the_finding_and_its_sql(seeded: Seeded) -> None:
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "--select", "IX002", "-f", "markdown")
    assert run.code == 0, run.err
    assert run.out.startswith("# pgsage report")
    assert "### 1. MEDIUM IX002 (index): " in run.out
    assert '```sql\nDROP INDEX CONCURRENTLY IF EXISTS "Sales Data"."Order_user_b";\n```' in run.out


def test_the_table_report_fits_100_columns(seeded: Seeded) -> None:
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "--select", "IX002")
    assert run.code == 0, run.err
    assert "IX002" in run.out
    assert '"Sales Data"."Order_user_b"' in run.out
    assert "\x1b[" not in run.out  # no colour codes when stdout is not a terminal
    too_long = [line for line in run.out.splitlines() if len(line) > 100]
    assert not too_long, too_long


# --- configuration -----------------------------------------------------------------------------

def test_a_config_file_selects_and_ignores_rules(seeded: Seeded, tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.toml"
    ignore.write_text('[rules]\nignore = ["IX002"]\n')
    select = tmp_path / "select.toml"
    select.write_text('[rules]\nselect = ["index.duplicate"]\n')
    ignored = pgsage("analyze", "--snapshot", seeded.snapshot, "-c", ignore, "-f", "json")
    selected = pgsage("analyze", "--snapshot", seeded.snapshot, "-c", select, "-f", "json")
    assert "IX002" not in rules_of(ignored.json())
    assert rules_of(selected.json()) == ["IX002"]


def test_a_config_file_sets_rule_options(seeded: Seeded, tmp_path: Path) -> None:
    from pgsage.rules import REGISTRY

    options = [(r.code, k, v) for r in REGISTRY.values() for k, v in r.default_options().items()
               if isinstance(v, int | float) and not isinstance(v, bool)]
    if not options:
        pytest.skip("no rule has a numeric option yet")
    code, key, value = options[0]
    config = tmp_path / "pgsage.toml"
    config.write_text(f"[rules.options.{code}]\n{key} = {value!r}\n")
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "-c", config, "-f", "json")
    assert run.code == 0, run.err


def test_the_config_file_may_come_from_pgsage_config(seeded: Seeded, tmp_path: Path) -> None:
    config = tmp_path / "pgsage.toml"
    config.write_text('[rules]\nignore = ["IX002"]\n')
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "-f", "json",
                 env=clean_env(PGSAGE_CONFIG=str(config)))
    assert "IX002" not in rules_of(run.json())


def test_an_invalid_config_lists_every_error_at_once(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[connection]\nstatement_timeout = "soon"\nport = 5432\n'
        '[rules]\nselect = ["XX999"]\nignore = "IX002"\nfrobnicate = true\n'
        '[rules.options.ZZ123]\nlimit = 1\n'
        '[rules.options.IX002]\nno_such_option = 3\n')
    run = pgsage("analyze", "--snapshot", minimal_snapshot(tmp_path / "s.json"), "-c", config)
    assert run.code == 2
    assert "Traceback" not in run.err
    for key in ("connection.statement_timeout", "connection.port", "rules.select",
                "rules.frobnicate", "rules.options.ZZ123", "rules.options.IX002.no_such_option"):
        assert key in run.err, f"{key} not reported in {run.err!r}"
    assert "rules.ignore" not in run.err  # a comma-separated string is a valid list


def test_a_config_file_that_is_not_toml_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("this = is = not toml\n")
    run = pgsage("analyze", "--snapshot", minimal_snapshot(tmp_path / "s.json"), "-c", config)
    assert_error(run, 2, "bad.toml", "not valid TOML")


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    run = pgsage("analyze", "--snapshot", minimal_snapshot(tmp_path / "s.json"),
                 "-c", tmp_path / "nope.toml")
    assert_error(run, 2, "nope.toml")


def test_pgsage_rules_ignore_applies(seeded: Seeded) -> None:
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "-f", "json",
                 env=clean_env(PGSAGE_RULES_IGNORE="IX002"))
    assert run.code == 0, run.err
    assert "IX002" not in rules_of(run.json())


def test_an_invalid_environment_variable_exits_2(tmp_path: Path) -> None:
    run = pgsage("analyze", "--snapshot", minimal_snapshot(tmp_path / "s.json"),
                 env=clean_env(PGSAGE_STATEMENT_TIMEOUT="whenever"))
    assert run.code == 2
    assert "connection.statement_timeout" in run.err


def test_a_flag_replaces_the_environment_value(seeded: Seeded) -> None:
    from pgsage.rules import REGISTRY

    others = [code for code in REGISTRY if code != "IX002"]
    if not others:
        pytest.skip("needs a second rule to ignore instead of IX002")
    env = clean_env(PGSAGE_RULES_IGNORE="IX002")
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "--ignore", others[0], "-f", "json",
                 env=env)
    assert run.code == 0, run.err
    assert "IX002" in rules_of(run.json())
    assert others[0] not in rules_of(run.json())


def test_the_environment_overrides_the_config_file(seeded: Seeded, tmp_path: Path) -> None:
    config = tmp_path / "pgsage.toml"
    config.write_text('[rules]\nignore = ["IX002"]\n')
    run = pgsage("analyze", "--snapshot", seeded.snapshot, "-c", config, "-f", "json",
                 env=clean_env(PGSAGE_RULES_SELECT="IX002", PGSAGE_RULES_IGNORE=""))
    assert rules_of(run.json()) == ["IX002"]


# --- what the report shows ---------------------------------------------------------------------

def test_a_bare_word_is_a_database_name_as_for_psql(pg) -> None:
    host, port = host_port(pg.dsn)
    env = clean_env(PGHOST=host, PGPORT=port, PGUSER="postgres")
    run = pgsage("analyze", pg.name, "-f", "json", env=env)
    assert run.code == 0, run.err
    assert run.json()["target"]["database"] == pg.name


def test_top_and_min_severity_choose_the_findings_shown(seeded: Seeded) -> None:
    every = pgsage("analyze", "--snapshot", seeded.snapshot, "-f", "json").json()
    recs = every["recommendations"]
    assert len(recs) >= 2
    top = pgsage("analyze", "--snapshot", seeded.snapshot, "-f", "json", "--top", "1").json()
    assert [r["title"] for r in top["recommendations"]] == [recs[0]["title"]]
    assert any("--top 1" in n for n in top["notes"])
    high = pgsage("analyze", "--snapshot", seeded.snapshot, "-f", "json",
                  "--min-severity", "HIGH").json()
    assert all(r["severity"] in ("critical", "high") for r in high["recommendations"])


def test_a_nonsense_min_severity_exits_2_before_connecting() -> None:
    assert_error(pgsage("analyze", "--min-severity", "urgent"), 2, "--min-severity")


def test_verbose_logs_each_step_off_a_terminal_without_blank_lines(pg) -> None:
    run = pgsage("-v", "analyze", pg.dsn, "--interval", "1s", "-f", "json")
    assert run.code == 0, run.err
    lines = run.err.splitlines()
    assert "" not in lines, run.err
    for step in ("collecting a snapshot", "waiting 1 s for the second snapshot",
                 "planning indexes for", "running"):
        assert any(step in line for line in lines), (step, run.err)
