"""Every SQL file in collectors/sql runs, without error, on every server version it serves.

A file `<name>_post_<since>.sql` serves the versions from `<since>` until the next file of the
same name. For each server of the session, every collector runs over a seeded database while
the loader (`collectors.base.sql`) records which file each query came from; the server's test
fails when a query name was not loaded there or a collector that loaded a file failed, naming
the file and the version. Since a name resolves to one file per version, that is every file
whose range covers the server. A second test checks that the servers together used every file,
so no file is left to a version the suite does not run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from unittest import mock

import pytest
from conftest import OLDEST_SUPPORTED, PgServer

from pgsage.analyzer.live.collect import collect
from pgsage.analyzer.live.connection import Session
from pgsage.analyzer.model.snapshot import CollectorStatus
from pgsage.collectors import base

NEWEST_SUPPORTED = 18

ALL_FILES = sorted(entry.name for entry in resources.files("pgsage.collectors").joinpath("sql")
                   .iterdir() if entry.name.endswith(".sql"))
NAMES = sorted({name.removesuffix(".sql").rpartition("_post_")[0] for name in ALL_FILES})

SEED = """
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL, note text);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers,
                     total numeric, placed_at timestamptz DEFAULT now());
CREATE INDEX orders_placed_at ON orders (placed_at);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE SEQUENCE invoice_no;
INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 200) g;
INSERT INTO orders (customer_id, total) SELECT 1 + g % 200, g FROM generate_series(1, 2000) g;
ANALYZE;
SELECT count(*) FROM orders WHERE customer_id = 7;
SELECT * FROM big_orders WHERE placed_at > now() - interval '1 day';
"""


@dataclass
class Exercised:
    """What one server's collection loaded: file -> the collectors that loaded it."""

    files: dict[str, set[str]]
    status: dict[str, CollectorStatus]


_EXERCISED: dict[str, Exercised] = {}


def recording(files: dict[str, set[str]], current: list[str]) -> Callable[[str, int], str]:
    loader = base.sql

    def sql(name: str, version: int) -> str:
        files.setdefault(base.sql_file_name(name, version), set()).add(current[0])
        return loader(name, version)

    return sql


def exercised(server: PgServer) -> Exercised:
    """Run every collector on a seeded database of `server` (once per server and worker)."""
    if server.label not in _EXERCISED:
        dbname = f"sqlfiles_{os.getpid()}"
        server.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{dbname}"')
        try:
            server.execute("CREATE EXTENSION pg_stat_statements", dbname)
            server.execute(SEED, dbname)
            files: dict[str, set[str]] = {}
            current = ["bootstrap"]
            with mock.patch.object(base, "sql", recording(files, current)), \
                    Session.open(server.dsn(dbname)) as session:
                snapshot = collect(session, progress=lambda name: current.__setitem__(0, name))
        finally:
            server.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        _EXERCISED[server.label] = Exercised(files, snapshot.status)
    return _EXERCISED[server.label]


def test_every_sql_file_serving_this_version_runs_here(pg_server: PgServer) -> None:
    run = exercised(pg_server)
    version = pg_server.version_num
    failed = {f"{file} ({collector}): {run.status[collector].reason}"
              for file, collectors in run.files.items() for collector in collectors
              if collector in run.status and not run.status[collector].ok}
    assert not failed, f"SQL failed on PostgreSQL {version // 10000}: {sorted(failed)}"
    loaded = {file.removesuffix(".sql").rpartition("_post_")[0] for file in run.files}
    assert loaded == set(NAMES), (
        f"never loaded on PostgreSQL {version // 10000}: {sorted(set(NAMES) - loaded)}")


def test_the_servers_together_run_every_sql_file(every_server: list[PgServer]) -> None:
    session = every_server
    majors = {s.version_num // 10000 for s in session}
    missing = set(range(OLDEST_SUPPORTED, NEWEST_SUPPORTED + 1)) - majors
    if missing:
        pytest.skip(f"needs every supported version; PostgreSQL {sorted(missing)} not here "
                    "(bash .ci/fetch-postgres)")
    used = {file for s in session for file in exercised(s).files}
    assert used == set(ALL_FILES), f"no server ran {sorted(set(ALL_FILES) - used)}"
