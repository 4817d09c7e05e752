"""The sidecar's first cycles: totals since the last reset are not rates.

The rules wait until the statements and tables collectors have two runs in the window, so
a burst before the sidecar started is not judged as the load it watches.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import psycopg
from conftest import PgDatabase
from sidecar_support import SidecarThread, fetch, sidecar_config, wait_for


def _steady_load(dsn: str, stop: threading.Event) -> None:
    """A few inserts and lookups a second: what happens while the sidecar watches."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        i = 0
        while not stop.wait(0.05):
            i += 1
            conn.execute("INSERT INTO readings (device, value) VALUES (%s, %s)", (i % 50, i))
            conn.execute("SELECT value FROM readings WHERE id = %s", (i,))


def _report_burst(dsn: str, seconds: float) -> None:
    """Whole-table reads on two connections: both CPUs busy while it lasts."""
    def scan() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                conn.execute("SELECT count(*), avg(value) FROM readings")

    workers = [threading.Thread(target=scan) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def _recommendations(url: str) -> tuple[int, dict[str, Any]]:
    status, _, body = fetch(f"{url}/recommendations?target=warm")
    return status, json.loads(body)


def test_the_rules_wait_for_a_measured_window(pg: PgDatabase) -> None:
    # A burst of reports moments before the sidecar starts keeps both CPUs busy since the
    # last reset; while the sidecar watches, a few statements a second.
    pg.execute("CREATE TABLE readings (id bigserial PRIMARY KEY, device int, value float);"
               "INSERT INTO readings (device, value) "
               "SELECT g % 50, g FROM generate_series(1, 300000) g; ANALYZE readings;"
               "SELECT pg_stat_statements_reset()")
    _report_burst(pg.dsn, 4.0)
    stop = threading.Event()
    load = threading.Thread(target=_steady_load, args=(pg.dsn, stop), daemon=True)
    load.start()
    config = sidecar_config([{"name": "warm", "dsn": pg.dsn}],
                            intervals={"statements": "6s", "tables": "6s", "advice": "1s"},
                            host={"cpus": 2})
    try:
        with SidecarThread(config) as sc:
            def warming() -> str | None:
                status, doc = _recommendations(sc.url)
                reason = str(doc.get("reason"))
                return reason if status == 503 and reason.startswith("warming up") else None

            def a_report() -> dict[str, Any] | None:
                status, doc = _recommendations(sc.url)
                return doc if status == 200 else None

            reason = wait_for(warming, 20, "a warming-up answer")
            report = wait_for(a_report, 40, "a report")
    finally:
        stop.set()
        load.join(5)
    assert "statements" in reason or "tables" in reason  # whichever has one run so far
    families = report["window"]["families"]
    assert families["statements"]["kind"] == families["tables"]["kind"] == "between-snapshots"
    assert "SC001" not in {r["rule"] for r in report["recommendations"]}  # the burst is before
