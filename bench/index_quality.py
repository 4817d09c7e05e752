"""Index advisor quality: TPC-H SF1 against the published reference, and an OLTP shop.

The reference is Kossmann et al., "Magic mirror in my hand, which is the best in the land?
An Experimental Evaluation of Index Selection Algorithms" (PVLDB 13(11), 2020): TPC-H at
scale factor 1 without queries 2, 17 and 20; cost = the sum of the planner's Total Cost over
the 19 queries (one call each) with the chosen indexes created hypothetically (HypoPG),
divided by the same sum without secondary indexes; budgets in HypoPG-estimated bytes.

One command does it all, offline:

1. generates TPC-H SF1 with DuckDB's TPC-H extension from PyPI (`pip install -e .[bench]`):
   the bundled `.duckdb_extension` file is LOADed by path (`INSTALL tpch` would need the
   internet), `CALL dbgen(sf=1)`, CSV export, `tpch_queries()` for the texts. The CSVs are
   cached under bench/data/ (gitignored), so a rerun skips this step;
2. starts a throwaway PostgreSQL 15 (Debian's, which has HypoPG), loads the eight tables
   without primary keys (as the paper does), VACUUM ANALYZE, CREATE EXTENSION hypopg;
3. runs the 19 queries (`--runs` times each) so pg_stat_statements holds them, as a user's
   database would, and takes one pgsage snapshot;
4. runs pgsage's advisor from that snapshot (`analyzer.pipeline.plan_indexes`) at budgets of
   50, 100, 250, 500 and 1000 MB and, in the same run, the baselines: no index, one index per
   predicate column, a Dexter-like per-statement search, Supabase index_advisor's method, and
   all one- and two-column candidates together;
5. creates the 500 MB choice for real and times the queries with and without it;
6. runs the demo shop's OLTP workload and reports the advisor's relative cost and the write
   overhead of what it picks.

    python bench/index_quality.py                 # everything (about 30 minutes on 2 cores)
    python bench/index_quality.py --skip-real --skip-oltp --budgets 250,500
    python bench/index_quality.py --dsn "host=... dbname=tpch user=postgres"   # loaded db
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import importlib.util
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from pgsage.analyzer.advisor.plannable import plannable_variant
from pgsage.analyzer.app.throwaway import DEFAULT_SETTINGS, ThrowawayServer, system_bin_dirs
from pgsage.analyzer.engine.pipeline import plan_indexes
from pgsage.analyzer.live.collect import collect
from pgsage.analyzer.live.connection import Session, SessionLimits
from pgsage.analyzer.live.explain import Planner
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import AdvisorOptions, Candidate, IndexKey, IndexPlan
from pgsage.analyzer.model.plan_tree import NotExplainable
from pgsage.analyzer.model.workload import SARGABLE, Statement, TableRef, Use

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "tpch-sf1"
DATABASE = "tpch"
MB = 1024 * 1024
BUDGETS_MB = (50, 100, 250, 500, 1000)
EXCLUDED = (2, 17, 20)
"""As in the paper: they dominate the workload's cost by orders of magnitude."""

REFERENCE = {50: 0.965, 100: 0.937, 250: 0.684, 500: 0.578, 1000: 0.510}
"""Extend (Schlosser et al.), SF1, PostgreSQL, as published; budgets in MB."""
REFERENCE_ALL_2COL = 0.491

SETTINGS = {
    **DEFAULT_SETTINGS,
    "shared_buffers": "2GB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "8GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "autovacuum": "off",  # the run is the workload: no background work in its timings
    "max_connections": "20",
}
"""Planner cost settings stay at their defaults (work_mem, random_page_cost, ...)."""

LIMITS = SessionLimits(statement_timeout_ms=600_000, lock_timeout_ms=10_000)

