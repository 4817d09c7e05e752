"""The corpus harness: run a real client's workload on a throwaway server, analyze it as a
user does (the engine call behind `pgsage analyze --format json`), and compare the findings
with what a senior DBA expects, written per workload in `expected/<workload>.toml`.

A finding is named by its rule and its objects (`schema.table`, `schema.table.index`,
`schema.table(col, ...)`; a setting's name for a finding about a setting, which has no table).
An expectation file holds three lists, each entry with a one-line `why`, and includes:

- `[[expected]]`: the findings at medium and above, all of them. An entry with `xfail` is a
  finding the DBA expects that pgsage misses today (a known bug, named in `xfail`).
- `[[accepted]]`: the findings below medium, reviewed; without `object` any object of the rule.
- `[[false_alarm]]`: a finding (at any severity) that fires only because of a known bug, named
  in `xfail`: tolerated by the exact comparison, and its own test fails once the bug is fixed.
- `include`: other files whose entries apply too (the throwaway server's own settings).

An entry with `versions = "< 15"` holds only on those servers (defaults change by version).

Each workload gets a database of its own on one server per test module; the analysis runs
right after the workload's clients have disconnected (their table statistics are flushed).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from conftest import PgServer, version_matches

from pgsage.analyzer.app.throwaway import ThrowawayServer, client_tool
from pgsage.analyzer.engine import config
from pgsage.analyzer.engine.pipeline import analyze_live

EXPECTED_DIR = Path(__file__).parent / "expected"
MEDIUM = 2
"""Severity rank from which the comparison is exact (critical 4, high 3, medium 2)."""
RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


# --- findings -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    subject: tuple[str, ...]
    title: str

    @property
    def rank(self) -> int:
        return RANK[self.severity]

    def __str__(self) -> str:
        return f"{self.severity} {self.rule} {', '.join(self.subject) or '-'}: {self.title}"


def object_name(obj: dict[str, Any]) -> str:
    name = ".".join(part for part in (obj.get("schema"), obj.get("table"), obj.get("index"))
                    if part)
    if obj.get("columns"):
        name += f"({', '.join(obj['columns'])})"
    return name


def findings_of(report: dict[str, Any]) -> list[Finding]:
    found = []
    for rec in report["recommendations"]:
        names = [n for n in map(object_name, rec["objects"]) if n]
        if not names and isinstance(rec.get("evidence"), dict) and rec["evidence"].get("setting"):
            names = [rec["evidence"]["setting"]]
        found.append(Finding(rec["rule"], rec["severity"], tuple(sorted(names)), rec["title"]))
    return found


# --- expectations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    rule: str
    subject: tuple[str, ...] | None
    """None: any object (only for accepted lower findings)."""
    why: str
    xfail: str | None = None
    versions: str | None = None
    """`< 15`: only on those major versions."""

    def applies(self, version_num: int) -> bool:
        return self.versions is None or version_matches(self.versions, version_num)

    def matches(self, finding: Finding) -> bool:
        return finding.rule == self.rule and self.subject in (None, finding.subject)

    def __str__(self) -> str:
        return f"{self.rule} {', '.join(self.subject or ('*',)) or '-'}"


@dataclass
class Expectations:
    workload: str
    description: str
    expected: list[Entry] = field(default_factory=list)
    accepted: list[Entry] = field(default_factory=list)
    false_alarms: list[Entry] = field(default_factory=list)

    @property
    def known_bugs(self) -> list[Entry]:
        return [e for e in self.expected if e.xfail] + self.false_alarms


def _entry(raw: dict[str, Any], where: str, exact: bool) -> Entry:
    if not raw.get("why"):
        raise ValueError(f"{where}: {raw.get('rule')} has no `why`")
    if "objects" in raw:
        subject: tuple[str, ...] | None = tuple(sorted(raw["objects"]))
    elif "object" in raw:
        subject = (raw["object"],) if raw["object"] else ()
    elif exact:
        raise ValueError(f"{where}: {raw['rule']} needs `object` or `objects`")
    else:
        subject = None
    xfail = raw.get("xfail")
    if xfail is not None and not xfail.startswith("#"):
        raise ValueError(f"{where}: {raw['rule']}'s xfail must name its issue (#14: ...)")
    return Entry(raw["rule"], subject, raw["why"], xfail, raw.get("versions"))


def load(workload: str, version_num: int | None = None) -> Expectations:
    """The workload's expectations; with `version_num`, only the entries for that server."""
    path = EXPECTED_DIR / f"{workload}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = Expectations(workload, data.get("description", ""))
    for other in data.get("include", []):
        included = load(other, version_num)
        out.expected += included.expected
        out.accepted += included.accepted
        out.false_alarms += included.false_alarms
    out.expected += [_entry(e, path.name, True) for e in data.get("expected", [])]
    out.accepted += [_entry(e, path.name, False) for e in data.get("accepted", [])]
    out.false_alarms += [_entry(e, path.name, True) for e in data.get("false_alarm", [])]
    for e in out.false_alarms:
        if e.xfail is None:
            raise ValueError(f"{path.name}: false alarm {e} must name its bug in `xfail`")
    if version_num is not None:
        out.expected = [e for e in out.expected if e.applies(version_num)]
        out.accepted = [e for e in out.accepted if e.applies(version_num)]
        out.false_alarms = [e for e in out.false_alarms if e.applies(version_num)]
    return out


