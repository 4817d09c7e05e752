"""The index advisor on real servers: seeded problems found with runnable SQL, quiet when healthy.

PostgreSQL 15 from Debian has HypoPG (what-if proof); the embedded 18 has not (estimates).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from conftest import PgDatabase

from pgsage.analyzer.engine import config
from pgsage.analyzer.engine.pipeline import analyze_live, indexes_live
from pgsage.analyzer.model.findings import Recommendation
from pgsage.analyzer.model.index_plan import AdvisorOptions

SHOP = """
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL,
                    deleted_at timestamptz, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     user_id bigint NOT NULL REFERENCES users, status text NOT NULL,
                     created_at timestamptz NOT NULL, total numeric NOT NULL);
INSERT INTO users (email, deleted_at)
  SELECT 'user' || i || '@example.org', CASE WHEN i % 10 = 0 THEN now() END
    FROM generate_series(1, 20000) i;
INSERT INTO orders (user_id, status, created_at, total)
  SELECT 1 + (i::bigint * 7919) % 20000, (ARRAY['pending', 'paid', 'shipped'])[1 + i % 3],
         now() - make_interval(mins => i), i % 100
    FROM generate_series(1, 120000) i;
ANALYZE;
"""


def seed(pg: PgDatabase, schema: str, hypopg: bool) -> None:
    pg.execute(schema)
    if hypopg:
        pg.execute("CREATE EXTENSION hypopg")
    pg.execute("SELECT pg_stat_statements_reset()")


def run(pg: PgDatabase, statements: list[tuple[str, tuple[object, ...]]], times: int = 40) -> None:
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for i in range(times):
            for sql, params in statements:
                conn.execute(sql.encode(), tuple(p(i) if callable(p) else p for p in params))


def creates(report_recs: list[Recommendation]) -> list[Recommendation]:
    """Every index the report proposes, also those grouped into one finding."""
    return [m for r in report_recs if r.rule == "IX001" for m in (r.members or (r,))]


@pytest.fixture
def hypopg(pg: PgDatabase) -> Iterator[bool]:
    yield pg.server.has_extension("hypopg")


def test_an_unindexed_column_the_workload_filters_on_gets_an_index(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, SHOP, hypopg)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s", (lambda i: i,))])
    report = analyze_live(pg.dsn, config.load(env={}))
    found = creates(report.recommendations)
    assert [r.object.columns for r in found] == [("user_id",)]
    assert found[0].impact["confidence"] == ("what-if" if hypopg else "estimate")
    assert found[0].impact["cost_after"] < found[0].impact["cost_before"]


def test_the_foreign_key_and_the_workload_index_are_one_finding_not_two(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, SHOP, hypopg)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s", (lambda i: i,))])
    report = analyze_live(pg.dsn, config.load(env={}))
    about_user_id = [r for r in report.recommendations
                     if r.object.table == "orders" and r.object.columns == ("user_id",)]
    assert len(about_user_id) == 1


@pytest.mark.hypopg
def test_equality_then_sort_with_limit_gets_a_composite_that_provides_the_order(
        pg: PgDatabase) -> None:
    seed(pg, SHOP, True)
    pg.execute("CREATE INDEX ON orders (user_id)")
    run(pg, [("SELECT * FROM orders WHERE status = %s ORDER BY created_at DESC LIMIT 20",
              ("pending",))])
    report = analyze_live(pg.dsn, config.load(env={}))
    found = creates(report.recommendations)
    # All keys descending: the ascending index, scanned backwards, gives that order.
    assert found and found[0].object.columns == ("status", "created_at")


def test_a_function_over_a_column_gets_an_expression_index(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, SHOP, hypopg)
    run(pg, [("SELECT id FROM users WHERE lower(email) = %s", (lambda i: f"user{i}@x",))])
    report = analyze_live(pg.dsn, config.load(env={}))
    found = creates(report.recommendations)
    assert [r.object.columns for r in found] == [("lower(email)",)]
    assert "((lower(email)))" in (found[0].action.sql if found[0].action else "")


@pytest.mark.hypopg
def test_an_is_null_filter_most_calls_share_gets_a_partial_index(pg: PgDatabase) -> None:
    seed(pg, SHOP, True)
    run(pg, [("SELECT * FROM users WHERE deleted_at IS NULL AND created_at > %s "
              "ORDER BY created_at LIMIT 20", ("2000-01-01",))])
    report = analyze_live(pg.dsn, config.load(env={}))
    sql = " ".join(r.action.sql for r in creates(report.recommendations) if r.action and
                   r.action.sql)
    assert 'WHERE deleted_at IS NULL' in sql


@pytest.mark.pg
def test_jsonb_containment_and_infix_search_get_gin_indexes(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, """
        CREATE TABLE docs (id bigint PRIMARY KEY, title text NOT NULL, attrs jsonb NOT NULL);
        INSERT INTO docs SELECT i, 'document ' || md5(i::text),
                                jsonb_build_object('kind', i % 500, 'owner', i % 1000)
          FROM generate_series(1, 100000) i;
        ANALYZE;
    """, hypopg)
    run(pg, [("SELECT id FROM docs WHERE attrs @> %s::jsonb", ('{"kind": 7}',)),
             ("SELECT id FROM docs WHERE title ILIKE %s", ("%abc%",))], times=150)
    report = analyze_live(pg.dsn, config.load(env={}))
    gin = {r.object.columns: r for r in creates(report.recommendations)
           if r.action and "USING gin" in (r.action.sql or "")}
    assert set(gin) == {("attrs",), ("title",)}
    trigram = gin[("title",)].action
    assert trigram and (trigram.sql or "").startswith(
        'CREATE EXTENSION IF NOT EXISTS pg_trgm;')
    for r in gin.values():
        assert r.impact["confidence"] == "estimate" and r.severity.rank <= 2


@pytest.mark.pg
def test_the_generated_sql_runs_for_hostile_identifiers(pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, 'CREATE SCHEMA "My Schema";'
             'CREATE TABLE "My Schema"."Order; Items" ("select" int, "Weird ""Col""" int);'
             'INSERT INTO "My Schema"."Order; Items"'
             ' SELECT i, i % 5000 FROM generate_series(1, 100000) i; ANALYZE;', hypopg)
    run(pg, [('SELECT * FROM "My Schema"."Order; Items" WHERE "Weird ""Col""" = %s',
              (lambda i: i,))])
    report = analyze_live(pg.dsn, config.load(env={}))
    found = creates(report.recommendations)
    assert found and found[0].action and found[0].action.sql
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for statement in found[0].action.sql.split(";\n"):
            if statement.strip() and not statement.lstrip().startswith("--"):
                conn.execute(statement.encode())
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'My Schema'"
                            ).fetchone() == (1,)
        assert found[0].action.undo_sql
        conn.execute(found[0].action.undo_sql.encode())


