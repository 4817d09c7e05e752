"""Query, plan, partitioning, pooling and scaling rules on real servers, from real workloads.

Each test seeds its own database, runs a small workload the way an application would
(server-side parameters, so pg_stat_statements records `$1` placeholders), takes snapshots
through the same path as `pgsage analyze` (plans included), and where a finding carries
SQL, runs it and checks what it changed. Windows between two snapshots keep the counters
of other tests (and of DROP DATABASE's checkpoints) out of cluster-wide figures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from pgsage.analyzer.engine.config import Config, RulesConfig
from pgsage.analyzer.engine.pipeline import analyze, take_snapshot
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.analyzer.model.host import HostSpec
from pgsage.analyzer.model.snapshot import Snapshot

if TYPE_CHECKING:
    from conftest import PgDatabase

FAMILIES = ("query", "partitioning", "pooling", "scaling")


def config(*select: str, options: dict[str, dict[str, Any]] | None = None,
           cpus: int | None = None) -> Config:
    return Config(rules=RulesConfig(select=select or FAMILIES, options=options or {}),
                  host=HostSpec(cpus=cpus))


def report(pg: PgDatabase, cfg: Config, baseline: Snapshot | None = None,
           current: Snapshot | None = None) -> list[Recommendation]:
    result = analyze(current or take_snapshot(pg.dsn, cfg), cfg, baseline)
    assert not [n for n in result.notes if "failed" in n], result.notes
    return result.recommendations


def of(found: list[Recommendation], code: str) -> list[Recommendation]:
    return [f for f in found if f.rule == code]


def run_each(dsn: str, sql: str | None) -> None:
    """An action's statements one by one, as psql would run them."""
    assert sql
    with psycopg.connect(dsn, autocommit=True) as conn:
        for line in sql.splitlines():
            if line.strip() and not line.lstrip().startswith("--"):
                conn.execute(line.encode())