def known_bug_cases(workloads: list[str]) -> list[Any]:
    """One test case per known bug of the workloads, xfail(strict): it fails the day the bug
    is fixed, and the lead then deletes the `xfail` (or the false alarm) from the file."""
    cases = []
    for name in workloads:
        for entry in load(name).known_bugs:
            cases.append(pytest.param(name, entry, id=f"{name}-{entry.rule}",
                                      marks=pytest.mark.xfail(strict=True, reason=entry.xfail)))
    return cases


# --- the comparisons ------------------------------------------------------------------------

def _listing(title: str, items: list[Any]) -> str:
    return f"{title}:\n" + "\n".join(f"  {i}" for i in items) if items else ""


def assert_exact(found: list[Finding], want: Expectations) -> None:
    """At medium and above: every expected finding, and nothing else (known bugs aside)."""
    serious = [f for f in found if f.rank >= MEDIUM]
    required = [e for e in want.expected if not e.xfail]
    missing = [e for e in required if not any(e.matches(f) for f in serious)]
    tolerated = want.expected + want.false_alarms
    unexpected = [f for f in serious if not any(e.matches(f) for e in tolerated)]
    problems = "\n".join(p for p in (_listing("expected at medium or above, not found",
                                              missing),
                                     _listing("not expected (a false alarm?)", unexpected))
                         if p)
    assert not problems, f"{want.workload}:\n{problems}\n" + _listing("all findings", found)


def assert_reviewed(found: list[Finding], want: Expectations) -> None:
    """Below medium: every finding is one the expectations accept, with a reason."""
    reviewed = want.accepted + want.false_alarms + want.expected
    unreviewed = [f for f in found if f.rank < MEDIUM
                  and not any(e.matches(f) for e in reviewed)]
    assert not unreviewed, (f"{want.workload}: lower findings nobody reviewed (add them to "
                            f"[[accepted]] with a reason, or fix the rule):\n"
                            + "\n".join(f"  {f}" for f in unreviewed))


def assert_bug_fixed(found: list[Finding], entry: Entry, want: Expectations) -> None:
    """A known miss is found at medium or above; a known false alarm is gone."""
    if entry not in want.known_bugs:
        pytest.skip(f"{entry} is expected on PostgreSQL {entry.versions} only")
    if entry in want.false_alarms:
        present = [f for f in found if entry.matches(f)]
        assert not present, f"false alarm still there: {present}"
    else:
        assert any(entry.matches(f) and f.rank >= MEDIUM for f in found), \
            f"{entry} still not found at medium or above"


# --- servers and workloads ------------------------------------------------------------------