def test_a_healthy_well_indexed_database_gets_no_index_changes(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, SHOP + """
        CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at DESC);
        CREATE INDEX users_lower_email_idx ON users (lower(email));
        ANALYZE;
    """, hypopg)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s ORDER BY created_at DESC LIMIT 10",
              (lambda i: i,)),
             ("SELECT id FROM users WHERE lower(email) = %s", (lambda i: f"user{i}@x",)),
             ("SELECT * FROM users WHERE id = %s", (lambda i: i + 1,))])
    report = analyze_live(pg.dsn, config.load(env={}))
    index_findings = [r for r in report.recommendations if r.category.value == "index"
                      and r.severity.rank >= 1]
    assert index_findings == []


def test_pgsage_indexes_explains_its_reasoning_and_respects_the_budget(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, SHOP, hypopg)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s", (lambda i: i,)),
             ("SELECT id FROM users WHERE lower(email) = %s", (lambda i: f"user{i}@x",))])
    report = indexes_live(pg.dsn, config.load(env={}), AdvisorOptions(budget_bytes=1))
    plan = report.sections["index_plan"]
    assert plan["method"] == ("hypopg" if hypopg else "estimate")
    assert plan["chosen"] == []
    assert any("budget" in r["reason"] for r in plan["rejected"])
    assert {r.category.value for r in report.recommendations} <= {"index"}


@pytest.mark.hypopg
def test_explain_shows_the_plan_before_and_after_for_one_statement(pg: PgDatabase) -> None:
    seed(pg, SHOP, True)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s", (lambda i: i,))])
    queryid = pg.fetch("SELECT queryid FROM pg_stat_statements "
                       "WHERE query LIKE 'SELECT * FROM orders WHERE user_id%'")[0][0]
    report = indexes_live(pg.dsn, config.load(env={}), AdvisorOptions(), explain=int(queryid))
    shown = report.sections["explain"]
    assert "Seq Scan on orders" in shown["before"]["tree"]
    assert "btree_orders_user_id" in shown["after"]["tree"]
    assert shown["after"]["total_cost"] < shown["before"]["total_cost"]


@pytest.mark.hypopg
def test_what_if_leaves_nothing_behind_in_the_database(pg: PgDatabase) -> None:
    seed(pg, SHOP, True)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s", (lambda i: i,))])
    before = pg.fetch("SELECT count(*) FROM pg_class")
    analyze_live(pg.dsn, config.load(env={}))
    assert pg.fetch("SELECT count(*) FROM pg_class") == before
    assert pg.fetch("SELECT count(*) FROM pg_prepared_statements") == [(0,)]


