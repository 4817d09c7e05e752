"""Query rules (QY) on small models: each rule fires on its pattern and stays quiet without it.

Statements are real texts parsed by the workload model; plans are EXPLAIN (FORMAT JSON)
trees built with `plan_node`. The index advisor's plan is pinned (`advised`) where a rule
defers to it, so these tests do not depend on the advisor's estimates.
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import (
    NOW,
    make_column,
    make_index,
    make_model,
    make_pkey,
    make_plan,
    make_setting,
    make_snapshot,
    make_statement,
    make_table,
    plan_node,
)

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.analyzer.model.index_plan import (
    Candidate,
    IndexChoice,
    IndexKey,
    IndexPlan,
    StatementEffect,
)
from pgsage.analyzer.model.workload import Catalog, TableRef, describe
from pgsage.rules import REGISTRY, build_options
from pgsage.rules.query.count_star import counted_tables
from pgsage.rules.query.large_offset import offsets
from pgsage.rules.query.not_in_subquery import negates_in_subquery
from pgsage.rules.query.or_across_columns import ors_across_columns
from pgsage.rules.query.order_by_random import orders_by_random


def run(code: str, model: Model, **options: Any) -> list[Recommendation]:
    rule = REGISTRY[code]
    opts, errors = build_options(rule, options)
    assert not errors
    return list(rule.check(model, opts))


def advised(model: Model, *choices: IndexChoice) -> Model:
    """Pin the index advisor's plan (IX001) to these choices."""
    model.index_plan = IndexPlan("hypopg", choices=list(choices))
    return model


def choice(table: Any, keys: tuple[IndexKey, ...], queryid: int, name: str) -> IndexChoice:
    ref = TableRef(table.relid, table.schema, table.name)
    return IndexChoice(Candidate(ref, keys), name, 8192,
                       [StatementEffect(queryid, 10, 100.0, 1.0, "")], 1.0, 0.0, 0.0, 0.0)


def stmt(queryid: int, text: str, calls: int = 100, ms: float = 100.0, rows: int = 100,
         **fields: Any) -> Any:
    return make_statement(queryid, text, calls, total_exec_time=ms, rows=rows, **fields)


# --- QY001 top statements --------------------------------------------------------------------

def test_top_statements_lists_the_largest_share_with_a_drill_down() -> None:
    model = make_model(statements=[stmt(1, "SELECT 1 FROM t", 100, 900.0, 100,
                                        shared_blks_hit=90, shared_blks_read=10),
                                   stmt(2, "SELECT 2 FROM t", 10, 100.0)])
    found = run("QY001", model)
    assert [f.evidence["queryid"] for f in found] == ["1", "2"]
    assert found[0].severity is Severity.LOW and found[1].severity is Severity.INFO
    assert found[0].evidence["cache_hit_ratio"] == 0.9
    assert found[0].evidence["share_of_time"] == 0.9


def test_top_statements_is_medium_only_when_one_statement_dominates_a_busy_window() -> None:
    before = make_snapshot(statements=[stmt(1, "SELECT 1 FROM t", 1, 1.0)], taken_at=NOW - 60)
    model = make_model(baseline=before,
                       statements=[stmt(1, "SELECT 1 FROM t", 1001, 30_001.0)])
    assert run("QY001", model)[0].severity is Severity.MEDIUM


def test_top_statements_says_nothing_on_an_idle_database_or_about_the_catalog() -> None:
    assert run("QY001", make_model(statements=[stmt(1, "SELECT 1 FROM t", 5, 5.0)])) == []
    model = make_model(statements=[stmt(1, "SELECT * FROM pg_catalog.pg_class", 10, 500.0)])
    assert run("QY001", model) == []


# --- QY002 temp spills -----------------------------------------------------------------------