def repeat(dsn: str, sql: str, params: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for p in params:
            conn.execute(sql.encode(), p).fetchall() if sql.lstrip().upper().startswith(
                "SELECT") else conn.execute(sql.encode(), p)


def plan_text(dsn: str, sql: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(f"EXPLAIN {sql}".encode()).fetchall()
    return "\n".join(str(r[0]) for r in rows)


# --- a time series with range reads and retention deletes ----------------------------------

# 200,000 rows 26 s apart end 14 hours ago: a series reaching past now would cross the
# next partition's bound whenever the test runs close to midnight UTC.
TIME_SERIES = """
CREATE TABLE events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL,
                     user_id int NOT NULL, payload text);
INSERT INTO events (created_at, user_id, payload)
  SELECT now() - interval '61 days' + i * interval '26 seconds', i % 500, repeat('x', 60)
    FROM generate_series(1, 200000) i;
CREATE INDEX events_created_at_idx ON events (created_at);
ANALYZE events;
"""


def test_time_series_gets_range_partitioning_and_the_migration_runs(pg: PgDatabase) -> None:
    pg.execute(TIME_SERIES)
    repeat(pg.dsn, "SELECT count(*) FROM events WHERE created_at >= now() - %s::interval "
                   "AND created_at < now() - %s::interval",
           [(f"{d + 1} days", f"{d} days") for d in range(30)])
    repeat(pg.dsn, "DELETE FROM events WHERE created_at < now() - %s::interval",
           [("59 days",), ("58 days",)])
    before = pg.fetch("SELECT count(*) FROM events")[0][0]
    cfg = config("PT001", options={"PT001": {"min_bytes": 1024**2}})
    found = of(report(pg, cfg), "PT001")
    assert len(found) == 1, found
    f = found[0]
    assert f.severity is Severity.MEDIUM
    assert f.object.columns == ("created_at",)
    assert f.evidence["retention_calls"] >= 1 and f.evidence["correlation"] > 0.9
    assert f.action is not None
    run_each(pg.dsn, f.action.sql)
    run_each(pg.dsn, "\n".join(f.evidence["migration_sql"]))
    assert pg.fetch("SELECT relkind FROM pg_class WHERE relname = 'events'")[0][0] == "p"
    assert pg.fetch("SELECT count(*) FROM events")[0][0] == before
    parts = pg.fetch("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")
    assert parts[0][0] >= 2
    pg.execute("INSERT INTO events (created_at, user_id) VALUES (now(), 1)")  # still writable


# --- an application holding idle and idle-in-transaction connections ------------------------

@pytest.fixture
def connections(pg: PgDatabase) -> Iterator[list[psycopg.Connection[Any]]]:
    opened: list[psycopg.Connection[Any]] = []
    try:
        for i in range(24):
            conn = psycopg.connect(pg.dsn + " application_name=shop-api")
            conn.execute("SELECT 1")
            if i < 8:
                conn.execute("SELECT txid_current()")  # BEGIN and leave it open
            else:
                conn.commit()
            opened.append(conn)
        yield opened
    finally:
        for conn in opened:
            conn.close()


def test_idle_connections_get_a_sized_pgbouncer(pg: PgDatabase,
                                                connections: list[Any]) -> None:
    found = of(report(pg, config("PL")), "PL001")
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.MEDIUM
    assert f.evidence["idle_in_transaction"] >= 8
    assert f.evidence["clients"] >= 24
    assert f.action is not None and f.action.shell is not None
    assert f"default_pool_size = {f.evidence['default_pool_size']}" in f.action.shell
    assert "pool_mode = transaction" in f.action.shell


# --- a read-dominated workload ---------------------------------------------------------------

def test_read_dominated_load_suggests_read_replicas(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE items (id int PRIMARY KEY, price int, name text);"
               "INSERT INTO items SELECT i, i % 1000, 'n' || i FROM generate_series(1, 60000) i;"
               "ANALYZE items;")
    cfg = config("SC001", cpus=1)
    baseline = take_snapshot(pg.dsn, cfg)
    stop = time.monotonic() + 2.5

    def reader() -> None:
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            while time.monotonic() < stop:
                conn.execute("SELECT count(*), avg(price) FROM items WHERE name LIKE %s",
                             ("n1%",)).fetchall()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for i in range(20):
            conn.execute("UPDATE items SET price = price + 1 WHERE id = %s", (i,))
    for t in threads:
        t.join()
    found = of(report(pg, cfg, baseline), "SC001")
    assert len(found) == 1
    assert found[0].evidence["read_share"] >= 0.8
    assert found[0].impact["queryids"]


# --- a statement that spills to disk ---------------------------------------------------------

def test_a_spilling_statement_gets_set_local_work_mem(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE big (id int, payload text);"
               "INSERT INTO big SELECT i, md5(i::text) || md5((i * 7)::text) "
               "FROM generate_series(1, 100000) i; ANALYZE big;"
               f"ALTER ROLE CURRENT_USER IN DATABASE \"{pg.name}\" SET work_mem = '64kB';")
    query = "SELECT id FROM big ORDER BY payload LIMIT %s"
    repeat(pg.dsn, query, [(50_000,)] * 6)
    found = of(report(pg, config("QY002")), "QY002")
    assert len(found) == 1
    f = found[0]
    assert f.action is not None and f.action.sql is not None
    assert f.action.sql.startswith("BEGIN;\nSET LOCAL work_mem = ")
    setting = f.action.sql.splitlines()[1]
    with psycopg.connect(pg.dsn) as conn:  # the advice, applied as the action says
        conn.execute(setting.encode())
        plan = "\n".join(r[0] for r in conn.execute(
            b"EXPLAIN (ANALYZE, FORMAT TEXT) SELECT id FROM big ORDER BY payload LIMIT 50000"))
    assert "external" not in plan and "Disk" not in plan, plan


# --- an N+1 loop -----------------------------------------------------------------------------

def test_an_n_plus_one_loop_is_found_with_its_parent(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE customers (id int PRIMARY KEY, name text);"
               "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, day date);"
               "INSERT INTO customers SELECT i, 'c' || i FROM generate_series(1, 2000) i;"
               "INSERT INTO orders SELECT i, 1 + i % 2000, current_date "
               "FROM generate_series(1, 1200) i; ANALYZE customers, orders;")
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT customer_id FROM orders WHERE day = %s",
                            (time.strftime("%Y-%m-%d"),)).fetchall()
        for (customer,) in rows:
            conn.execute("SELECT name FROM customers WHERE id = %s", (customer,)).fetchall()
    found = of(report(pg, config("QY003")), "QY003")
    assert len(found) == 1
    f = found[0]
    assert f.evidence["calls"] == 1200
    assert f.evidence["parent_queryid"] is not None
    assert f.evidence["rewrite"] == "SELECT name FROM customers WHERE id = ANY($1)"


# --- lower(col) = ... on an indexed column ---------------------------------------------------

def test_lower_on_an_indexed_column_gets_an_expression_index(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
               "INSERT INTO users SELECT i, 'U' || i || '@example.com' "
               "FROM generate_series(1, 30000) i;"
               "CREATE INDEX users_email_idx ON users (email); ANALYZE users;")
    repeat(pg.dsn, "SELECT id FROM users WHERE lower(email) = %s",
           [(f"u{i}@example.com",) for i in range(40)])
    found = report(pg, config("QY004", "IX001"))
    qy = of(found, "QY004")
    assert len(qy) == 1
    if qy[0].action is not None:  # QY004's own index
        sql = qy[0].action.sql
    else:  # the index advisor proposes it, QY004 points there
        ix = [f for f in of(found, "IX001") if f.object.index == qy[0].evidence["index_advisor"]]
        assert ix and ix[0].action is not None
        sql = ix[0].action.sql
    assert sql is not None and "lower(email)" in sql
    run_each(pg.dsn, sql)
    pg.execute("ANALYZE users")
    assert "Seq Scan" not in plan_text(
        pg.dsn, "SELECT id FROM users WHERE lower(email) = 'u1@example.com'")


# --- correlated columns: estimates below what comes back -------------------------------------

def test_correlated_columns_get_extended_statistics(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE addresses (id int PRIMARY KEY, city text, zip text);"
               "INSERT INTO addresses SELECT i, 'city' || (i % 1000) / 10, 'zip' || i % 1000 "
               "FROM generate_series(1, 100000) i; ANALYZE addresses;")
    repeat(pg.dsn, "SELECT id FROM addresses WHERE city = %s AND zip = %s",
           [(f"city{z // 10}", f"zip{z}") for z in range(20)])
    found = of(report(pg, config("QY104")), "QY104")
    assert len(found) == 1
    f = found[0]
    assert f.evidence["returned_rows_per_call"] == 100
    assert f.evidence["estimated_rows"] < 10
    assert f.action is not None
    run_each(pg.dsn, f.action.sql)
    plan = plan_text(pg.dsn, "SELECT id FROM addresses WHERE city = 'city5' AND zip = 'zip55'")
    assert "rows=1 " not in plan


# --- a plan that changes when an index is dropped --------------------------------------------

def test_a_plan_that_changes_after_an_index_is_dropped(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE accounts (id int PRIMARY KEY, email text, note text);"
               "INSERT INTO accounts SELECT i, 'a' || i || '@x.org', repeat('n', 50) "
               "FROM generate_series(1, 100000) i;"
               "CREATE INDEX accounts_email_idx ON accounts (email); ANALYZE accounts;")
    lookup = "SELECT id, note FROM accounts WHERE email = %s"
    repeat(pg.dsn, lookup, [(f"a{i}@x.org",) for i in range(30)])
    cfg = config("QY105", "QY012")
    baseline = take_snapshot(pg.dsn, cfg)
    pg.execute("DROP INDEX accounts_email_idx")
    repeat(pg.dsn, lookup, [(f"a{i}@x.org",) for i in range(30)])
    found = report(pg, cfg, baseline)
    changed = of(found, "QY105")
    assert len(changed) == 1, [f.title for f in found]
    f = changed[0]
    assert f.evidence["plan_hash_before"] != f.evidence["plan_hash_now"]
    assert f.evidence["cost_now"] > f.evidence["cost_before"]
    assert f.evidence["indexes_gone"] == ["accounts_email_idx"]
    assert f.action is not None
    run_each(pg.dsn, f.action.sql)
    assert pg.fetch("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                    "'accounts_email_idx'::regclass")[0][0] is True
    assert of(found, "QY012")  # the same statement got slower at the same rows per call


# --- a healthy database ----------------------------------------------------------------------

def test_a_healthy_database_says_nothing_above_low(pg: PgDatabase) -> None:
    pg.execute("CREATE TABLE customers (id int PRIMARY KEY, email text UNIQUE, name text);"
               "CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL "
               "REFERENCES customers (id), total numeric, created_at timestamptz "
               "DEFAULT now());"
               "CREATE INDEX orders_customer_id_created_at_idx "
               "ON orders (customer_id, created_at);"
               "INSERT INTO customers SELECT i, 'c' || i || '@x.org', 'n' || i "
               "FROM generate_series(1, 5000) i;"
               "INSERT INTO orders SELECT i, 1 + i % 5000, i, now() "
               "FROM generate_series(1, 20000) i; ANALYZE customers, orders;")
    cfg = config()
    baseline = take_snapshot(pg.dsn, cfg)
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for i in range(1, 300):
            conn.execute("SELECT name FROM customers WHERE id = %s", (i,)).fetchall()
            conn.execute("SELECT id, total FROM orders WHERE customer_id = %s "
                         "ORDER BY created_at DESC LIMIT 10", (i,)).fetchall()
            if i % 10 == 0:
                conn.execute("INSERT INTO orders (id, customer_id, total) VALUES (%s, %s, 1)",
                             (100_000 + i, i))
    found = report(pg, cfg, baseline)
    loud = [(f.rule, f.severity.value, f.title) for f in found if f.severity.rank > 1]
    assert loud == []