SCHEMA = {
    "region": """r_regionkey integer NOT NULL, r_name char(25) NOT NULL,
                 r_comment varchar(152)""",
    "nation": """n_nationkey integer NOT NULL, n_name char(25) NOT NULL,
                 n_regionkey integer NOT NULL, n_comment varchar(152)""",
    "part": """p_partkey integer NOT NULL, p_name varchar(55) NOT NULL,
               p_mfgr char(25) NOT NULL, p_brand char(10) NOT NULL,
               p_type varchar(25) NOT NULL, p_size integer NOT NULL,
               p_container char(10) NOT NULL, p_retailprice numeric(15,2) NOT NULL,
               p_comment varchar(23) NOT NULL""",
    "supplier": """s_suppkey integer NOT NULL, s_name char(25) NOT NULL,
                   s_address varchar(40) NOT NULL, s_nationkey integer NOT NULL,
                   s_phone char(15) NOT NULL, s_acctbal numeric(15,2) NOT NULL,
                   s_comment varchar(101) NOT NULL""",
    "partsupp": """ps_partkey integer NOT NULL, ps_suppkey integer NOT NULL,
                   ps_availqty integer NOT NULL, ps_supplycost numeric(15,2) NOT NULL,
                   ps_comment varchar(199) NOT NULL""",
    "customer": """c_custkey integer NOT NULL, c_name varchar(25) NOT NULL,
                   c_address varchar(40) NOT NULL, c_nationkey integer NOT NULL,
                   c_phone char(15) NOT NULL, c_acctbal numeric(15,2) NOT NULL,
                   c_mktsegment char(10) NOT NULL, c_comment varchar(117) NOT NULL""",
    "orders": """o_orderkey integer NOT NULL, o_custkey integer NOT NULL,
                 o_orderstatus char(1) NOT NULL, o_totalprice numeric(15,2) NOT NULL,
                 o_orderdate date NOT NULL, o_orderpriority char(15) NOT NULL,
                 o_clerk char(15) NOT NULL, o_shippriority integer NOT NULL,
                 o_comment varchar(79) NOT NULL""",
    "lineitem": """l_orderkey integer NOT NULL, l_partkey integer NOT NULL,
                   l_suppkey integer NOT NULL, l_linenumber integer NOT NULL,
                   l_quantity numeric(15,2) NOT NULL, l_extendedprice numeric(15,2) NOT NULL,
                   l_discount numeric(15,2) NOT NULL, l_tax numeric(15,2) NOT NULL,
                   l_returnflag char(1) NOT NULL, l_linestatus char(1) NOT NULL,
                   l_shipdate date NOT NULL, l_commitdate date NOT NULL,
                   l_receiptdate date NOT NULL, l_shipinstruct char(25) NOT NULL,
                   l_shipmode char(10) NOT NULL, l_comment varchar(44) NOT NULL""",
}
"""The TPC-H specification's types (DuckDB's own use other widths); no keys, no indexes."""

DIALECT_FIXES: list[tuple[str, str, str]] = []
"""(find, replace, why) applied to DuckDB's query texts; filled in if PostgreSQL needs any."""


def say(*parts: object) -> None:
    print(*parts, flush=True)


# --- 1. TPC-H data and queries ----------------------------------------------------------------
def tpch_extension() -> Path:
    spec = importlib.util.find_spec("duckdb_extension_tpch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install duckdb duckdb-extension-tpch   (or: pip install -e .[bench])")
    root = next(iter(spec.submodule_search_locations))
    found = sorted(glob.glob(os.path.join(root, "**", "tpch.duckdb_extension"), recursive=True))
    if not found:
        raise SystemExit(f"no tpch.duckdb_extension under {root}")
    return Path(found[-1])


def tpch_data(data_dir: Path, scale: float) -> dict[int, str]:
    """The CSVs (generated once, then cached) and the 22 query texts."""
    import duckdb  # an optional dependency: the `bench` extra

    data_dir.mkdir(parents=True, exist_ok=True)
    queries_file = data_dir / "queries.json"
    done = data_dir / f"sf{scale:g}.done"
    con = duckdb.connect()
    con.execute(f"LOAD '{tpch_extension()}'")
    if not done.exists():
        started = time.perf_counter()
        say(f"generating TPC-H SF{scale:g} with DuckDB into {data_dir} ...")
        con.execute(f"CALL dbgen(sf={scale})")
        for table in SCHEMA:
            con.execute(f"COPY {table} TO '{data_dir / table}.csv' "
                        "(FORMAT csv, DELIMITER '|', HEADER false)")
        done.write_text(f"{time.time()}\n")
        say(f"  done in {time.perf_counter() - started:.0f} s")
    queries = {int(n): str(q) for n, q in con.execute(
        "SELECT query_nr, query FROM tpch_queries() ORDER BY 1").fetchall()}
    queries_file.write_text(json.dumps(queries, indent=1))
    return queries


