"""The workload model: how statements use columns, resolved against a catalog. No database."""

from __future__ import annotations

import time

import pytest

from pgsage.analyzer.model.workload import (
    Catalog,
    TableRef,
    Use,
    build,
    deparse_statement,
    describe,
    parse,
)

ORDERS = TableRef(1, "public", "orders")
USERS = TableRef(2, "public", "users")
DOCS = TableRef(3, "app", "docs")
ODD = TableRef(4, "public", "Odd Name")

CATALOG = Catalog(
    tables={("public", "orders"): ORDERS, ("public", "users"): USERS, ("app", "docs"): DOCS,
            ("public", "Odd Name"): ODD},
    columns={1: ["id", "user_id", "status", "created_at", "total"],
             2: ["id", "email", "deleted_at", "name", "created_at"],
             3: ["id", "body", "data", "tags"],
             4: ["id", "Select"]},
)


def uses(sql: str, catalog: Catalog = CATALOG) -> set[tuple[str, str | None, str, str | None]]:
    st = describe(1, sql, catalog)
    return {(u.table.name, u.column, u.use.value, u.expression) for u in st.uses}


def test_equality_on_a_parameter_is_an_equality_use() -> None:
    assert uses("SELECT * FROM orders WHERE user_id = $1") == {
        ("orders", "user_id", "eq", None)}


def test_in_list_and_any_array_are_in_uses() -> None:
    assert uses("SELECT * FROM orders WHERE status IN ($1, $2) AND id = ANY($3)") == {
        ("orders", "status", "in", None), ("orders", "id", "in", None)}


def test_comparisons_and_between_are_range_uses() -> None:
    found = uses("SELECT * FROM orders WHERE created_at > $1 AND total BETWEEN $2 AND $3")
    assert found == {("orders", "created_at", "range", None), ("orders", "total", "range", None)}


def test_is_null_and_is_not_null_are_told_apart() -> None:
    assert uses("SELECT * FROM users WHERE deleted_at IS NULL AND name IS NOT NULL") == {
        ("users", "deleted_at", "null", None), ("users", "name", "not_null", None)}


@pytest.mark.parametrize(("predicate", "kind"), [
    ("name LIKE 'abc%'", "like_prefix"),
    ("name LIKE '%abc'", "like_infix"),
    ("name ILIKE 'abc%'", "like_infix"),
    ("name LIKE $1", "like_param"),
])
def test_like_patterns_are_classified_by_their_literal(predicate: str, kind: str) -> None:
    assert uses(f"SELECT id FROM users WHERE {predicate}") == {("users", "name", kind, None)}


def test_join_keys_are_recorded_on_both_sides_through_aliases() -> None:
    found = uses("SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id")
    assert found == {("users", "id", "join", None), ("orders", "user_id", "join", None)}


def test_join_using_names_the_column_on_both_tables() -> None:
    found = uses("SELECT 1 FROM orders JOIN users USING (id)")
    assert found == {("users", "id", "join", None), ("orders", "id", "join", None)}


def test_order_by_keeps_direction_and_limit_is_seen() -> None:
    st = describe(1, "SELECT * FROM orders WHERE user_id = $1 ORDER BY created_at DESC "
                     "LIMIT 10", CATALOG)
    order = [u for u in st.uses if u.use is Use.ORDER]
    assert [(u.column, u.direction) for u in order] == [("created_at", "desc")]
    assert st.has_limit


def test_group_by_and_distinct_are_group_uses() -> None:
    assert uses("SELECT user_id, count(*) FROM orders GROUP BY user_id") == {
        ("orders", "user_id", "group", None)}
    assert uses("SELECT DISTINCT status FROM orders") == {("orders", "status", "group", None)}


def test_a_function_over_a_column_keeps_the_expression_without_qualifiers() -> None:
    assert uses("SELECT u.id FROM users u WHERE lower(u.email) = $1") == {
        ("users", "email", "eq", "lower(email)")}


def test_jsonb_fulltext_and_array_operators_are_classified() -> None:
    found = uses("SELECT id FROM app.docs WHERE data @> $1 AND data ? 'k' AND tags && $2 "
                 "AND to_tsvector('english', body) @@ plainto_tsquery($3)")
    assert found == {("docs", "data", "jsonb_contains", None),
                     ("docs", "data", "jsonb_exists", None),
                     ("docs", "tags", "array", None),
                     ("docs", "body", "fulltext", "to_tsvector('english', body)")}


def test_unqualified_names_resolve_through_the_search_path() -> None:
    catalog = Catalog(CATALOG.tables, CATALOG.columns, search_path=("app", "public"))
    assert uses("SELECT id FROM docs WHERE data @> $1", catalog) == {
        ("docs", "data", "jsonb_contains", None)}
    assert describe(1, "SELECT id FROM docs", CATALOG).unresolved == {"docs"}


def test_quoted_identifiers_resolve_exactly() -> None:
    assert uses('SELECT 1 FROM "Odd Name" WHERE "Select" = $1') == {
        ("Odd Name", "Select", "eq", None)}


def test_a_cte_name_is_not_taken_for_a_table_and_its_body_is_modelled() -> None:
    st = describe(1, "WITH orders AS (SELECT user_id FROM public.orders WHERE status = $1) "
                     "SELECT * FROM orders", CATALOG)
    assert {(u.table.name, u.column, u.use.value) for u in st.uses} == {
        ("orders", "status", "eq")}
    assert st.select_star == set()


