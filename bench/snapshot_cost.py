"""What a full snapshot costs on a big catalog, next to the bare catalog queries it needs.

Builds, on a throwaway server, a database with `--tables` tables (each with a primary key,
one secondary index and a TOAST table, ten rows, analyzed: so `--tables` 10,000 gives
20,000 indexes and 50,000 pg_statistic rows) and `--statements` distinct statements in
pg_stat_statements. Then it prints:

- the wall time of a full snapshot (`analyzer.collect.collect` over `analyzer.connection.
  Session`, a new session each time as `pgsage analyze` does), the median of `--repeat`
  runs, cold (no query text known: the CLI) and warm (every text known: the sidecar);
- the "floor": the same runs of the bare catalog queries a snapshot cannot avoid
  (pg_get_indexdef + pg_relation_size over all indexes, pg_table_size over all tables,
  pg_stat_statements with texts for the cold case, without for the warm one);
- the ratio of the two (the target is at most 1.5) and the seconds of each collector;
- the peak memory of one snapshot in a fresh process at a quarter, half and all of the
  tables (RSS growth over the process before the snapshot, and the tracemalloc peak), to show
  it grows linearly.

    python bench/snapshot_cost.py                       # full scale, PostgreSQL 18 (embedded)
    python bench/snapshot_cost.py --tables 500 --statements 250 --repeat 3     # a quick look
    python bench/snapshot_cost.py --bin-dir /usr/lib/postgresql/15/bin          # Debian's 15
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from pgsage.analyzer.app.throwaway import DEFAULT_SETTINGS, ThrowawayServer, embedded_bin_dir
from pgsage.analyzer.live.collect import collect
from pgsage.analyzer.live.connection import Session, SessionLimits

DATABASE = "bench"
LIMITS = SessionLimits(statement_timeout_ms=120_000)
"""Generous, to measure every collector; the default (5 s) is checked against the results."""
DEFAULT_TIMEOUT_S = SessionLimits().statement_timeout_ms / 1000
BATCH = 250
"""Tables created per transaction (each new table holds five locks until commit)."""

SETTINGS = {
    **DEFAULT_SETTINGS,
    "pg_stat_statements.max": "10000",
    "max_locks_per_transaction": "256",
    "autovacuum": "off",  # the build must not race autovacuum over 50,000 relations
}

USER_SCHEMAS = """n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_'"""

FLOOR_INDEXES = f"""
SELECT i.indexrelid, pg_get_indexdef(i.indexrelid), pg_relation_size(i.indexrelid)
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE {USER_SCHEMAS}"""

FLOOR_TABLES = f"""
SELECT c.oid, pg_table_size(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm') AND {USER_SCHEMAS}"""

PG_STATS = """
SELECT schemaname, tablename, attname, inherited, null_frac, avg_width, n_distinct,
       correlation, most_common_vals::text, most_common_freqs
  FROM pg_stats WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"""
"""Not part of the floor: what reading the planner statistics alone costs (columns collector)."""

FLOOR_STATEMENTS = """
SELECT * FROM pg_stat_statements({texts})
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"""

BUILD_BATCH = """
DO $$
BEGIN
  FOR i IN {first}..{last} LOOP
    EXECUTE format('CREATE TABLE t%s (id bigint PRIMARY KEY, a int NOT NULL, b text,
                                      c timestamptz NOT NULL DEFAULT now(), d numeric)', i);
    EXECUTE format('CREATE INDEX t%s_a_c_idx ON t%s (a, c)', i, i);
    EXECUTE format('INSERT INTO t%s (id, a, b, d) SELECT g, g %% 7, md5(g::text), g * 1.5
                      FROM generate_series(1, 10) AS g', i);
    EXECUTE format('ANALYZE t%s', i);
  END LOOP;
END $$"""