def test_temp_spill_gives_the_statement_its_own_work_mem() -> None:
    model = make_model(settings=[make_setting("work_mem", "4096", "kB")],
                       statements=[stmt(1, "SELECT * FROM t ORDER BY x", 10, 5000.0,
                                        temp_blks_written=10_240)])  # 80 MB, 8 MB a call
    found = run("QY002", model)
    assert len(found) == 1
    assert found[0].action is not None and found[0].action.sql is not None
    assert "SET LOCAL work_mem = '16MB'" in found[0].action.sql
    assert found[0].severity is Severity.LOW


def test_temp_spill_ignores_small_spills_and_maintenance_commands() -> None:
    small = make_model(statements=[stmt(1, "SELECT * FROM t ORDER BY x", 10,
                                        temp_blks_written=100)])
    assert run("QY002", small) == []
    utility = make_model(statements=[stmt(1, "CREATE INDEX i ON t (x)", 10,
                                          temp_blks_written=100_000)])
    assert run("QY002", utility) == []


# --- QY003 N+1 -------------------------------------------------------------------------------

def n_plus_one_model(calls: int = 5000, rows: int = 5000, parent_calls: int = 10,
                     parent_rows: int = 5000) -> Model:
    customers = make_table("customers", rows=10_000)
    orders = make_table("orders", rows=100_000)
    return make_model(
        tables=[customers, orders], indexes=[make_pkey(customers), make_pkey(orders)],
        statements=[stmt(1, "SELECT id, name FROM customers WHERE id = $1", calls, 900.0, rows),
                    stmt(2, "SELECT customer_id FROM orders WHERE day = $1", parent_calls,
                         50.0, parent_rows)],
        data={"columns": [make_column(customers, "id"), make_column(customers, "name", "text"),
                          make_column(orders, "id"), make_column(orders, "customer_id"),
                          make_column(orders, "day", "date")]})


def test_n_plus_one_names_the_loop_its_parent_and_the_batched_rewrite() -> None:
    found = run("QY003", n_plus_one_model())
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.MEDIUM
    assert f.evidence["parent_queryid"] == "2"
    assert f.evidence["rewrite"] == "SELECT id, name FROM customers WHERE id = ANY($1)"
    assert f.object.columns == ("id",)


def test_n_plus_one_is_found_whatever_each_lookup_returns() -> None:
    """A list of 5,000 orders and one lookup of each order's 8 lines: still the loop."""
    found = run("QY003", n_plus_one_model(calls=5000, rows=40_000))
    assert [f.evidence["parent_queryid"] for f in found] == ["2"]
    assert found[0].evidence["rows_per_call"] == 8.0


def test_n_plus_one_needs_many_calls() -> None:
    assert run("QY003", n_plus_one_model(calls=100, rows=100, parent_rows=100)) == []


def test_a_hot_lookup_whose_calls_track_no_list_is_not_an_n_plus_one() -> None:
    """The parent returned 50,000 rows: 5,000 lookups are not one per row of it."""
    assert run("QY003", n_plus_one_model(parent_rows=50_000)) == []


def test_pgbench_tpcb_account_lookups_are_not_an_n_plus_one() -> None:
    """TPC-B: every statement runs once per transaction; the one-row SELECT's calls equal
    the other statements' calls and rows, but none of them returns a list."""
    tables = {name: make_table(name, rows=100_000) for name in
              ("pgbench_accounts", "pgbench_tellers", "pgbench_branches", "pgbench_history")}
    n = 60_000
    model = make_model(
        tables=list(tables.values()),
        indexes=[make_pkey(tables[t], (t.removeprefix("pgbench_")[:-1] + "id",))
                 for t in ("pgbench_accounts", "pgbench_tellers", "pgbench_branches")],
        statements=[
            stmt(1, "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
                 n, 3000.0, n),
            stmt(2, "SELECT abalance FROM pgbench_accounts WHERE aid = $1", n, 900.0, n),
            stmt(3, "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2",
                 n, 3000.0, n),
            stmt(4, "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2",
                 n, 3000.0, n),
            stmt(5, "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
                    "VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)", n, 600.0, n)],
        data={"columns": [make_column(tables["pgbench_accounts"], "aid"),
                          make_column(tables["pgbench_accounts"], "abalance")]})
    assert run("QY003", model) == []


