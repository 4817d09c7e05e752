"""Observe which table locks SQL really takes: pg_locks read while a blocker makes it wait.

A blocker session holds a lock on each relation for a moment, so a request it conflicts with
waits and is seen in pg_locks (granted or not) from a third session; then the blocker commits
and the SQL finishes. A request the blocker lets through may finish between two looks at
pg_locks, so a relation whose lock must be seen is held in `blocker_for` its claimed mode.
"""

from __future__ import annotations

import threading
import time

import psycopg

from pgsage.analyzer.migration.analysis import split_statements
from pgsage.analyzer.migration.locks import (
    CONFLICTS,
    FROM_PG_LOCKS,
    LOCK_ORDER,
    LOCK_RANK,
    ROW_EXCLUSIVE,
    stronger,
)


def blocker_for(claimed: str) -> str:
    """The weakest mode that makes `claimed` and every stronger request wait."""
    at_least = set(LOCK_ORDER[LOCK_RANK[claimed]:])
    return next(m for m in LOCK_ORDER if at_least <= CONFLICTS[m])


def observe(dsn: str, sql: str, tables: list[str], hold_s: float = 1.0,
            held: dict[str, str] | None = None) -> dict[str, str]:
    """The strongest lock per relation name `sql` asked for while it ran.

    Each table is held in its mode in `held`, else ROW EXCLUSIVE (any request stronger than
    SHARE UPDATE EXCLUSIVE waits). Statements run one by one in autocommit, as psql runs a
    pasted script."""
    seen: dict[str, str] = {}
    errors: list[BaseException] = []
    with psycopg.connect(dsn, autocommit=True) as watcher, \
            psycopg.connect(dsn, autocommit=True) as blocker, \
            psycopg.connect(dsn, autocommit=True) as runner:
        pid = runner.info.backend_pid
        blocker.execute("BEGIN")
        for t in tables:
            mode = (held or {}).get(t, ROW_EXCLUSIVE)
            blocker.execute(f"LOCK TABLE {t} IN {mode} MODE".encode())
            blocker.execute(f"SELECT FROM {t} LIMIT 1".encode())

        def run() -> None:
            try:
                for statement in split_statements(sql, "<rewrite>")[1]:
                    runner.execute(statement.encode())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        release = time.monotonic() + hold_s
        released = False
        while thread.is_alive():
            rows = watcher.execute(
                "SELECT coalesce(c.relname, l.relation::text), l.mode FROM pg_locks l "
                "LEFT JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = %s AND l.locktype = 'relation'", (pid,)).fetchall()
            for rel, mode in rows:
                if mode in FROM_PG_LOCKS:
                    seen[rel] = stronger(seen.get(rel), FROM_PG_LOCKS[mode])
            if not released and time.monotonic() > release:
                blocker.execute("COMMIT")
                released = True
            time.sleep(0.002)
        thread.join()
        if not released:
            blocker.execute("COMMIT")
    if errors:
        raise errors[0]
    return seen


def within(observed: dict[str, str], claimed: dict[str, str]) -> list[str]:
    """Relations locked more strongly than claimed (names compared without schema)."""
    bare = {k.rsplit(".", 1)[-1]: v for k, v in claimed.items()}
    return [f"{rel}: observed {mode}, claimed {bare.get(rel)}" for rel, mode in observed.items()
            if rel in bare and LOCK_RANK[mode] > LOCK_RANK[bare[rel]]]