CATALOG_STATE = """
SELECT c.relname, c.relkind, pg_get_indexdef(c.oid) AS indexdef, i.indisvalid
  FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid
 WHERE c.relnamespace = 'public'::regnamespace
 ORDER BY c.relname
"""


def run_script(pg: PgDatabase, sql: str) -> None:
    """Each statement of an action on its own (CONCURRENTLY refuses a transaction block)."""
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for statement in sql.split(";\n"):
            if statement.strip():
                conn.execute(statement.encode())


def test_proposed_names_are_new_in_the_schema_and_every_action_undoes_exactly_itself(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, SHOP + """
        -- The names the generator would choose, already taken by other relations.
        CREATE INDEX orders_user_id_idx ON orders (status);
        CREATE VIEW users_expr_idx AS SELECT 1 AS one;
        CREATE SEQUENCE users_expr_idx_2;
        CREATE INDEX orders_status_idx ON orders (status);
        ANALYZE;
    """, hypopg)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s", (lambda i: i,)),
             ("SELECT id FROM users WHERE lower(email) = %s", (lambda i: f"user{i}@x",)),
             ("SELECT id FROM users WHERE upper(email) = %s", (lambda i: f"USER{i}@X",)),
             ("SELECT * FROM orders WHERE status = %s ORDER BY created_at DESC LIMIT 20",
              ("pending",))])
    before = pg.fetch(CATALOG_STATE)
    taken = {row[0] for row in before}
    report = analyze_live(pg.dsn, config.load(env={}))
    actions = [r.action for r in creates(report.recommendations) if r.action]
    names = [r.object.index for r in creates(report.recommendations)]
    assert len(actions) >= 3
    assert len(set(names)) == len(names) and not set(names) & taken
    for action in actions:
        assert action.sql and action.undo_sql
        run_script(pg, action.sql)
        assert pg.fetch(CATALOG_STATE) != before
        run_script(pg, action.undo_sql)
        assert pg.fetch(CATALOG_STATE) == before


@pytest.mark.hypopg
@pytest.mark.parametrize("order", ["2 DESC", "created DESC"])
def test_order_by_a_position_or_an_alias_gets_the_index_that_provides_the_order(
        pg: PgDatabase, order: str) -> None:
    seed(pg, SHOP, True)
    run(pg, [(f"SELECT id, created_at AS created FROM orders WHERE status = %s "
              f"ORDER BY {order} LIMIT 20", ("pending",))])
    report = analyze_live(pg.dsn, config.load(env={}))
    found = creates(report.recommendations)
    assert found and found[0].object.columns[:2] == ("status", "created_at")


def test_an_update_and_delete_only_workload_gets_the_index_their_where_clauses_need(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, SHOP, hypopg)
    run(pg, [("UPDATE orders SET total = total + 1 WHERE user_id = %s", (lambda i: i,)),
             ("DELETE FROM orders WHERE user_id = %s AND total < %s", (lambda i: -i, 0))])
    report = analyze_live(pg.dsn, config.load(env={}))
    found = creates(report.recommendations)
    assert [r.object.columns[:1] for r in found] == [("user_id",)]
    assert len(found[0].impact["queryids"]) == 2
    # The write it costs is counted on the same statements' table.
    assert found[0].evidence["rows_written"] > 0
    assert pg.fetch("SELECT count(*) FROM orders") == [(120000,)]


@pytest.mark.hypopg
def test_an_or_across_two_columns_gets_both_indexes_for_a_bitmap_or(pg: PgDatabase) -> None:
    seed(pg, SHOP, True)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s OR created_at = %s",
              (lambda i: i, "2001-01-01"))])
    report = analyze_live(pg.dsn, config.load(env={}))
    found = creates(report.recommendations)
    assert sorted(r.object.columns for r in found) == [("created_at",), ("user_id",)]
    for r in found:
        assert r.impact["cost_after"] < r.impact["cost_before"] / 10


@pytest.mark.hypopg
def test_no_chosen_index_is_a_prefix_of_another_and_each_is_credited_with_its_own_saving(
        pg: PgDatabase) -> None:
    seed(pg, SHOP, True)
    run(pg, [("SELECT * FROM orders WHERE user_id = %s", (lambda i: i,)),
             ("SELECT * FROM orders WHERE user_id = %s AND status = %s",
              (lambda i: i, "paid")),
             ("SELECT * FROM orders WHERE user_id = %s ORDER BY created_at DESC LIMIT 5",
              (lambda i: i,)),
             ("SELECT id FROM orders WHERE user_id = %s AND created_at > %s",
              (lambda i: i, "2001-01-01"))])
    report = indexes_live(pg.dsn, config.load(env={}), AdvisorOptions(min_improvement=0.0))
    found = creates(report.recommendations)
    keys = [r.object.columns for r in found]
    assert found
    for a in keys:
        for b in keys:
            assert a == b or a != b[: len(a)], f"{a} is a prefix of {b}"
    for r in found:
        assert r.impact["cost_after"] < r.impact["cost_before"]