def test_sysbench_point_selects_are_not_a_loop_over_its_range_reads() -> None:
    """oltp_read_write: ten point selects per transaction, each range query once per
    transaction returning 100 rows. The point selects' calls are a multiple of the range
    queries' calls but track none of their rows."""
    sbtest = make_table("sbtest1", rows=100_000)
    t = 10_000
    model = make_model(
        tables=[sbtest], indexes=[make_pkey(sbtest), make_index(sbtest, columns=("k",))],
        statements=[stmt(1, "SELECT c FROM sbtest1 WHERE id=$1", 10 * t, 900.0, 10 * t),
                    stmt(2, "SELECT c FROM sbtest1 WHERE id BETWEEN $1 AND $2", t, 300.0,
                         100 * t),
                    stmt(3, "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN $1 AND $2", t, 300.0,
                         t),
                    stmt(4, "SELECT c FROM sbtest1 WHERE id BETWEEN $1 AND $2 ORDER BY c", t,
                         300.0, 100 * t)],
        data={"columns": [make_column(sbtest, "id"), make_column(sbtest, "k", attnum=2),
                          make_column(sbtest, "c", "text", attnum=3)]})
    assert run("QY003", model) == []


# --- QY004 non-sargable ----------------------------------------------------------------------

def users(rows: int = 200_000) -> Any:
    return make_table("users", rows=rows)


def test_function_on_an_indexed_column_proposes_the_expression_index() -> None:
    t = users()
    model = advised(make_model(
        tables=[t], indexes=[make_index(t, "users_email_idx", ("email",))],
        statements=[stmt(1, "SELECT * FROM users WHERE lower(email) = $1", 500, 5000.0, 500)],
        data={"columns": [make_column(t, "email", "text")]}))
    found = run("QY004", model)
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.MEDIUM
    assert f.action is not None and f.action.sql is not None
    assert "USING btree ((lower(email)))" in f.action.sql
    assert 'users_lower_email_idx' in f.action.sql


def test_non_sargable_defers_to_an_expression_index_ix001_proposes() -> None:
    t = users()
    model = advised(make_model(
        tables=[t], indexes=[make_index(t, "users_email_idx", ("email",))],
        statements=[stmt(1, "SELECT * FROM users WHERE lower(email) = $1", 500)],
        data={"columns": [make_column(t, "email", "text")]}),
        choice(t, (IndexKey("email", "lower(email)"),), 1, "users_lower_idx"))
    found = run("QY004", model)
    assert [(f.severity, f.action, f.evidence["index_advisor"]) for f in found] == [
        (Severity.INFO, None, "users_lower_idx")]


@pytest.mark.parametrize("case", ["expression index exists", "column not indexed", "small"])
def test_non_sargable_is_quiet_when_no_index_is_defeated(case: str) -> None:
    t = users(500 if case == "small" else 200_000)
    indexes = [make_index(t, "users_email_idx", ("email",))]
    if case == "expression index exists":
        indexes.append(make_index(t, "users_lower_email_idx", (None,),
                                  expressions="lower(email)"))
    if case == "column not indexed":
        indexes = []
    model = advised(make_model(
        tables=[t], indexes=indexes,
        statements=[stmt(1, "SELECT * FROM users WHERE lower(email) = $1", 500)],
        data={"columns": [make_column(t, "email", "text")]}))
    assert run("QY004", model) == []


# --- QY005 leading wildcard ------------------------------------------------------------------

