"""The three report formats, from a Report built by hand (no database needed).

The table is for a terminal (100 columns when not on one), Markdown is for a ticket, JSON is
the contract of DESIGN.md, checked here by tests/report_contract.py.
"""

from __future__ import annotations

import json

import pytest
from report_contract import check_report, contract_errors

from pgsage.analyzer.model.core import Window
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.snapshot import CollectorStatus, Target
from pgsage.analyzer.output.render import Format, render, render_markdown, render_table
from pgsage.analyzer.output.report import Report

LONG = "orders_archive_customer_reference_and_region_lookup_index_2024_q4"  # 63 characters


def finding(**changes: object) -> Recommendation:
    fields: dict[str, object] = dict(
        rule="IX002", category=Category.INDEX, severity=Severity.MEDIUM,
        title=f"Drop duplicate index {LONG} on orders (same as orders_customer_idx)",
        detail="Both indexes have the same definition; every insert writes both. " * 3,
        object=ObjectRef("Sales Data", "Order", LONG, ("customerId",)),
        action=Action(sql=f'DROP INDEX CONCURRENTLY IF EXISTS "Sales Data"."{LONG}";',
                      undo_sql=f'CREATE INDEX CONCURRENTLY "{LONG}" ON "Sales Data"."Order" '
                               'USING btree ("customerId");'),
        impact={"queryids": [-8785616924346357759, 42]},
        evidence={"idx_scan": 0, "index_bytes": 8192},
    )
    fields.update(changes)
    return Recommendation(**fields)  # type: ignore[arg-type]


def report(*recommendations: Recommendation, notes: tuple[str, ...] = ()) -> Report:
    return Report(
        target=Target(database="shop", host="db1", port=5432, server_version_num=150018),
        window=Window(start=1_700_000_000.0, end=1_700_000_060.0, kind="between-snapshots"),
        collectors={"server": CollectorStatus(ok=True, rows=1, seconds=0.002),
                    "statements": CollectorStatus(
                        ok=False, reason="extension not installed "
                                         "(CREATE EXTENSION pg_stat_statements)")},
        recommendations=list(recommendations),
        notes=list(notes),
    )


# --- table -----------------------------------------------------------------------------------

def test_the_table_fits_100_columns_whatever_the_names() -> None:
    text = render_table(report(finding(), notes=("a note that runs on " * 12,)))
    too_long = [line for line in text.splitlines() if len(line) > 100]
    assert not too_long, too_long


def test_the_table_shows_the_whole_title_of_a_finding() -> None:
    text = render_table(report(finding()))
    flat = " ".join(text.replace("│", " ").split())
    assert f"Drop duplicate index {LONG} on orders (same as orders_customer_idx)" in flat


def test_the_table_shows_code_severity_sql_and_undo() -> None:
    text = render_table(report(finding()))
    assert "MEDIUM" in text and "IX002" in text
    assert "DROP INDEX CONCURRENTLY" in text
    assert "undo: CREATE INDEX CONCURRENTLY" in text


def test_the_table_names_the_target_and_the_window() -> None:
    text = render_table(report())
    assert "shop on db1:5432" in text and "PostgreSQL 15.18" in text
    assert "between two snapshots" in text


def test_the_table_lists_skipped_collectors_with_their_reason() -> None:
    text = render_table(report())
    assert "Collectors: 1 of 2 ran." in text
    assert "skipped statements: extension not installed" in text


def test_the_table_says_so_when_there_is_nothing_to_do() -> None:
    assert "No findings" in render_table(report())


def test_the_table_counts_findings_in_plain_english() -> None:
    assert "1 finding: 1 medium" in render_table(report(finding()))
    two = report(finding(), finding(rule="IX001", severity=Severity.HIGH))
    assert "2 findings: 1 high, 1 medium" in render_table(two)


def test_the_table_has_no_colour_unless_asked() -> None:
    assert "\x1b[" not in render_table(report(finding()))
    assert "\x1b[" in render_table(report(finding()), color=True)


# --- markdown --------------------------------------------------------------------------------

def test_markdown_gives_each_finding_a_heading_and_runnable_sql() -> None:
    text = render_markdown(report(finding()))
    assert text.startswith("# pgsage report\n")
    assert f"### 1. MEDIUM IX002 (index): Drop duplicate index {LONG}" in text
    assert f'```sql\nDROP INDEX CONCURRENTLY IF EXISTS "Sales Data"."{LONG}";\n```' in text


def test_markdown_escapes_pipes_in_titles() -> None:
    text = render_markdown(report(finding(title="a | b")))
    assert "a \\| b" in text


def test_markdown_lists_the_findings_ranked_one_line_each() -> None:
    text = render_markdown(report(finding()))
    assert "| 1 | MEDIUM | IX002 Drop duplicate index" in text


# --- json ------------------------------------------------------------------------------------

def test_json_keeps_the_contract() -> None:
    check_report(render(report(finding(), notes=("rule XY failed",)), Format.JSON))


def test_json_queryids_are_strings() -> None:
    doc = json.loads(render(report(finding()), Format.JSON))
    assert doc["recommendations"][0]["impact"]["queryids"] == ["-8785616924346357759", "42"]


def test_json_object_names_what_the_finding_is_about() -> None:
    doc = json.loads(render(report(finding()), Format.JSON))
    assert doc["recommendations"][0]["object"] == {
        "schema": "Sales Data", "table": "Order", "index": LONG, "columns": ["customerId"]}


def test_json_of_an_empty_report_keeps_the_contract() -> None:
    doc = check_report(render(report(), Format.JSON))
    assert doc["recommendations"] == []
    assert doc["collectors"]["statements"]["ok"] is False


# --- the contract checker itself: it must catch what it is there to catch --------------------

def _good() -> dict[str, object]:
    return json.loads(render(report(finding()), Format.JSON))  # type: ignore[no-any-return]


@pytest.mark.parametrize(("breach", "path"), [
    (lambda d: d.pop("collectors"), "$.collectors"),
    (lambda d: d["recommendations"][0].update(category="indexes"), ".category"),
    (lambda d: d["recommendations"][0].update(severity="urgent"), ".severity"),
    (lambda d: d["recommendations"][0]["impact"].update(queryids=[42]), ".impact.queryids"),
    (lambda d: d["recommendations"][0]["object"].pop("index"), ".object"),
    (lambda d: d["collectors"]["server"].pop("ok"), "$.collectors.server.ok"),
    (lambda d: d["collectors"]["statements"].pop("reason"), "$.collectors.statements.reason"),
    (lambda d: d["window"].update(start="yesterday"), "$.window.start"),
    (lambda d: d["target"].update(port="5432"), "$.target.port"),
])
def test_the_contract_checker_catches_a_breach(breach, path: str) -> None:
    doc = _good()
    assert contract_errors(doc) == []
    breach(doc)
    errors = contract_errors(doc)
    assert any(path in e for e in errors), errors


def test_the_contract_checker_wants_the_findings_numbered_in_order() -> None:
    doc = json.loads(render(report(finding(severity=Severity.LOW), finding()), Format.JSON))
    doc["recommendations"].reverse()
    assert any("ranked" in e for e in contract_errors(doc))


def test_the_contract_checker_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        check_report('{"schema_version": NaN}')