def postgres_text(text: str) -> str:
    for find, replace, _ in DIALECT_FIXES:
        text = text.replace(find, replace)
    return text.strip().rstrip(";")


def load(dsn: str, data_dir: Path) -> None:
    """Tables without keys, COPY, VACUUM ANALYZE, HypoPG; pg_stat_* reset afterwards."""
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET pg_stat_statements.track = 'none'")
        for table, columns in SCHEMA.items():
            with conn.transaction():
                conn.execute(f"DROP TABLE IF EXISTS {table}")
                # Same transaction as the COPY: with wal_level = minimal nothing is logged.
                conn.execute(f"CREATE TABLE {table} ({columns})")
                with conn.cursor().copy(
                        f"COPY {table} FROM STDIN (FORMAT csv, DELIMITER '|')") as copy, \
                        (data_dir / f"{table}.csv").open("rb") as f:
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
            say(f"  loaded {table} ({time.perf_counter() - started:.0f} s)")
        conn.execute("VACUUM ANALYZE")
        conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    say(f"  loaded and analyzed in {time.perf_counter() - started:.0f} s")


def loaded(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_class WHERE relname = ANY(%s) "
                           "AND relkind = 'r'", (list(SCHEMA),)).fetchone()
        return row is not None and row[0] == len(SCHEMA)


# --- 2. the workload, as a user's database would see it ---------------------------------------
@dataclass
class Query:
    number: int
    text: str
    queryid: int = 0
    seconds: list[float] = field(default_factory=list)
    timed_out: bool = False
    fallback: bool = False


def query_ids(dsn: str, queries: Sequence[Query]) -> None:
    """Each query's pg_stat_statements id, from EXPLAIN VERBOSE (nothing is executed)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET pg_stat_statements.track = 'none'")
        for q in queries:
            row = conn.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {q.text}").fetchone()
            assert row is not None
            q.queryid = int(row[0][0]["Query Identifier"])


FALLBACK = "SET LOCAL enable_nestloop = off"
"""For a query that runs past the timeout. Without indexes PostgreSQL estimates Q21's
anti-join at one row and runs a nested loop over a sequential scan of lineitem for hours;
a query id does not depend on settings, so pg_stat_statements records the same statement."""


def execute(conn: psycopg.Connection[Any], q: Query, timeout_s: int,
            known_slow: bool = False) -> tuple[float, bool]:
    """Seconds to run the query, and whether it needed FALLBACK to finish (`known_slow`:
    it did before, in the same configuration: go straight to FALLBACK)."""
    for fallback in ((True,) if known_slow else (False, True)):
        started = time.perf_counter()
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = '{timeout_s}s'")
                if fallback:
                    conn.execute(FALLBACK)
                conn.execute(q.text).fetchall()
        except psycopg.errors.QueryCanceled:
            if fallback:
                raise
            continue
        return time.perf_counter() - started, fallback
    raise AssertionError("unreachable")


def run_workload(dsn: str, queries: Sequence[Query], runs: int, timeout_s: int) -> None:
    """Execute every query `runs` times: pg_stat_statements then holds the workload."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        # The load is not the workload: a user's analytics database is read, not bulk-loaded,
        # over the window the advisor looks at (its write-overhead model reads these counters).
        conn.execute("SELECT pg_stat_reset()")
        conn.execute("SELECT pg_stat_statements_reset()")
        for run in range(runs):
            for q in queries:
                try:
                    seconds, fallback = execute(conn, q, timeout_s, q.fallback)
                except psycopg.errors.QueryCanceled:
                    q.timed_out = True
                    say(f"  Q{q.number} timed out twice (not in pg_stat_statements: a "
                        "cancelled statement is not recorded)")
                    continue
                q.fallback = q.fallback or fallback
                q.seconds.append(seconds)
                say(f"  run {run + 1}/{runs}: Q{q.number} {seconds:.1f} s"
                    + (" (enable_nestloop = off)" if fallback else ""))


def snapshot_model(dsn: str) -> Model:
    with Session.open(dsn, LIMITS) as session:
        return Model(collect(session))