TEMPLATES = (
    "SELECT id, a, b, c, d FROM t{i} WHERE a = %s ORDER BY c DESC LIMIT 10",
    "UPDATE t{i} SET d = d + %s, c = now() WHERE id = %s",
    "SELECT count(*) AS n, sum(d) AS total, max(c) AS latest, min(c) AS first_seen "
    "FROM t{i} WHERE b LIKE %s AND a BETWEEN %s AND %s",
    "INSERT INTO t{i} (id, a, b, d) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (id) DO UPDATE SET a = excluded.a, b = excluded.b, d = excluded.d",
    # No aliases: PostgreSQL 18 jumbles a table by its alias, so `FROM t1 x` and `FROM t2 x`
    # would share one queryid.
    "SELECT t{i}.id AS order_id, t{i}.a AS customer_id, t{i}.b AS reference, "
    "t{i}.c AS created_at, t{j}.b AS customer_reference, t{j}.d AS customer_balance, "
    "t{i}.d * %s AS amount_with_tax FROM t{i} JOIN t{j} ON t{j}.id = t{i}.a "
    "WHERE t{i}.c > now() - %s::interval AND t{i}.d > %s ORDER BY t{i}.c DESC, t{i}.id LIMIT 50",
)
PARAMS: tuple[tuple[Any, ...], ...] = (
    (3,), (1, 5), ("a%", 1, 5), (5, 2, "x", 1), (1.2, "1 day", 0),
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(server: ThrowawayServer, start: int, tables: int, statements: tuple[int, int],
          jobs: int) -> None:
    """Add tables [start, tables) over `jobs` connections, then run statements [a, b)."""

    def batch(first: int) -> None:
        with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
            conn.execute("SET pg_stat_statements.track = 'none'")
            last = min(first + BATCH, tables) - 1
            conn.execute(BUILD_BATCH.format(first=first, last=last).encode())

    begun = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(batch, range(start, tables, BATCH)))
    log(f"  tables {start:,}..{tables - 1:,} built and analyzed in "
        f"{time.perf_counter() - begun:.1f} s")
    begun = time.perf_counter()
    with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn, conn.pipeline():
        for i in range(*statements):
            kind = i % len(TEMPLATES)
            sql = TEMPLATES[kind].format(i=i, j=(i + 1) % tables)
            conn.execute(sql.encode(), PARAMS[kind])
    log(f"  statements {statements[0]:,}..{statements[1] - 1:,} run in "
        f"{time.perf_counter() - begun:.1f} s")


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"""
            SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n
                      ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND {USER_SCHEMAS}),
                   (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_SCHEMAS}),
                   (SELECT count(*) FROM pg_stat_statements
                     WHERE dbid = (SELECT oid FROM pg_database
                                    WHERE datname = current_database())),
                   (SELECT count(*) FROM pg_class)""").fetchone()
    assert row is not None
    return dict(zip(("tables", "indexes", "statements", "pg_class"), row, strict=True))


def timed(run: Callable[[], object]) -> float:
    begun = time.perf_counter()
    run()
    return time.perf_counter() - begun


def one_query(dsn: str, sql: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.encode()).fetchall()


