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


def test_markdown_groups_by_category_after_the_summary_and_ends_with_questions() -> None:
    text = render_markdown(_report())  # type: ignore[arg-type]
    summary, backup, security = (text.index("| category |"), text.index("## backup"),
                                 text.index("## security"))
    assert summary < backup < text.index("### MEDIUM BK007") < security
    assert text.index(f"## {QUESTIONS_HEADING}") > security
    assert "```sh\npg_checksums" in text and "- **BK001** (backup): Where do base" in text


def test_table_groups_by_category_and_lists_questions() -> None:
    text = render_table(_report(), width=120)  # type: ignore[arg-type]
    assert text.index("backup (2)") < text.index("BK007") < text.index("security (1)")
    assert "on the host: pg_checksums" in text
    assert text.index(QUESTIONS_HEADING) > text.index("security (1)")