# --- 3. costing a configuration: HypoPG indexes + EXPLAIN of the real query texts -------------
class Costing:
    """Hypothetical indexes on a superuser connection of the bench's own (not pgsage's)."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.conn.execute("SET pg_stat_statements.track = 'none'")
        self._cost_cache: dict[tuple[str, frozenset[str]], float] = {}

    def close(self) -> None:
        self.conn.close()

    def configure(self, candidates: Iterable[Candidate]) -> int:
        """Reset, create every candidate hypothetically; their estimated total size."""
        self.conn.execute("SELECT hypopg_reset()")
        size = 0
        for c in candidates:
            row = self.conn.execute(
                "SELECT hypopg_relation_size(indexrelid)::int8 FROM hypopg_create_index(%s)",
                (c.definition(concurrently=False),)).fetchone()
            assert row is not None
            size += int(row[0])
        return size

    def cost(self, text: str) -> float:
        row = self.conn.execute(f"EXPLAIN (FORMAT JSON) {text}").fetchone()
        assert row is not None
        return float(row[0][0]["Plan"]["Total Cost"])

    def workload(self, queries: Sequence[Query]) -> dict[int, float]:
        return {q.number: self.cost(q.text) for q in queries}

    def reset(self) -> None:
        self.conn.execute("SELECT hypopg_reset()")


@dataclass
class Row:
    name: str
    budget_mb: float | None
    relative: float
    indexes: int
    size_bytes: int
    seconds: float | None
    note: str = ""
    reference: float | None = None
    labels: list[str] = field(default_factory=list)
    per_query: dict[int, float] = field(default_factory=dict)


def measure(costing: Costing, queries: Sequence[Query], base: dict[int, float], name: str,
            candidates: Sequence[Candidate], budget_mb: float | None = None,
            seconds: float | None = None, note: str = "",
            reference: float | None = None) -> Row:
    unique = list(dict.fromkeys(candidates))
    size = costing.configure(unique)
    costs = costing.workload(queries)
    costing.reset()
    relative = sum(costs.values()) / sum(base.values())
    return Row(name, budget_mb, relative, len(unique), size, seconds, note, reference,
               [c.label() for c in unique],
               {n: costs[n] / base[n] for n in costs})


# --- 4. baselines ----------------------------------------------------------------------------
def indexable_columns(statement: Statement) -> dict[TableRef, list[str]]:
    """Per table, the columns a predicate or join of the statement compares (in order)."""
    out: dict[TableRef, list[str]] = {}
    for use in statement.uses:
        if use.use in SARGABLE and use.column and not use.expression:
            cols = out.setdefault(use.table, [])
            if use.column not in cols:
                cols.append(use.column)
    return out


def relevant_columns(statement: Statement) -> dict[TableRef, list[str]]:
    """The paper's "syntactically relevant" columns: predicates, joins, GROUP BY, ORDER BY."""
    out = indexable_columns(statement)
    for use in statement.uses:
        if use.use in (Use.GROUP, Use.ORDER) and use.column and not use.expression:
            cols = out.setdefault(use.table, [])
            if use.column not in cols:
                cols.append(use.column)
    return out


def one_column(statements: Iterable[Statement]) -> list[Candidate]:
    out = []
    for st in statements:
        for table, cols in indexable_columns(st).items():
            out.extend(Candidate(table, (IndexKey(c),), origin="single") for c in cols)
    return out


def one_and_two_columns(statements: Iterable[Statement]) -> list[Candidate]:
    out = []
    for st in statements:
        for table, cols in relevant_columns(st).items():
            out.extend(Candidate(table, (IndexKey(c),), origin="single") for c in cols)
            out.extend(Candidate(table, (IndexKey(a), IndexKey(b)))
                       for a, b in itertools.permutations(cols, 2))
    return out


class GenericCosting:
    """Generic plans of pg_stat_statements texts (`$1`), as Dexter and Supabase's see them."""

    def __init__(self, dsn: str) -> None:
        self.session = Session.open(dsn, LIMITS)
        self.planner = Planner(self.session, 150000)
        self.sizes: dict[int, int] = {}

    def close(self) -> None:
        self.planner.close()
        self.session.close()

    def create(self, c: Candidate) -> tuple[int, str]:
        row = self.session.fetch("SELECT indexrelid::int8 AS oid, indexname FROM "
                                 "hypopg_create_index(%(sql)s)",
                                 {"sql": c.definition(concurrently=False)})[0]
        return int(row["oid"]), str(row["indexname"])

    def drop(self, oid: int) -> None:
        self.session.fetch("SELECT hypopg_drop_index(%(oid)s::oid)", {"oid": oid})

    def reset(self) -> None:
        self.session.fetch("SELECT hypopg_reset()")

    def plan(self, st: Statement) -> tuple[float, set[str]]:
        """Planned as pgsage plans it: through a plannable variant where PREPARE needs one
        (so the baselines are compared on their search, not on what they can plan)."""
        try:
            p = self.planner.plan(st)
        except NotExplainable:
            variant = plannable_variant(st)
            if variant is None:
                raise
            p = self.planner.plan(variant)
        return p.total_cost, p.index_names()