def test_leading_wildcard_like_proposes_a_trigram_index() -> None:
    t = make_table("products", rows=50_000)
    model = advised(make_model(tables=[t], statements=[
        stmt(1, "SELECT * FROM products WHERE name LIKE '%phone%'", 20)],
        data={"columns": [make_column(t, "name", "text")]}))
    found = run("QY005", model)
    assert len(found) == 1
    sql = found[0].action.sql if found[0].action else ""
    assert "CREATE EXTENSION IF NOT EXISTS pg_trgm;" in (sql or "")
    assert "USING gin (name gin_trgm_ops)" in (sql or "")


def test_a_parameter_pattern_is_not_a_leading_wildcard() -> None:
    t = make_table("products", rows=50_000)
    model = advised(make_model(tables=[t], statements=[
        stmt(1, "SELECT * FROM products WHERE name LIKE $1", 20)],
        data={"columns": [make_column(t, "name", "text")]}))
    assert run("QY005", model) == []


# --- QY006 .. QY011 parse-tree anti-patterns -------------------------------------------------

def test_each_rule_finds_its_shape_in_the_statement() -> None:
    orders, users = TableRef(1, "public", "orders"), TableRef(2, "public", "users")
    catalog = Catalog(tables={("public", "orders"): orders, ("public", "users"): users},
                      columns={1: ["id", "user_id"], 2: ["id", "name", "email"]})
    st = describe(1, "SELECT * FROM users WHERE name = $1 OR email = $2 ORDER BY random() "
                     "OFFSET 5000", catalog)
    assert ors_across_columns(st) and orders_by_random(st) and offsets(st) == [5000]
    assert negates_in_subquery(describe(
        1, "SELECT * FROM users WHERE id NOT IN (SELECT user_id FROM orders)", catalog))
    assert counted_tables(describe(1, "SELECT count(*) FROM orders", catalog)) == {orders}
    quiet = describe(1, "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id "
                        "WHERE name = $1 OR name = $2 ORDER BY o.id", catalog)
    assert not (ors_across_columns(quiet) or orders_by_random(quiet) or offsets(quiet)
                or negates_in_subquery(quiet) or counted_tables(quiet))


def test_or_across_columns_names_the_unindexed_branch() -> None:
    t = users()
    model = make_model(tables=[t], indexes=[make_index(t, "users_email_idx", ("email",))],
                       statements=[stmt(1, "SELECT * FROM users WHERE email = $1 OR phone = $2",
                                        50, 1000.0)],
                       data={"columns": [make_column(t, "email", "text"),
                                         make_column(t, "phone", "text", 2)]})
    found = run("QY006", model)
    assert [f.evidence["unindexed"] for f in found] == [["phone"]]
    both = make_model(tables=[t], indexes=[make_index(t, "users_email_idx", ("email",)),
                                           make_index(t, "users_phone_idx", ("phone",))],
                      statements=[stmt(1, "SELECT * FROM users WHERE email = $1 OR phone = $2",
                                       50, 1000.0)],
                      data={"columns": [make_column(t, "email", "text"),
                                        make_column(t, "phone", "text", 2)]})
    assert run("QY006", both) == []


def test_not_in_subquery_is_reported_and_not_exists_is_not() -> None:
    bad = make_model(statements=[stmt(
        1, "SELECT * FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)")])
    good = make_model(statements=[stmt(1, "SELECT * FROM customers c WHERE NOT EXISTS "
                                          "(SELECT 1 FROM orders o WHERE o.customer_id = c.id)")])
    assert len(run("QY007", bad)) == 1
    assert run("QY007", good) == []


def test_large_offset_literal_and_slow_parameter_offset() -> None:
    literal = make_model(statements=[stmt(1, "SELECT * FROM events ORDER BY id LIMIT 20 "
                                             "OFFSET 100000", 10)])
    found = run("QY008", literal)
    assert [(f.severity, f.evidence["offset"]) for f in found] == [(Severity.LOW, 100_000)]
    slow = make_model(statements=[stmt(1, "SELECT * FROM events ORDER BY id LIMIT $1 "
                                          "OFFSET $2", 10, 1000.0, 200)])
    assert [f.severity for f in run("QY008", slow)] == [Severity.INFO]
    small = make_model(statements=[stmt(1, "SELECT * FROM events ORDER BY id LIMIT 20 "
                                           "OFFSET 40", 10)])
    assert run("QY008", small) == []


