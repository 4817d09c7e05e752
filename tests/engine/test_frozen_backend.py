"""A backend frozen during collection (SIGSTOP) is an error naming the client deadline."""

from __future__ import annotations

import os
import signal
import threading
import time

import psycopg
import pytest
from conftest import PgDatabase

from pgsage.analyzer.engine import config
from pgsage.analyzer.engine.pipeline import analyze_live
from pgsage.analyzer.errors import ServerError


def pgsage_backend(pg: PgDatabase, timeout: float = 10.0) -> int:
    end = time.monotonic() + timeout
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        while time.monotonic() < end:
            row = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = "
                               "'pgsage' AND datname = current_database()").fetchone()
            if row:
                return int(row[0])
            time.sleep(0.01)
    raise AssertionError("pgsage never connected")


def test_a_frozen_backend_is_an_error_naming_the_client_deadline(pg: PgDatabase) -> None:
    if os.geteuid() != 0 and pg.server.throwaway is None:
        pytest.skip("needs to signal the server's backend")
    cfg = config.load(env={"PGSAGE_STATEMENT_TIMEOUT": "1s"})
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            analyze_live(pg.dsn, cfg)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    pid = pgsage_backend(pg)
    os.kill(pid, signal.SIGSTOP)
    try:
        worker.join(60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert outcome and isinstance(outcome[0], ServerError), outcome
    assert "client deadline" in str(outcome[0]) and outcome[0].exit_code == 3