def dexter_like(generic: GenericCosting, statements: Sequence[Statement]) -> list[Candidate]:
    """Per statement, the best single index (one or two columns) if it saves >= 50%."""
    out = []
    generic.reset()
    for st in statements:
        try:
            before, _ = generic.plan(st)
        except NotExplainable:
            continue
        best: tuple[float, Candidate] | None = None
        for table, cols in indexable_columns(st).items():
            options = [(c,) for c in cols] + list(itertools.permutations(cols, 2))
            for keys in options:
                cand = Candidate(table, tuple(IndexKey(c) for c in keys))
                oid, name = generic.create(cand)
                try:
                    cost, used = generic.plan(st)
                finally:
                    generic.drop(oid)
                if name in used and (best is None or cost < best[0]):
                    best = (cost, cand)
        if best is not None and best[0] <= 0.5 * before:
            out.append(best[1])
    return out


def supabase_like(generic: GenericCosting, statements: Sequence[Statement],
                  model: Model) -> list[Candidate]:
    """Supabase index_advisor's method (v0.2.0), re-implemented: per statement, a
    hypothetical one-column btree on every column of every user table that has no
    one-column index, a generic plan, and the hypothetical indexes that plan uses."""
    columns: dict[int, list[str]] = {}
    for col in model.columns:
        columns.setdefault(col.relid, []).append(col.name)
    tables = [TableRef(t.relid, t.schema, t.name) for t in model.tables.values()
              if t.schema == "public"]
    out = []
    for st in statements:
        generic.reset()
        names: dict[str, Candidate] = {}
        for table in tables:
            for col in columns.get(table.relid, []):
                cand = Candidate(table, (IndexKey(col),), origin="single")
                names[generic.create(cand)[1]] = cand
        try:
            _, used = generic.plan(st)
        except NotExplainable:
            continue
        out.extend(names[n] for n in sorted(used) if n in names)
    generic.reset()
    return out


# --- 5. pgsage's advisor ---------------------------------------------------------------------
TUNED = {"max_new": 100, "min_improvement": 0.0, "min_calls": 1}
"""The bench's own options before the defaults met the reference (kept for comparison)."""


def advise(dsn: str, model: Model, budget_mb: float | None, time_limit_s: float | None = None,
           **extra: Any) -> IndexPlan:
    """`pgsage indexes --budget B` with its default options, plus any `extra` ones."""
    options = AdvisorOptions(
        budget_bytes=int(budget_mb * MB) if budget_mb is not None else None,
        time_limit_s=time_limit_s, **extra)
    with Session.open(dsn, LIMITS) as session:
        return plan_indexes(session, model, options)