def test_select_star_on_a_wide_table() -> None:
    wide = make_table("documents", rows=1000)
    cols = [make_column(wide, f"c{i}", "text", i + 1) for i in range(25)]
    model = make_model(tables=[wide], statements=[
        stmt(1, "SELECT * FROM documents WHERE c1 = $1", 500)], data={"columns": cols})
    assert [f.severity for f in run("QY009", model)] == [Severity.INFO]
    narrow = make_table("documents", rows=1000)
    model = make_model(tables=[narrow], statements=[
        stmt(1, "SELECT * FROM documents WHERE c1 = $1", 500)],
        data={"columns": [make_column(narrow, "c1", "text")]})
    assert run("QY009", model) == []


def test_count_star_of_a_large_table_offers_the_estimate() -> None:
    t = make_table("events", rows=2_000_000)
    model = make_model(tables=[t], statements=[stmt(1, "SELECT count(*) FROM events", 20)])
    found = run("QY010", model)
    assert len(found) == 1
    assert found[0].action is not None
    assert found[0].action.sql == ("SELECT reltuples::bigint AS estimated_rows FROM pg_class "
                                   "WHERE oid = 'public.events'::regclass;")
    filtered = make_model(tables=[t], statements=[
        stmt(1, "SELECT count(*) FROM events WHERE kind = $1", 20)])
    assert run("QY010", filtered) == []


def test_order_by_random_over_a_large_table() -> None:
    t = make_table("products", rows=50_000)
    model = make_model(tables=[t], statements=[
        stmt(1, "SELECT * FROM products ORDER BY random() LIMIT 5", 20)])
    assert len(run("QY011", model)) == 1
    small = make_table("products", rows=50)
    model = make_model(tables=[small], statements=[
        stmt(1, "SELECT * FROM products ORDER BY random() LIMIT 5", 20)])
    assert run("QY011", model) == []


# --- QY012 regressions -----------------------------------------------------------------------

def test_regression_compares_the_window_with_the_baseline() -> None:
    before = make_snapshot(statements=[stmt(1, "SELECT * FROM t WHERE id = $1", 100, 100.0,
                                            100)], taken_at=NOW - 600)
    model = make_model(baseline=before, statements=[
        stmt(1, "SELECT * FROM t WHERE id = $1", 200, 1100.0, 200)])
    found = run("QY012", model)
    assert len(found) == 1
    assert found[0].evidence["ratio"] == 10.0
    assert found[0].severity is Severity.MEDIUM


@pytest.mark.parametrize("case", ["more rows", "new statement", "no baseline"])
def test_no_regression_without_the_same_work_to_compare(case: str) -> None:
    now = stmt(1, "SELECT * FROM t WHERE id = $1", 200, 1100.0,
               100 + 100 * 50 if case == "more rows" else 200)
    past = stmt(1 if case != "new statement" else 2, "SELECT * FROM t WHERE id = $1", 100,
                100.0, 100)
    before = make_snapshot(statements=[past], taken_at=NOW - 600)
    model = make_model(baseline=None if case == "no baseline" else before, statements=[now])
    assert run("QY012", model) == []


# --- QY013 planning time, QY014 JIT ----------------------------------------------------------

def test_planning_time_above_execution_time() -> None:
    model = make_model(statements=[stmt(1, "SELECT * FROM t WHERE id = $1", 1000, 1000.0,
                                        plans=1000, total_plan_time=5000.0)])
    found = run("QY013", model)
    assert len(found) == 1 and found[0].evidence["mean_plan_ms"] == 5.0
    cheap = make_model(statements=[stmt(1, "SELECT * FROM t WHERE id = $1", 1000, 1000.0,
                                        plans=1000, total_plan_time=100.0)])
    assert run("QY013", cheap) == []


