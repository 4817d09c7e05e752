"""`pgsage serve` as a process: database down and back, SIGHUP, SIGTERM, promtool.

It watches a throwaway server of its own (not the shared ones), which the test stops and
starts under it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PgServer
from sidecar_support import fetch, parse, pgsage_backends, value, wait_for

from pgsage.analyzer.app.throwaway import ThrowawayServer, free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "never-print-me"


@pytest.fixture(scope="module")
def server(pg_server: PgServer) -> Iterator[ThrowawayServer]:
    """A server of the version under test (the oldest and the newest), all its own."""
    if pg_server.throwaway is None:
        pytest.skip("stops its server: needs throwaway servers")
    with ThrowawayServer(pg_server.throwaway.bin_dir) as s:
        s.psql("CREATE EXTENSION pg_stat_statements")
        yield s


def config_text(server: ThrowawayServer, port: int, name: str = "proc", top_n: int = 50) -> str:
    return f"""
[serve]
listen = "127.0.0.1:{port}"
shutdown_grace = "3s"

[[targets]]
name = "{name}"
dsn = "{server.dsn()} password={PASSWORD}"

[intervals]
activity = "1s"
statements = "1s"
tables = "2s"
schema = "2s"
advice = "10s"

[connection]
connect_timeout = "2s"

[metrics]
top_n = {top_n}

[logging]
level = "info"
"""


def metrics(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, _, body = fetch(f"{base}/metrics")
    assert status == 200
    return parse(body.decode())


def test_serve_process(server: ThrowawayServer, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    path = tmp_path / "pgsage.toml"
    path.write_text(config_text(server, port))
    log_path = tmp_path / "pgsage.log"
    server.stop_server()  # the database is down when pgsage starts
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PGSAGE_"))}
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "pgsage.analyzer", "serve", "--config",
                                 str(path)], cwd=ROOT, env=env, stdout=log_file,
                                stderr=subprocess.STDOUT)
    try:
        _exercise(server, proc, base, path, log_path, port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    log = log_path.read_text()
    assert PASSWORD not in log
    # The sidecar itself never fails with a traceback (rules may: theirs are logged once).
    errors = [line for line in log.splitlines() if " ERROR " in line
              and line.split(" ERROR ")[1].startswith(("pgsage.serve", "pgsage.analyzer.sidecar"))
              and "configuration reload rejected" not in line]
    assert not errors, log


def _exercise(server: ThrowawayServer, proc: subprocess.Popen[bytes], base: str, path: Path,
              log_path: Path, port: int) -> None:
    # --- down at start: the process answers, says why, and is not ready ------------------
    samples = wait_for(lambda: metrics(base), 60, "the process to listen")
    wait_for(lambda: value(metrics(base), "pgsage_target_down_info", reason="unreachable") == 1,
             15, "the target reported unreachable")
    assert value(samples, "pgsage_up", target="proc") == 0
    assert fetch(f"{base}/readyz")[0] == 503
    assert fetch(f"{base}/healthz")[0] == 200
    body = fetch(f"{base}/metrics")[2]
    assert PASSWORD.encode() not in body

    # --- the database comes up: pgsage follows within an interval or so ------------------
    for _ in range(2):
        server.restart()
        came_up = time.monotonic()
        wait_for(lambda: value(metrics(base), "pgsage_up", target="proc") == 1, 15,
                 "pgsage_up 1")
        # The bound is the reconnect backoff's cap (the shortest interval, 1 s) plus a
        # connection and scheduling slack; the claim itself lives in the docs.
        assert time.monotonic() - came_up < 6
        wait_for(lambda: fetch(f"{base}/readyz")[0] == 200, 15, "ready")
        assert pgsage_backends(server.dsn()) <= 1
        server.stop_server()
        wait_for(lambda: value(metrics(base), "pgsage_up", target="proc") == 0, 15,
                 "pgsage_up 0 after the server stopped")
    server.restart()
    wait_for(lambda: value(metrics(base), "pgsage_up", target="proc") == 1, 15, "up again")
    assert pgsage_backends(server.dsn()) == 1

    if shutil.which("promtool"):
        wait_for(lambda: value(metrics(base), "pgsage_collector_success",
                               collector="statements") == 1, 15, "statements collected")
        done = subprocess.run(["promtool", "check", "metrics"],
                              input=fetch(f"{base}/metrics")[2], capture_output=True, timeout=60)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()

    # --- SIGHUP with a broken file: rejected, the old configuration kept ----------------
    path.write_text('[serve]\nlisten = "nowhere"\n[metrics]\ntop_n = 0\n')
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reload rejected" in log_path.read_text(), 15,
             "the rejection logged")
    line = next(x for x in log_path.read_text().splitlines() if "reload rejected" in x)
    assert "serve.listen" in line and "metrics.top_n" in line
    assert value(metrics(base), "pgsage_up", target="proc") == 1

    # --- SIGHUP with a good file: applied (the target is renamed) --------------------------
    path.write_text(config_text(server, port, name="renamed", top_n=5))
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: value(metrics(base), "pgsage_up", target="renamed") == 1, 20,
             "the renamed target up")
    assert value(metrics(base), "pgsage_up", target="proc") is None
    assert "configuration reloaded" in log_path.read_text()
    wait_for(lambda: pgsage_backends(server.dsn()) == 1, 10, "one connection after reload")

    # --- SIGTERM: exits 0 within a few seconds, closing its connection -------------------
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert proc.wait(15) == 0
    assert time.monotonic() - started < 8
    wait_for(lambda: pgsage_backends(server.dsn()) == 0, 10, "no connection left")