# --- 6. are the savings real? ----------------------------------------------------------------
def timed(dsn: str, queries: Sequence[Query], repeat: int,
          timeout_s: int) -> dict[int, tuple[float, bool]]:
    """Median seconds of `repeat` runs after one warm-up run, and whether FALLBACK was used."""
    out: dict[int, tuple[float, bool]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET pg_stat_statements.track = 'none'")
        for q in queries:
            samples = []
            used = False
            for i in range(repeat + 1):
                try:
                    seconds, fallback = execute(conn, q, timeout_s, used)
                except psycopg.errors.QueryCanceled:
                    samples, used = [float("inf")], True
                    break
                used = used or fallback
                if i:
                    samples.append(seconds)
            out[q.number] = statistics.median(samples), used
    return out


def real_check(dsn: str, queries: Sequence[Query], plan: IndexPlan, repeat: int,
               timeout_s: int) -> list[str]:
    lines = []
    say("  timing the queries without the indexes ...")
    before = timed(dsn, queries, repeat, timeout_s)
    sizes = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET pg_stat_statements.track = 'none'")
        for choice in plan.choices:
            started = time.perf_counter()
            conn.execute(choice.candidate.definition(concurrently=False, name=choice.name))
            row = conn.execute("SELECT pg_relation_size(%s::regclass)",
                               (choice.name,)).fetchone()
            assert row is not None
            sizes.append((choice, int(row[0]), time.perf_counter() - started))
        conn.execute("ANALYZE")
    say("  timing the queries with the indexes ...")
    try:
        after = timed(dsn, queries, repeat, timeout_s)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for choice in plan.choices:
                conn.execute(f'DROP INDEX IF EXISTS "{choice.name}"')
    lines.append("| index | HypoPG estimate | real size | real/estimate | build |")
    lines.append("|---|---:|---:|---:|---:|")
    for choice, real, build in sizes:
        lines.append(f"| {choice.candidate.label()} | {choice.size_bytes / MB:.1f} MB | "
                     f"{real / MB:.1f} MB | {real / max(choice.size_bytes, 1):.2f} | "
                     f"{build:.0f} s |")
    est = sum(c.size_bytes for c, _, _ in sizes)
    real_total = sum(r for _, r, _ in sizes)
    lines.append(f"| **total** | {est / MB:.1f} MB | {real_total / MB:.1f} MB | "
                 f"{real_total / max(est, 1):.2f} | |")
    lines.append("")
    lines.append("| query | without (s) | with (s) | speed-up |")
    lines.append("|---|---:|---:|---:|")
    for q in queries:
        (b, fb), (a, fa) = before[q.number], after[q.number]
        lines.append(f"| Q{q.number} | {b:.2f}{'*' if fb else ''} | {a:.2f}{'*' if fa else ''} "
                     f"| {b / a:.1f}x |")
    tb, ta = sum(v[0] for v in before.values()), sum(v[0] for v in after.values())
    lines.append(f"| **sum** | {tb:.1f} | {ta:.1f} | {tb / ta:.2f}x |")
    if any(v[1] for v in (*before.values(), *after.values())):
        lines.append("")
        lines.append(f"`*`: ran past {timeout_s} s with the default plan; timed with "
                     "enable_nestloop = off.")
    return lines


# --- 7. OLTP: the demo's shop ----------------------------------------------------------------
def oltp(server: ThrowawayServer, seconds: float) -> list[str]:
    """The demo's shop on the same PostgreSQL 15: advisor cost and write overhead."""
    from pgsage.analyzer.app import demo

    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {demo.DATABASE}")
    demo._create_shop(server)
    dsn = server.dsn(demo.DATABASE)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET pg_stat_statements.track = 'none'")
        conn.execute("CREATE EXTENSION hypopg")
    work = demo.Workload(dsn)
    work.start()
    time.sleep(seconds)
    work.join()
    if work.error is not None:
        raise work.error
    time.sleep(1.0)  # the workload's backends flush their table statistics on exit
    model = snapshot_model(dsn)
    started = time.perf_counter()
    with Session.open(dsn, LIMITS) as session:
        plan = plan_indexes(session, model, AdvisorOptions(time_limit_s=600))
    elapsed = time.perf_counter() - started
    final: dict[int, float] = {}
    for choice in plan.choices:
        for e in choice.effects:
            final[e.queryid] = e.cost_after
    calls = {int(q): int(c) for q, c in
             model.statements.groupby("queryid")["calls"].sum().items()}
    before = sum(calls.get(q, 0) * p.total_cost for q, p in plan.plans_before.items())
    after = sum(calls.get(q, 0) * final.get(q, p.total_cost)
                for q, p in plan.plans_before.items())
    saved = before - after
    overhead = sum(c.write_overhead for c in plan.choices)
    lines = [f"{work.total:,} statements in {seconds:.0f} s on {demo.THREADS} connections; "
             f"{plan.statements_considered} SELECT statements planned, "
             f"{plan.candidates_considered} candidates, {plan.explains} EXPLAINs, "
             f"advisor {elapsed:.1f} s.", "",
             "| index | statements helped | cost saved (calls x cost) | rows written | "
             "HOT updates lost | write overhead (cost units) |", "|---|---:|---:|---:|---:|---:|"]
    for c in plan.choices:
        gross = sum(e.calls * (e.cost_before - e.cost_after) for e in c.effects)
        lines.append(f"| {c.candidate.label()} | {len(c.effects)} | {gross:,.0f} | "
                     f"{c.rows_written:,.0f} | {c.hot_updates_lost:,.0f} | "
                     f"{c.write_overhead:,.0f} |")
    lines += ["", f"Calls-weighted relative cost of the SELECTs: {after / max(before, 1e-9):.1%} "
              f"({before:,.0f} -> {after:,.0f} cost units); write overhead charged: "
              f"{overhead:,.0f} cost units = {overhead / max(saved, 1e-9):.2%} of the saving."]
    for label, why in plan.rejected:
        if "write overhead" in why:
            lines.append(f"- rejected for write overhead: {label}")
    return lines


# --- main ------------------------------------------------------------------------------------
def table(rows: Sequence[Row]) -> list[str]:
    out = ["| configuration | budget | relative cost | reference (Extend) | indexes | "
           "size (HypoPG) | advisor time |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        budget = f"{r.budget_mb:g} MB" if r.budget_mb is not None else "-"
        ref = f"{r.reference:.1%}" if r.reference is not None else ""
        secs = f"{r.seconds:.1f} s" if r.seconds is not None else ""
        out.append(f"| {r.name}{' ' + r.note if r.note else ''} | {budget} | {r.relative:.1%} "
                   f"| {ref} | {r.indexes} | {r.size_bytes / MB:,.1f} MB | {secs} |")
    return out


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (f"{os.cpu_count()} x {cpu}, {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


@contextlib.contextmanager
def server_for(args: argparse.Namespace) -> Iterator[tuple[str, ThrowawayServer | None]]:
    if args.dsn:
        yield args.dsn, None
        return
    bin_dir = Path(args.bin_dir) if args.bin_dir else next(
        (d for d in system_bin_dirs() if d.parent.name == "15"), None)
    if bin_dir is None:
        raise SystemExit("needs Debian's PostgreSQL 15 with HypoPG: apt-get install "
                         "postgresql-15 postgresql-15-hypopg (or --bin-dir / --dsn)")
    with ThrowawayServer(bin_dir, settings=SETTINGS) as server:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield server.dsn(DATABASE), server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", help="a server where the TPC-H tables are (or will be) loaded")
    parser.add_argument("--bin-dir", help="PostgreSQL 15 binaries with HypoPG")
    parser.add_argument("--data-dir", default=str(DATA))
    parser.add_argument("--budgets", default=",".join(str(b) for b in BUDGETS_MB),
                        help="MB, comma-separated")
    parser.add_argument("--runs", type=int, default=2, help="executions of each query")
    parser.add_argument("--timeout", type=int, default=180,
                        help="seconds per query run before it is retried with "
                        "enable_nestloop = off")
    parser.add_argument("--tuned", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the advisor with the bench's tuned options (TUNED) "
                             "beside the defaults")
    parser.add_argument("--time-limit", type=float, default=1800.0,
                        help="the tuned runs' time limit per budget, seconds (the defaults "
                             "use pgsage's own)")
    parser.add_argument("--real-budget", type=float, default=500.0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--skip-oltp", action="store_true")
    parser.add_argument("--oltp-seconds", type=float, default=60.0)
    parser.add_argument("--reload", action="store_true", help="reload even if loaded (--dsn)")
    parser.add_argument("--reuse-workload", action="store_true",
                        help="with --dsn: keep what pg_stat_statements already holds")
    parser.add_argument("--json", help="write every row (with per-query ratios) here")
    args = parser.parse_args(argv)
    budgets = [float(b) for b in args.budgets.split(",") if b]
    started = time.perf_counter()
    report: list[str] = [f"Machine: {machine()}. Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."]

    texts = tpch_data(Path(args.data_dir), 1)
    queries = [Query(n, postgres_text(t)) for n, t in texts.items() if n not in EXCLUDED]
    with server_for(args) as (dsn, server):
        if server is not None or args.reload or not loaded(dsn):
            say("loading TPC-H into PostgreSQL ...")
            load(dsn, Path(args.data_dir))
        with psycopg.connect(dsn, autocommit=True) as conn:
            version = conn.execute("SELECT version()").fetchone()
            hypopg = conn.execute("SELECT extversion FROM pg_extension "
                                  "WHERE extname = 'hypopg'").fetchone()
        report.append(f"Server: {version[0] if version else '?'}; HypoPG "
                      f"{hypopg[0] if hypopg else '?'}.")
        query_ids(dsn, queries)
        if not (args.dsn and args.reuse_workload):
            say(f"running the {len(queries)} queries {args.runs} time(s) each ...")
            run_workload(dsn, queries, args.runs, args.timeout)
        timed_out = [q for q in queries if q.timed_out]
        report.append("Workload: " + ", ".join(
            f"Q{q.number} {statistics.median(q.seconds):.1f} s" for q in queries if q.seconds)
            + (f"; timed out: {', '.join(f'Q{q.number}' for q in timed_out)}"
               if timed_out else "") + ".")
        slow = [f"Q{q.number}" for q in queries if q.fallback]
        if slow:
            report.append(f"Ran past {args.timeout} s and were run with enable_nestloop = off "
                          f"(same query id): {', '.join(slow)}.")
        model = snapshot_model(dsn)
        by_id = {q.queryid: q for q in queries}
        statements = [model.workload.statements[q.queryid] for q in queries
                      if q.queryid in model.workload.statements]
        missing = [f"Q{q.number}" for q in queries if q.queryid not in model.workload.statements]
        if missing:
            report.append(f"Not in the workload model: {', '.join(missing)}.")
        costing = Costing(dsn)
        base = costing.workload(queries)
        rows = [Row("no index", None, 1.0, 0, 0, None, per_query={n: 1.0 for n in base})]
        plans: dict[float, IndexPlan] = {}
        runs: list[tuple[str, float | None, dict[str, Any]]] = [
            ("pgsage defaults", None, {})]
        if args.tuned:
            runs.append(("pgsage tuned (" + ", ".join(f"{k}={v}" for k, v in TUNED.items())
                         + ")", args.time_limit, TUNED))
        for budget in budgets:
            for name, limit, extra in runs:
                say(f"advising at {budget:g} MB: {name} ...")
                plan = advise(dsn, model, budget, limit, **extra)
                if not extra:
                    plans[budget] = plan
                used = sum(c.size_bytes for c in plan.choices)
                if used > budget * MB:
                    raise SystemExit(f"BUDGET EXCEEDED at {budget:g} MB: {used} bytes")
                row = measure(costing, queries, base, name,
                              [c.candidate for c in plan.choices], budget, plan.elapsed_s,
                              reference=REFERENCE.get(int(budget)))
                stopped = f", {plan.stopped_by}" if plan.stopped_by else ""
                row.note = f"({plan.explains} EXPLAINs{stopped})"
                rows.append(row)
                say("  " + table([row])[-1])
                for c in plan.choices:
                    helps = ", ".join(f"Q{by_id[q].number}" for q in c.queryids if q in by_id)
                    say(f"    {c.candidate.label()}  {c.size_bytes / MB:.1f} MB  helps {helps}")
        if not args.skip_baselines:
            say("baselines ...")
            rows.append(measure(costing, queries, base, "one index per predicate column",
                                one_column(statements)))
            generic = GenericCosting(dsn)
            try:
                t0 = time.perf_counter()
                dexter = dexter_like(generic, statements)
                rows.append(measure(costing, queries, base, "Dexter-like (best index per "
                                    "statement, >= 50% saving)", dexter,
                                    seconds=time.perf_counter() - t0))
                t0 = time.perf_counter()
                supa = supabase_like(generic, statements, model)
                rows.append(measure(costing, queries, base, "Supabase index_advisor method "
                                    "(one-column, per statement)", supa,
                                    seconds=time.perf_counter() - t0))
            finally:
                generic.close()
            rows.append(measure(costing, queries, base, "all one- and two-column candidates",
                                one_and_two_columns(statements), reference=REFERENCE_ALL_2COL))
        costing.close()
        report += ["", *table(rows)]
        say("\n".join(report))
        if args.json:
            Path(args.json).write_text(json.dumps([r.__dict__ for r in rows], indent=1,
                                                  default=str))
        if not args.skip_real and args.real_budget in plans:
            say(f"creating the {args.real_budget:g} MB choice for real and timing ...")
            report += ["", f"Real indexes at {args.real_budget:g} MB (median of {args.repeat} "
                       "runs after a warm-up):", "",
                       *real_check(dsn, queries, plans[args.real_budget], args.repeat,
                                   args.timeout)]
        if not args.skip_oltp and server is not None:
            say("OLTP: the demo shop ...")
            report += ["", "OLTP (the demo's shop, default advisor options):", "",
                       *oltp(server, args.oltp_seconds)]
    report.append(f"\nTotal bench time {time.perf_counter() - started:.0f} s.")
    say("\n" + "\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