def test_jit_on_a_short_statement_is_turned_off_for_it() -> None:
    model = make_model(statements=[stmt(1, "SELECT sum(x) FROM t", 20, 1000.0, 20,
                                        jit_functions=10, jit_generation_time=300.0,
                                        jit_optimization_time=500.0)])
    found = run("QY014", model)
    assert len(found) == 1
    assert found[0].action is not None and "SET LOCAL jit = 'off'" in (found[0].action.sql or "")
    long = make_model(statements=[stmt(1, "SELECT sum(x) FROM t", 2, 10_000.0, 2,
                                       jit_functions=10, jit_generation_time=6000.0)])
    assert run("QY014", long) == []


# --- QY101 .. QY105 from plans ---------------------------------------------------------------

def orders_model(plan: dict[str, Any], text: str, rows: float = 1_000_000,
                 indexes: tuple[str, ...] = (), **more: Any) -> tuple[Model, Any]:
    t = make_table("orders", rows=rows)
    cols = [make_column(t, n, "bigint", i + 1) for i, n in
            enumerate(("id", "status", "user_id", "created_at", "city", "zip"))]
    model = make_model(tables=[t, *more.get("tables", [])],
                       indexes=[make_index(t, f"orders_{c}_idx", (c,)) for c in indexes],
                       statements=[stmt(1, text, 50, 5000.0, more.get("rows", 50))],
                       data={"columns": cols + more.get("columns", []),
                             "plans": [make_plan(1, plan)]})
    return model, t


SEQ = plan_node("Seq Scan", rows=100, cost=20_000, Relation_Name="orders",
                Filter="(status = $1)")


def test_seq_scan_with_a_selective_filter_proposes_an_index() -> None:
    model, _ = orders_model(SEQ, "SELECT * FROM orders WHERE status = $1")
    found = run("QY101", advised(model))
    assert len(found) == 1
    assert found[0].action is not None
    assert found[0].action.sql == ('CREATE INDEX CONCURRENTLY orders_status_idx ON '
                                   'public.orders USING btree (status);')


def test_seq_scan_defers_to_ix001_and_ignores_unselective_filters() -> None:
    model, t = orders_model(SEQ, "SELECT * FROM orders WHERE status = $1")
    found = run("QY101", advised(model, choice(t, (IndexKey("status"),), 1, "orders_s_idx")))
    assert [(f.severity, f.action) for f in found] == [(Severity.INFO, None)]
    half = plan_node("Seq Scan", rows=500_000, cost=20_000, Relation_Name="orders",
                     Filter="(status = $1)")
    model, _ = orders_model(half, "SELECT * FROM orders WHERE status = $1")
    assert run("QY101", advised(model)) == []


def test_sort_under_limit_proposes_the_index_that_gives_the_order() -> None:
    plan = plan_node("Limit", 20, 900, [plan_node("Sort", 5000, 880, [
        plan_node("Seq Scan", 5000, 500, Relation_Name="orders", Filter="(user_id = $1)")],
        Sort_Key=["created_at DESC"])])
    model, _ = orders_model(plan, "SELECT * FROM orders WHERE user_id = $1 "
                                  "ORDER BY created_at DESC LIMIT 20")
    found = run("QY102", advised(model))
    assert len(found) == 1
    assert 'USING btree (user_id, created_at)' in (found[0].action.sql or "") \
        if found[0].action else False
    model, _ = orders_model(plan, "SELECT * FROM orders WHERE user_id = $1 "
                                  "ORDER BY created_at DESC LIMIT 20")
    model.snapshot.data["indexes"].append(  # type: ignore[attr-defined]
        make_index(model.tables[next(iter(model.tables))], "orders_uc_idx",
                   ("user_id", "created_at")))
    assert run("QY102", advised(Model(model.snapshot))) == []