@dataclass
class Database:
    """One workload's database on the module's server."""

    server: ThrowawayServer
    name: str

    @property
    def dsn(self) -> str:
        return self.server.dsn(self.name)

    @property
    def version_num(self) -> int:
        return self.server.version_num()

    def execute(self, sql: str, *params: Any) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.encode(), params or None)

    def client(self, name: str, *args: str, timeout: float = 120) -> str:
        """Run a client program (pgbench) against the database; its stdout."""
        exe = client_tool(name, self.server.bin_dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run([str(exe), "-h", "127.0.0.1", "-p", str(self.server.port),
                               "-U", self.server.superuser, *args, self.name],
                              capture_output=True, text=True, env=env, timeout=timeout)
        assert done.returncode == 0, f"{name} {' '.join(args)}: {done.stderr[-800:]}"
        return done.stdout

    def sysbench(self, test: str, command: str, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(["sysbench", "--db-driver=pgsql", "--pgsql-host=127.0.0.1",
                               f"--pgsql-port={self.server.port}",
                               f"--pgsql-user={self.server.superuser}",
                               f"--pgsql-db={self.name}", test, *args, command],
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"sysbench {test} {command}: {done.stdout[-800:]}" \
                                     f"{done.stderr[-800:]}"
        return done.stdout

    def wait_for_clients(self, timeout: float = 15.0) -> None:
        """Until no other session is connected to the database: a backend flushes its table
        statistics when it exits, so only then do the counters hold the whole workload."""
        with psycopg.connect(self.server.dsn(), autocommit=True) as admin:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                row = admin.execute(b"SELECT count(*) FROM pg_stat_activity "
                                    b"WHERE datname = %s", (self.name,)).fetchone()
                if row is not None and row[0] == 0:
                    return
                time.sleep(0.05)
        raise AssertionError(f"clients still connected to {self.name} after {timeout} s")


def analyze(dsn: str) -> list[Finding]:
    """The findings of `pgsage analyze DSN` with no configuration, through the engine call
    the command makes (in-process: the command's own start-up would double the corpus's
    time; tests/app covers the command around it)."""
    report = analyze_live(dsn, config.load(env={}))
    return findings_of(report.to_json())


Workload = Callable[[Database], None]


class Corpus:
    """The module's server: one database per workload, each workload run and analyzed once
    (the tests of a workload share its analysis)."""

    def __init__(self, server: ThrowawayServer, label: str) -> None:
        self.server = server
        self.label = label
        self._findings: dict[str, list[Finding]] = {}

    def database(self, name: str) -> Database:
        with psycopg.connect(self.server.dsn(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"'.encode())
        db = Database(self.server, name)
        db.execute("CREATE EXTENSION pg_stat_statements")
        return db

    def findings(self, name: str, workload: Workload) -> list[Finding]:
        if name not in self._findings:
            db = self.database(name)
            workload(db)
            db.wait_for_clients()
            self._findings[name] = analyze(db.dsn)
        return self._findings[name]

    def result(self, name: str, workloads: dict[str, Workload]
               ) -> tuple[list[Finding], Expectations]:
        """The workload's findings and what is expected of them on this server."""
        return (self.findings(name, workloads[name]),
                load(name, self.server.version_num()))


@contextlib.contextmanager
def corpus_on(pg_server: PgServer) -> Iterator[Corpus]:
    """A throwaway server of the session server's version and settings, for one module: the
    expectations hold for exactly those settings, and nothing another test did (roles,
    settings, load) may show up in a workload's report."""
    if pg_server.throwaway is None:
        pytest.skip("the corpus needs throwaway servers (its expectations are for their "
                    "settings), not PGSAGE_TEST_DSN or Docker")
    throwaway = pg_server.throwaway
    server = ThrowawayServer(throwaway.bin_dir, settings=dict(throwaway.settings)).start()
    try:
        yield Corpus(server, pg_server.label)
    finally:
        server.stop()


class CorpusChecks:
    """The checks of every workload, inherited by one `Test...` class per module, which
    names its `workloads`: the medium-and-above findings are exactly the expected ones, the
    lower ones are all reviewed, and each known bug has a case of its own (xfail, strict).
    The module's server (the `corpus` fixture) is shared by its workloads, one database
    each."""

    workloads: ClassVar[dict[str, Workload]] = {}

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if metafunc.function.__name__ == "test_known_bug_is_fixed":
            metafunc.parametrize(("workload", "bug"), known_bug_cases(list(self.workloads)))
        elif "workload" in metafunc.fixturenames:
            metafunc.parametrize("workload", list(self.workloads))

    def test_findings_at_medium_and_above_are_the_expected_ones(self, corpus: Corpus,
                                                                workload: str) -> None:
        assert_exact(*corpus.result(workload, self.workloads))

    def test_lower_findings_are_reviewed(self, corpus: Corpus, workload: str) -> None:
        assert_reviewed(*corpus.result(workload, self.workloads))

    def test_known_bug_is_fixed(self, corpus: Corpus, workload: str, bug: Entry) -> None:
        found, want = corpus.result(workload, self.workloads)
        assert_bug_fixed(found, bug, want)
