"""Plannable variants of normalized texts PostgreSQL cannot PREPARE as they are (no database)."""

from __future__ import annotations

import pglast
import pytest
from factories import make_table

from pgsage.analyzer.advisor.candidates import CandidateOptions, TableFacts, statement_candidates
from pgsage.analyzer.advisor.plannable import plannable_variant, read_equivalent
from pgsage.analyzer.model.workload import Catalog, Statement, TableRef, describe


def statement(text: str) -> Statement:
    return Statement(queryid=1, text=text, kind="select", plain_select=True)


def test_an_extract_field_that_became_a_parameter_gets_a_field_back() -> None:
    variant = plannable_variant(statement(
        "SELECT extract($1 FROM d) AS y, sum(x) FROM t WHERE d >= $2 GROUP BY 1"))
    assert variant is not None
    assert "EXTRACT(EPOCH FROM d)" in variant.text
    # Renumbered without a gap: PREPARE needs a type for every number up to the highest.
    assert "d >= $1" in variant.text and "$2" not in variant.text


@pytest.mark.parametrize("text", [
    "SELECT sum(CASE WHEN a = $1 THEN $2 ELSE $3 END) FROM t",
    "SELECT sum(x) FROM t WHERE q <= $1 + $2",
])
def test_parameters_nothing_types_get_a_numeric_cast(text: str) -> None:
    variant = plannable_variant(statement(text))
    assert variant is not None
    assert "numeric" in variant.text
    assert "a = $1" in variant.text or "q <= " in variant.text
    assert len(pglast.parse_sql(variant.text)) == 1


def test_a_statement_without_such_parameters_has_no_variant() -> None:
    assert plannable_variant(statement("SELECT * FROM t WHERE a = $1 LIMIT $2")) is None
    assert plannable_variant(Statement(1, "UPDATE t SET a = $1", "update")) is None


def test_an_expression_over_a_parameter_is_no_index_candidate() -> None:
    stats = make_table("customer", rows=150_000)
    table = TableRef(stats.relid, "public", "customer")
    catalog = Catalog({("public", "customer"): table}, {stats.relid: ["c_phone", "c_acctbal"]})
    st = describe(1, "SELECT c_acctbal FROM customer WHERE substring(c_phone FROM $1 FOR $2) "
                     "IN ($3, $4) AND c_acctbal > $5", catalog)
    facts = TableFacts(stats, {}, [])
    labels = {c.label() for c in statement_candidates(st, table, facts, CandidateOptions())}
    assert "customer (c_acctbal)" in labels
    assert not any("$" in label for label in labels)


def test_a_normalized_text_search_configuration_is_cast_to_regconfig() -> None:
    variant = plannable_variant(statement(
        "SELECT id FROM docs WHERE to_tsvector($2, body) @@ plainto_tsquery($1)"))
    assert variant is not None
    assert "to_tsvector(CAST($2 AS pg_catalog.regconfig), body)" in variant.text


def test_an_update_is_planned_as_the_select_that_finds_its_rows() -> None:
    read = read_equivalent(Statement(queryid=1, text="UPDATE docs SET body = $1 WHERE id = $2",
                                     kind="update"))
    assert read is not None and read.plain_select
    assert read.text == "SELECT docs.ctid FROM docs WHERE id = $1"