def test_nested_loop_rescanning_a_table_proposes_the_join_index() -> None:
    items = make_table("items", rows=5000)
    plan = plan_node("Nested Loop", 1_000_000, 90_000, [
        plan_node("Seq Scan", 20_000, 400, Relation_Name="orders", Parent_Relationship="Outer"),
        plan_node("Materialize", 5000, 100, [
            plan_node("Seq Scan", 5000, 90, Relation_Name="items")],
            Parent_Relationship="Inner")], Join_Filter="(i.order_id = o.id)")
    model, _ = orders_model(plan, "SELECT * FROM orders o JOIN items i ON i.order_id = o.id",
                            tables=[items], columns=[make_column(items, "order_id")])
    found = run("QY103", advised(model))
    assert len(found) == 1
    assert found[0].object.table == "items" and found[0].object.columns == ("order_id",)


def test_estimate_far_below_rows_returned_proposes_create_statistics() -> None:
    t = make_table("addresses", rows=100_000)
    cols = [make_column(t, "city", "text", 1, n_distinct=100.0),
            make_column(t, "zip", "text", 2, n_distinct=1000.0)]
    plan = plan_node("Seq Scan", 1, 2000, Relation_Name="addresses",
                     Filter="((city = $1) AND (zip = $2))")
    model = make_model(tables=[t], statements=[
        stmt(1, "SELECT * FROM addresses WHERE city = $1 AND zip = $2", 50, 500.0, 50 * 100)],
        data={"columns": cols, "plans": [make_plan(1, plan)]})
    found = run("QY104", model)
    assert len(found) == 1
    assert found[0].action is not None
    assert found[0].action.sql == (
        'CREATE STATISTICS IF NOT EXISTS public.addresses_city_zip_stat (dependencies, '
        'ndistinct) ON city, zip FROM public.addresses;\n'
        'ANALYZE public.addresses;')
    assert found[0].evidence["dependent_estimate"] == 100.0


def test_estimate_close_to_rows_returned_is_fine() -> None:
    t = make_table("addresses", rows=100_000)
    cols = [make_column(t, "city", "text", 1, n_distinct=100.0),
            make_column(t, "zip", "text", 2, n_distinct=1000.0)]
    plan = plan_node("Seq Scan", 80, 2000, Relation_Name="addresses")
    model = make_model(tables=[t], statements=[
        stmt(1, "SELECT * FROM addresses WHERE city = $1 AND zip = $2", 50, 500.0, 50 * 100)],
        data={"columns": cols, "plans": [make_plan(1, plan)]})
    assert run("QY104", model) == []


def test_a_plan_that_lost_its_index_is_restored_by_recreating_it() -> None:
    t = users()
    index = make_index(t, "users_email_idx", ("email",))
    before_plan = plan_node("Index Scan", 1, 8.3, Relation_Name="users",
                            Index_Name="users_email_idx")
    now_plan = plan_node("Seq Scan", 1, 2041.0, Relation_Name="users", Filter="(email = $1)")
    text = "SELECT * FROM users WHERE email = $1"
    before = make_snapshot(tables=[t], indexes=[index], taken_at=NOW - 600,
                           statements=[stmt(1, text, 10, 1.0, 10)],
                           data={"plans": [make_plan(1, before_plan)]})
    model = make_model(baseline=before, tables=[t], statements=[stmt(1, text, 110, 500.0, 110)],
                       data={"plans": [make_plan(1, now_plan)]})
    found = run("QY105", model)
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.MEDIUM
    assert f.evidence["plan_hash_before"] != f.evidence["plan_hash_now"]
    assert f.action is not None and f.action.sql is not None
    assert f.action.sql.startswith('CREATE INDEX CONCURRENTLY users_email_idx ON')
    same = make_model(baseline=before, tables=[t], indexes=[index],
                      statements=[stmt(1, text, 110, 500.0, 110)],
                      data={"plans": [make_plan(1, before_plan)]})
    assert run("QY105", same) == []