def test_a_statement_over_a_view_gets_the_index_on_the_base_table_it_filters(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, SHOP + """
        CREATE VIEW paid_orders AS
          SELECT o.id, o.user_id AS buyer, o.total FROM orders o WHERE o.status = 'paid';
        CREATE MATERIALIZED VIEW order_totals AS
          SELECT user_id, sum(total) AS total FROM orders GROUP BY user_id;
        ANALYZE;
    """, hypopg)
    run(pg, [("SELECT * FROM paid_orders WHERE buyer = %s", (lambda i: i,)),
             ("SELECT total FROM order_totals WHERE user_id = %s", (lambda i: i,))])
    report = analyze_live(pg.dsn, config.load(env={}))
    found = {(r.object.table, r.object.columns[0]) for r in creates(report.recommendations)
             if r.object.columns}
    assert ("orders", "user_id") in found
    assert ("order_totals", "user_id") in found


PARTITIONED = """
CREATE TABLE events (id bigint NOT NULL, account_id bigint NOT NULL, kind text NOT NULL,
                     created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
CREATE TABLE events_2024 PARTITION OF events
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY LIST (kind);
CREATE TABLE events_2025_a PARTITION OF events_2025 FOR VALUES IN ('a');
CREATE TABLE events_2025_b PARTITION OF events_2025 DEFAULT;
INSERT INTO events
  SELECT i, i % 5000, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END,
         timestamptz '2024-01-01' + make_interval(mins => i * 5)
    FROM generate_series(1, 200000) i;
ANALYZE;
"""


@pytest.mark.pg
def test_a_partitioned_table_gets_its_index_on_the_parent_built_partition_by_partition(
        pg: PgDatabase, hypopg: bool) -> None:
    seed(pg, PARTITIONED, hypopg)
    run(pg, [("SELECT * FROM events WHERE account_id = %s", (lambda i: i,))])
    before = pg.fetch(CATALOG_STATE)
    report = analyze_live(pg.dsn, config.load(env={}))
    [found] = [r for r in creates(report.recommendations) if r.object.table == "events"]
    assert found.object.columns == ("account_id",)
    assert found.impact["confidence"] == ("what-if" if hypopg else "estimate")
    action = found.action
    assert action and action.sql and action.undo_sql
    assert "ON ONLY public.events " in action.sql
    assert action.sql.count("CREATE INDEX CONCURRENTLY") == 3
    assert action.sql.count("ATTACH PARTITION") == 4
    run_script(pg, action.sql)
    built = pg.fetch("SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c "
                     "ON c.oid = i.indexrelid WHERE i.indrelid = 'events'::regclass")
    assert built == [(found.object.index, True)]
    run_script(pg, action.undo_sql)
    assert pg.fetch(CATALOG_STATE) == before


def test_full_text_search_with_a_normalized_configuration_gets_the_gin_index_it_can_use(
        pg: PgDatabase, hypopg: bool) -> None:
    if hypopg:
        pytest.skip("the what-if path does not judge this GIN candidate yet (issue 10)")
    seed(pg, """
        CREATE TABLE notes (id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL,
                            title_tsv tsvector GENERATED ALWAYS AS
                              (to_tsvector('english', title)) STORED);
        INSERT INTO notes (id, title, body)
          SELECT i, 'note ' || i, 'running words ' || md5(i::text)
            FROM generate_series(1, 60000) i;
        ANALYZE;
    """, hypopg)
    pg.execute("SELECT pg_stat_reset()")  # the load is not the workload: no write overhead
    query = "SELECT id FROM notes WHERE to_tsvector('english', body) @@ plainto_tsquery(%s)"
    run(pg, [(query, ("runs",))], times=60)
    assert pg.fetch("SELECT count(*) FROM pg_stat_statements "
                    "WHERE query LIKE '%to_tsvector($_, body)%'") == [(1,)]
    report = analyze_live(pg.dsn, config.load(env={}))
    [found] = [r for r in creates(report.recommendations) if r.object.table == "notes"]
    action = found.action
    assert action and action.sql
    assert "USING gin ((to_tsvector('english'::regconfig, body)))" in action.sql
    run_script(pg, action.sql)
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(("EXPLAIN " + query.replace("%s", "'runs'")).encode()).fetchall()
    assert any(found.object.index in str(row[0]) for row in plan)
