"""CF001 pg_stat_statements missing on hand-built snapshots: no database.

Also: every registered rule runs without pg_stat_statements (a snapshot whose statements
collector was skipped) without raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pglast
import pytest
from factories import make_extension, make_fk, make_index, make_model, make_setting, make_table

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.rules import REGISTRY
from pgsage.rules.config.pg_stat_statements_missing import preload_list

NOT_PRELOADED = ("pg_stat_statements is not in shared_preload_libraries (add it to "
                 "postgresql.conf and restart, then CREATE EXTENSION pg_stat_statements)")
NOT_CREATED = "extension not created in this database (CREATE EXTENSION pg_stat_statements)"
TOO_OLD = "pg_stat_statements 1.8 is too old (ALTER EXTENSION pg_stat_statements UPDATE)"
PRIVILEGE = "insufficient privilege: permission denied (grant pg_monitor to the role)"


def model(reason: str | None, preload: str | None = "", installed: str | None = None,
          **snapshot: Any) -> Model:
    settings = [] if preload is None else [make_setting("shared_preload_libraries", preload)]
    failed = {"statements": reason, "statements_info": reason} if reason else None
    return make_model(settings=settings, extensions=[make_extension(installed=installed)],
                      failed=failed, **snapshot)


def findings(m: Model) -> list[Recommendation]:
    rule = REGISTRY["CF001"]
    return list(rule.check(m, rule.Options()))


def only(m: Model) -> Recommendation:
    found = findings(m)
    assert len(found) == 1, [f.title for f in found]
    return found[0]


@dataclass(frozen=True)
class Case:
    id: str
    model: Model
    expect: Severity | None


CASES = [
    Case("pass-collected", model(None, "pg_stat_statements", "1.11"), None),
    Case("pass-collector-switched-off",
         model(None, "", absent=("statements", "statements_info")), None),
    Case("fail-not-preloaded", model(NOT_PRELOADED, ""), Severity.HIGH),
    Case("fail-not-created", model(NOT_CREATED, "pg_stat_statements"), Severity.HIGH),
    Case("fail-too-old", model(TOO_OLD, "pg_stat_statements", "1.8"), Severity.HIGH),
    Case("fail-no-privilege", model(PRIVILEGE, "pg_stat_statements", "1.11"),
         Severity.MEDIUM),
    Case("fail-settings-unknown", model(NOT_PRELOADED, None), Severity.HIGH),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_pg_stat_statements_cases(case: Case) -> None:
    assert [f.severity for f in findings(case.model)] == ([case.expect] if case.expect else [])


def test_not_preloaded_action_is_alter_system_with_restart_note() -> None:
    found = only(model(NOT_PRELOADED, ""))
    assert found.action is not None and found.action.sql is not None
    first, *notes = found.action.sql.splitlines()
    assert first == "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';"
    assert all(n.startswith("--") for n in notes) and "restart" in notes[0]
    assert "restart PostgreSQL" in found.detail


def test_not_preloaded_keeps_existing_libraries() -> None:
    found = only(model(NOT_PRELOADED, 'auto_explain, "my lib", pg_cron'))
    assert found.action is not None and found.action.sql is not None
    assert found.action.sql.splitlines()[0] == (
        "ALTER SYSTEM SET shared_preload_libraries = "
        "'auto_explain', 'my lib', 'pg_cron', 'pg_stat_statements';")


def test_not_preloaded_undo_restores_existing_libraries() -> None:
    found = only(model(NOT_PRELOADED, "auto_explain"))
    assert found.action is not None
    assert found.action.undo_sql == "ALTER SYSTEM SET shared_preload_libraries = 'auto_explain';"


def test_not_preloaded_quotes_a_library_with_a_quote() -> None:
    found = only(model(NOT_PRELOADED, "o'brien"))
    assert found.action is not None and found.action.sql is not None
    stmt = pglast.parse_sql(found.action.sql)[0].stmt
    assert [a.val.sval for a in stmt.setstmt.args] == ["o'brien", "pg_stat_statements"]


def test_not_preloaded_without_contrib_says_to_install_it() -> None:
    m = make_model(settings=[make_setting("shared_preload_libraries", "")],
                   extensions=[make_extension(installed=None, available=False)],
                   failed={"statements": NOT_PRELOADED})
    assert "contrib package" in only(m).detail


def test_not_created_action_is_create_extension_only() -> None:
    found = only(model(NOT_CREATED, "pg_stat_statements"))
    assert found.action is not None
    assert found.action.sql == "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"


def test_too_old_action_updates_the_extension() -> None:
    found = only(model(TOO_OLD, "pg_stat_statements", "1.8"))
    assert found.action is not None
    assert found.action.sql == "ALTER EXTENSION pg_stat_statements UPDATE;"


def test_settings_unknown_falls_back_on_the_reason() -> None:
    found = only(model(NOT_PRELOADED, None))
    assert found.action is not None and "ALTER SYSTEM" in (found.action.sql or "")


def test_evidence_carries_the_reason() -> None:
    assert only(model(PRIVILEGE, "pg_stat_statements", "1.11")).evidence["reason"] == PRIVILEGE


@pytest.mark.parametrize(("value", "expected"), [
    ("", []),
    ("pg_stat_statements", ["pg_stat_statements"]),
    ("auto_explain,pg_stat_statements", ["auto_explain", "pg_stat_statements"]),
    ('auto_explain, "my lib"', ["auto_explain", "my lib"]),
    ("$libdir/plugins/x, y", ["$libdir/plugins/x", "y"]),
])
def test_preload_list_parses_the_setting(value: str, expected: list[str]) -> None:
    assert preload_list(value) == expected


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_every_rule_runs_without_pg_stat_statements(code: str) -> None:
    parent, child = make_table("customers"), make_table("orders", rows=1_000_000)
    m = model(NOT_PRELOADED, "", tables=[parent, child],
              indexes=[make_index(child, "orders_note_idx", ("note",))],
              constraints=[make_fk(child, ("customer_id",), parent)])
    rule = REGISTRY[code]
    found = list(rule.check(m, rule.Options()))
    assert all(f.rule == code for f in found)


def test_a_session_that_read_nothing_gives_no_finding_only_skipped_sources() -> None:
    deadline = "no answer within 10 s (client deadline)"
    m = make_model(failed={"statements": deadline, "statements_info": deadline,
                           "extensions": deadline, "settings": deadline})
    assert findings(m) == []
