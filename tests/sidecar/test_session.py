"""The asyncpg side: parameters, DSNs, backoff, and the same reasons as the CLI's driver."""

from __future__ import annotations

import asyncio
import random
import urllib.parse

import asyncpg
import psycopg
import pytest
from conftest import PgDatabase

from pgsage.analyzer.live.collect import classify
from pgsage.analyzer.live.connection import SessionLimits, safety_settings
from pgsage.analyzer.sidecar.session import (
    AsyncSession,
    Backoff,
    asyncpg_dsn,
    classify_connect_error,
    to_asyncpg,
)
from pgsage.analyzer.sidecar.settings import TargetConfig
from pgsage.collectors.base import Query


def test_placeholders_become_numbered_parameters() -> None:
    sql, args = to_asyncpg(Query("SELECT %(a)s, %(b)s, %(a)s, '100%%'", {"a": 1, "b": [2]}))
    assert sql == "SELECT $1, $2, $1, '100%'"
    assert args == [1, [2]]
    # Without parameters psycopg sends the text as it is, and so does the sidecar.
    assert to_asyncpg(Query("SELECT '100%%'")) == ("SELECT '100%%'", [])
    with pytest.raises(KeyError):
        to_asyncpg(Query("SELECT %(missing)s", {}))


def test_dsn_to_asyncpg_uri() -> None:
    uri, settings, timeout = asyncpg_dsn({
        "host": "db1", "port": "5433", "dbname": "shop", "user": "me", "password": "p@ss w",
        "sslmode": "require", "connect_timeout": "4", "application_name": "theirs",
        "options": "-c search_path=app -c work_mem=4MB"})
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))
    assert query == {"host": "db1", "port": "5433", "dbname": "shop", "user": "me",
                     "password": "p@ss w", "sslmode": "require"}
    assert settings == {"search_path": "app", "work_mem": "4MB"}
    assert timeout == 4


def test_safety_settings_are_the_contracts() -> None:
    limits = SessionLimits(statement_timeout_ms=2000, lock_timeout_ms=300)
    assert safety_settings(limits) == {
        "default_transaction_read_only": "on", "statement_timeout": "2000",
        "lock_timeout": "300", "idle_in_transaction_session_timeout": "8000",
        "application_name": "pgsage"}


def test_backoff_is_bounded_exponential_with_jitter() -> None:
    backoff = Backoff(base=1.0, cap=15.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    assert all(0 < d <= 15 for d in delays)
    assert delays[0] <= 1 and delays[3] >= 4  # 1, 2, 4, 8 (times 0.5 to 1)
    assert max(delays[5:]) > 7.5  # capped at 15, times 0.5 to 1
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_connect_errors_are_classified() -> None:
    assert classify_connect_error(ConnectionRefusedError())[0] == "unreachable"
    assert classify_connect_error(TimeoutError())[0] == "timeout"
    assert classify_connect_error(asyncpg.InvalidPasswordError("x"))[0] == "authentication"
    assert classify_connect_error(asyncpg.InvalidCatalogNameError("x"))[0] == "no_database"
    assert classify_connect_error(asyncpg.TooManyConnectionsError("x"))[0] == (
        "too_many_connections")
    assert classify_connect_error(asyncpg.CannotConnectNowError("x"))[0] == "starting_up"


def _psycopg_error(pg: PgDatabase, sql: str, dsn: str | None = None) -> BaseException:
    with psycopg.connect(dsn or pg.dsn, autocommit=True,
                         options="-c lock_timeout=100 -c statement_timeout=200") as conn:
        try:
            conn.execute(sql.encode())
        except psycopg.Error as exc:
            return exc
    raise AssertionError("no error")


async def _asyncpg_error(dsn: str, sql: str) -> BaseException:
    conn = await asyncpg.connect(dsn, server_settings={"lock_timeout": "100",
                                                       "statement_timeout": "200"})
    try:
        await conn.fetch(sql)
    except asyncpg.PostgresError as exc:
        return exc
    finally:
        await conn.close()
    raise AssertionError("no error")


def test_reasons_are_the_clis_words(pg: PgDatabase) -> None:
    """Same server error, both drivers: the same kind and one-line reason."""
    role = f"plain_{pg.name}"
    pg.server.execute(f'CREATE ROLE "{role}" LOGIN')
    pg.execute("CREATE TABLE locked (id int)")
    try:
        pg.execute(f'REVOKE ALL ON locked FROM "{role}"')
        plain = pg.server.dsn(pg.name, user=role)
        uri = "postgresql://?" + urllib.parse.urlencode(
            {k: v for k, v in psycopg.conninfo.conninfo_to_dict(plain).items()
             if k in ("host", "port", "user", "dbname")})
        for sql in ("SELECT * FROM locked", "SELECT pg_sleep(2)", "SELECT * FROM nope"):
            ours = classify(asyncio.run(_asyncpg_error(uri, sql)), 200)
            theirs = classify(_psycopg_error(pg, sql, plain), 200)
            assert ours == theirs, sql
    finally:
        pg.execute("DROP TABLE locked")
        pg.server.execute(f'DROP ROLE "{role}"')


def test_one_connection_and_reconnect(pg: PgDatabase) -> None:
    async def scenario() -> None:
        ups: list[int] = []
        from pgsage.analyzer.sidecar.session import ConnectionEvents

        session = AsyncSession(TargetConfig("t", pg.dsn), SessionLimits(),
                               Backoff(base=0.05, cap=0.2),
                               ConnectionEvents(on_up=lambda: ups.append(1)))
        session.start()
        await session.first_attempt(10)
        assert session.up and ups == [1]
        rows = await session.fetch(Query("SELECT current_setting('default_transaction_read_only')"
                                         " AS ro, current_setting('application_name') AS app"))
        assert rows == [{"ro": "on", "app": "pgsage"}]
        session.lost("test")
        assert not session.up
        assert await session.wait_connected(10)
        assert ups == [1, 1] and session.losses == 1 and session.attempts == 2
        await session.close()
        assert not session.up

    asyncio.run(scenario())