def test_subqueries_are_modelled_with_their_own_scope_and_correlation() -> None:
    found = uses("SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o "
                 "WHERE o.user_id = u.id AND o.status = $1)")
    assert ("orders", "status", "eq", None) in found
    assert ("orders", "user_id", "join", None) in found


def test_update_records_the_columns_it_sets_and_its_filter() -> None:
    st = describe(1, "UPDATE orders SET status = $1, total = $2 WHERE id = $3", CATALOG)
    assert st.kind == "update" and not st.plain_select
    assert st.updated_columns == {ORDERS: {"status", "total"}}
    assert {(u.column, u.use.value) for u in st.uses} == {("id", "eq")}


def test_only_a_single_plain_select_may_be_explained() -> None:
    assert describe(1, "SELECT 1 FROM orders", CATALOG).plain_select
    assert not describe(1, "SELECT 1; SELECT 2", CATALOG).plain_select
    assert not describe(1, "SELECT * FROM orders FOR UPDATE", CATALOG).plain_select
    assert not describe(1, "SELECT * INTO t2 FROM orders", CATALOG).plain_select
    assert not describe(1, "WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d",
                        CATALOG).plain_select


def test_select_star_and_each_or_arm_columns_are_recorded() -> None:
    st = describe(1, "SELECT * FROM users WHERE name = $1 OR (email = $2 AND id > $3)", CATALOG)
    assert st.select_star == {USERS}
    assert [[set(arm) for arm in arms] for arms in st.ors] == [
        [{(USERS, "name")}, {(USERS, "email"), (USERS, "id")}]]


def test_the_regenerated_text_is_one_statement_even_for_hostile_literals() -> None:
    text = deparse_statement("SELECT id FROM users WHERE name = 'x''; DROP TABLE users; --'")
    assert len(parse(text)["stmts"]) == 1 and text.startswith("SELECT")


def test_unparsable_statements_are_counted_by_reason_never_fatal() -> None:
    truncated = "SELECT a, b FROM orders WHERE id = $1 AND ("
    workload = build({1: "SELECT * FROM orders WHERE id = $1", 2: "SELEC nonsense",
                      3: truncated}, CATALOG)
    assert set(workload.statements) == {1}
    assert sorted(workload.failed_queryids) == [2, 3]
    assert workload.failures == {"incomplete text": 1, "parse error": 1}


def test_the_cache_parses_each_statement_once() -> None:
    cache: dict[int, object] = {}
    first = build({1: "SELECT * FROM orders WHERE id = $1"}, CATALOG, cache=cache)  # type: ignore[arg-type]
    second = build({1: "SELECT * FROM orders WHERE id = $1"}, CATALOG, cache=cache)  # type: ignore[arg-type]
    assert first.statements[1] is second.statements[1]


def test_five_thousand_distinct_statements_are_modelled_in_seconds() -> None:
    """Not a timing claim (bench/ has those): a guard against an accidental blow-up."""
    texts = {i: f"SELECT o.id, u.email FROM orders o JOIN users u ON u.id = o.user_id "
                f"WHERE o.status = $1 AND o.total > {i} ORDER BY o.created_at DESC LIMIT $2"
             for i in range(5000)}
    started = time.monotonic()
    workload = build(texts, CATALOG)
    assert len(workload.statements) == 5000
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("order", ["2 DESC", "created DESC"])
def test_order_by_a_position_or_an_output_alias_names_the_select_list_column(
        order: str) -> None:
    st = describe(1, "SELECT id, created_at AS created FROM orders WHERE status = $1 "
                     f"ORDER BY {order} LIMIT $2", CATALOG)
    assert [(u.column, u.direction) for u in st.uses if u.use is Use.ORDER] == [
        ("created_at", "desc")]


def test_group_by_a_position_or_an_alias_names_the_column_but_a_real_column_wins() -> None:
    assert ("orders", "status", "group", None) in uses(
        "SELECT status AS s, count(*) FROM orders GROUP BY 1")
    assert ("orders", "status", "group", None) in uses(
        "SELECT status AS s, count(*) FROM orders GROUP BY s")
    # GROUP BY resolves input columns first: `total` is the table's column, not the alias.
    grouped = uses("SELECT status AS total, count(*) FROM orders GROUP BY total")
    assert ("orders", "total", "group", None) in grouped
    assert ("orders", "status", "group", None) not in grouped


VIEWS = Catalog(
    tables=CATALOG.tables, columns=CATALOG.columns,
    views={("public", "paid_orders"):
           " SELECT o.id, o.user_id AS buyer, o.created_at, u.email\n"
           "   FROM orders o JOIN users u ON u.id = o.user_id\n  WHERE o.status = 'paid'::text;"})


def test_a_statement_over_a_view_is_modelled_on_the_base_tables_through_its_definition(
        ) -> None:
    found = uses("SELECT * FROM paid_orders p WHERE p.buyer = $1 ORDER BY created_at", VIEWS)
    assert {("orders", "user_id", "eq", None), ("orders", "status", "eq", None),
            ("orders", "created_at", "order", None), ("orders", "user_id", "join", None),
            ("users", "id", "join", None)} <= found
    st = describe(1, "SELECT email FROM paid_orders WHERE buyer = $1", VIEWS)
    assert st.tables == {ORDERS, USERS} and not st.unresolved
