"""Questions and host commands in the report: JSON fields, and their place in table/Markdown."""

from __future__ import annotations

from factories import make_model
from report_contract import check_report

from pgsage.analyzer.model.findings import (
    Action,
    Category,
    Question,
    Recommendation,
    Severity,
    ranked,
)
from pgsage.analyzer.output.render import (
    QUESTIONS_HEADING,
    render_json,
    render_markdown,
    render_table,
)
from pgsage.analyzer.output.report import build


def _report() -> object:
    recs = [Recommendation("BK007", Category.BACKUP, Severity.MEDIUM, "Checksums are off",
                           "why", action=Action(shell="pg_checksums --enable -D \"$PGDATA\"")),
            Recommendation("SE006", Category.SECURITY, Severity.HIGH, "Public create", "why",
                           action=Action(sql="REVOKE CREATE ON SCHEMA public FROM PUBLIC;")),
            Recommendation("BK001", Category.BACKUP, Severity.HIGH, "No archiving", "why")]
    questions = [Question("BK001", Category.BACKUP, "Where do base backups go?")]
    return build(make_model(), ranked(recs), [], questions)


def test_json_has_questions_and_shell_only_where_set() -> None:
    doc = check_report(render_json(_report()))  # type: ignore[arg-type]
    assert doc["questions"] == [{"rule": "BK001", "category": "backup",
                                 "question": "Where do base backups go?"}]
    actions = {r["rule"]: r["action"] for r in doc["recommendations"]}
    assert actions["BK007"]["shell"].startswith("pg_checksums")
    assert "shell" not in actions["SE006"]


def test_markdown_asks_each_question_under_the_finding_it_could_change() -> None:
    text = render_markdown(_report())  # type: ignore[arg-type]
    high_first = text.index("### 1. HIGH BK001"), text.index("### 3. MEDIUM BK007")
    assert high_first[0] < text.index("Where do base backups go?") < high_first[1]
    assert QUESTIONS_HEADING in text
    assert "```sh\npg_checksums" in text


def test_table_asks_each_question_under_the_finding_it_could_change() -> None:
    text = render_table(_report(), width=120)  # type: ignore[arg-type]
    assert text.index("1. HIGH  BK001") < text.index("Where do base backups go?")
    assert text.index("Where do base backups go?") < text.index("2. HIGH  SE006")
    assert "on the host: pg_checksums" in text


def test_a_question_whose_rule_found_nothing_is_not_asked() -> None:
    recs = [Recommendation("SE006", Category.SECURITY, Severity.HIGH, "Public create", "why")]
    questions = [Question("BK001", Category.BACKUP, "Where do base backups go?")]
    report = build(make_model(), recs, [], questions)
    assert "base backups" not in render_table(report) + render_markdown(report)
