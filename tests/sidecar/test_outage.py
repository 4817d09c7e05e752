"""An outage between two jobs: the sidecar says so at once, with the reason.

The jobs here run every minute, so nothing but the connection itself can tell the sidecar
that the server went away: /readyz must give a reason and /metrics pgsage_up 0 within
seconds, not a minute later (nor `reason: null` beside `pgsage_up 1`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sidecar_support import SidecarThread, fetch, scrape, sidecar_config, value, wait_for

from pgsage.analyzer.app.throwaway import ThrowawayServer, embedded_bin_dir

pytestmark = pytest.mark.pg  # a server of its own, stopped mid-test


@pytest.fixture
def server() -> Iterator[ThrowawayServer]:
    bin_dir = embedded_bin_dir()
    if not (bin_dir / "postgres").exists():
        pytest.skip("no embedded PostgreSQL binaries")
    with ThrowawayServer(bin_dir) as s:
        yield s


def _readyz(base: str) -> tuple[int, dict[str, object]]:
    status, _, body = fetch(f"{base}/readyz")
    return status, json.loads(body)["targets"]["db"]


def test_a_stopped_server_is_down_at_once_with_a_reason(server: ThrowawayServer) -> None:
    slow = {"activity": "60s", "statements": "60s", "tables": "60s", "schema": "60s",
            "advice": "60s"}
    config = sidecar_config([{"name": "db", "dsn": server.dsn()}], intervals=slow)
    with SidecarThread(config) as sc:
        wait_for(lambda: _readyz(sc.url)[0] == 200, 30, "ready after the first cycle")
        groups = sc.sidecar.targets["db"].groups.values()
        wait_for(lambda: sc.call(lambda: all(g.runs for g in groups)
                                 and not sc.sidecar._running), 30, "the first jobs done")
        assert value(scrape(sc.url), "pgsage_up", target="db") == 1
        server.stop_server()
        wait_for(lambda: value(scrape(sc.url), "pgsage_up", target="db") == 0, 5,
                 "pgsage_up 0 without waiting for a job")
        status, target = _readyz(sc.url)
        assert status == 503 and target["up"] is False
        assert isinstance(target["reason"], str) and target["reason"]
        assert value(scrape(sc.url), "pgsage_target_down_info", target="db") == 1