def floor(dsn: str, texts: bool) -> None:
    """The bare queries, over a new connection like a snapshot's."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in (FLOOR_INDEXES, FLOOR_TABLES, FLOOR_STATEMENTS.format(texts=texts)):
            conn.execute(sql.encode()).fetchall()


def snapshot(dsn: str, known: frozenset[int] = frozenset(),
             into: list[dict[str, float]] | None = None) -> None:
    with Session.open(dsn, LIMITS) as session:
        snap = collect(session, known_query_texts=known)
    failed = {k: v.reason for k, v in snap.status.items() if not v.ok}
    if failed:
        log(f"  collectors failed: {failed}")
    if into is not None:
        into.append({k: v.seconds or 0.0 for k, v in snap.status.items()})


def queryids(dsn: str) -> frozenset[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return frozenset(r[0] for r in conn.execute(FLOOR_STATEMENTS.format(texts="false")
                                                    .replace("*", "queryid")))


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure_memory(dsn: str) -> None:
    """Child process: peak memory of one snapshot, printed as JSON."""
    with Session.open(dsn, LIMITS) as session:  # imports and connection first
        collect(session, only=("server",))
    before = rss_kib()
    with Session.open(dsn, LIMITS) as session:
        snap = collect(session)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    del snap
    tracemalloc.start()
    with Session.open(dsn, LIMITS) as session:
        collect(session)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"rss_before_kib": before, "rss_peak_kib": peak,
                      "rss_growth_kib": peak - before,
                      "tracemalloc_peak_kib": traced_peak // 1024}))


def memory_in_child(dsn: str) -> dict[str, int]:
    done = subprocess.run([sys.executable, __file__, "--measure-memory", dsn],
                          capture_output=True, text=True, check=True, timeout=600)
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--bin-dir", type=Path, default=None,
                        help="PostgreSQL server binaries (default: embedded PostgreSQL 18)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                        help="connections building the tables")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the memory steps at 1/4 and 1/2 of the tables")
    parser.add_argument("--keep", action="store_true", help="leave the server running")
    parser.add_argument("--measure-memory", metavar="DSN", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_memory:
        measure_memory(args.measure_memory)
        return

    server = ThrowawayServer(args.bin_dir or embedded_bin_dir(), settings=SETTINGS)
    server.start()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {DATABASE}".encode())
        dsn = server.dsn(DATABASE)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
            conn.execute("SELECT pg_stat_statements_reset()")
        version = server.version_num() // 10000
        log(f"PostgreSQL {version} at {dsn}")

        steps = [args.tables] if args.no_memory else sorted(
            {max(args.tables // 4, 1), max(args.tables // 2, 1), args.tables})
        memory: list[tuple[dict[str, int], dict[str, int]]] = []
        built = 0
        for tables in steps:
            stmts = (round(args.statements * built / args.tables),
                     round(args.statements * tables / args.tables))
            build(server, built, tables, stmts, args.jobs)
            built = tables
            memory.append((counts(dsn), memory_in_child(dsn)))
            log(f"  memory at {tables:,} tables: {memory[-1][1]}")

        known = queryids(dsn)
        per_collector: list[dict[str, float]] = []
        runs: dict[str, Callable[[], object]] = {
            "cold": lambda: snapshot(dsn, into=per_collector),
            "floor_cold": lambda: floor(dsn, True),
            "warm": lambda: snapshot(dsn, known),
            "floor_warm": lambda: floor(dsn, False),
        }
        for name, sql in (("indexes: pg_get_indexdef + pg_relation_size", FLOOR_INDEXES),
                          ("tables: pg_table_size", FLOOR_TABLES),
                          ("pg_stat_statements(true)", FLOOR_STATEMENTS.format(texts="true")),
                          ("pg_stat_statements(false)",
                           FLOOR_STATEMENTS.format(texts="false")),
                          ("(not in the floor) pg_stats", PG_STATS)):
            runs[name] = functools.partial(one_query, dsn, sql)
        # Interleaved, so a change in the machine's load hits every measure alike.
        times: dict[str, list[float]] = {name: [] for name in runs}
        for k in range(args.repeat):
            for name, run in runs.items():
                times[name].append(timed(run))
            log(f"  timing run {k + 1} of {args.repeat} done")
        log(f"  load average after the runs: {os.getloadavg()[0]:.2f}")
        final = counts(dsn)
    finally:
        if args.keep:
            log(f"server kept: {server.dsn(DATABASE)} (data in {server.data_dir})")
        else:
            server.stop()

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:8.0f} ms"

    print(f"machine:    {machine()}")
    origin = "embedded" if args.bin_dir is None else args.bin_dir
    print(f"server:     PostgreSQL {version} ({origin})")
    print(f"database:   {final['tables']:,} tables, {final['indexes']:,} indexes, "
          f"{final['statements']:,} statements in pg_stat_statements, "
          f"{final['pg_class']:,} rows in pg_class")
    print(f"runs:       median of {args.repeat}, each over a new session")
    print()
    med = {name: statistics.median(t) for name, t in times.items()}

    def line(label: str, name: str) -> None:
        print(f"{label:<46} {ms(med[name])}   runs: "
              + ", ".join(f"{t:.2f}" for t in times[name]) + " s")

    line("snapshot, cold (CLI: every query text read)", "cold")
    line("floor, cold (with pg_stat_statements texts)", "floor_cold")
    print(f"{'ratio, cold':<46} {med['cold'] / med['floor_cold']:8.2f} x   (target <= 1.5)")
    with_stats = med["floor_cold"] + med["(not in the floor) pg_stats"]
    print(f"{'ratio, cold, against floor + pg_stats':<46} {med['cold'] / with_stats:8.2f} x")
    line("snapshot, warm (sidecar: texts already known)", "warm")
    line("floor, warm (pg_stat_statements(false))", "floor_warm")
    print(f"{'ratio, warm':<46} {med['warm'] / med['floor_warm']:8.2f} x")
    print()
    print("floor queries, each alone (median):")
    for name in list(runs)[4:]:
        print(f"  {name:<44} {ms(med[name])}")
    print()
    print("collectors in the cold snapshot (median seconds):")
    slow = []
    for name in per_collector[0]:
        seconds = statistics.median(r[name] for r in per_collector)
        print(f"  {name:<46} {ms(seconds)}")
        if max(r[name] for r in per_collector) > DEFAULT_TIMEOUT_S:
            slow.append(name)
    if slow:
        print(f"  over the default statement_timeout ({DEFAULT_TIMEOUT_S:.0f} s) in some run: "
              f"{', '.join(slow)}")
    print()
    print("memory of one snapshot (fresh process; growth = peak RSS - RSS before):")
    print(f"  {'tables':>7} {'indexes':>8} {'statements':>10} {'RSS growth':>11} "
          f"{'per table':>10} {'tracemalloc peak':>17}")
    for c, m in memory:
        print(f"  {c['tables']:>7,} {c['indexes']:>8,} {c['statements']:>10,} "
              f"{m['rss_growth_kib'] / 1024:>8.1f} MiB "
              f"{m['rss_growth_kib'] / c['tables']:>7.1f} KiB "
              f"{m['tracemalloc_peak_kib'] / 1024:>13.1f} MiB")


if __name__ == "__main__":
    main()
