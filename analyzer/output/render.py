"""Report rendering: a rich table for terminals, Markdown for tickets, JSON for machines."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from enum import StrEnum

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from pgsage.analyzer.model.findings import Category, Recommendation
from pgsage.analyzer.output.report import Report, iso


class Format(StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"


QUESTIONS_HEADING = "Questions SQL cannot answer"
"""Where the rules list what a person has to check (backups, restore tests, ...)."""

SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow",
                  "low": "cyan", "info": "dim"}


def _version(num: int | None) -> str:
    if not num:
        return "?"
    return f"{num // 10000}.{num % 10000}"


def _target_line(report: Report) -> str:
    t = report.target
    where = f"{t.host}:{t.port}" if t.port else (t.host or "local")
    return (f"{t.database} on {where} — PostgreSQL {_version(t.server_version_num)}; "
            f"counters cover {report.window.describe()} (to {iso(report.window.end)})")


def _failed_collectors(report: Report) -> list[tuple[str, str]]:
    return [(name, s.reason or "failed") for name, s in report.collectors.items() if not s.ok]


def _summary_line(report: Report) -> str:
    if not report.recommendations:
        return "No findings: nothing to recommend."
    by_sev = report.counts()["by_severity"]
    parts = [f"{by_sev[s]} {s}" for s in ("critical", "high", "medium", "low", "info")
             if s in by_sev]
    count = len(report.recommendations)
    return f"{count} finding{'' if count == 1 else 's'}: " + ", ".join(parts)


def _by_category(report: Report) -> list[tuple[Category, list[Recommendation]]]:
    groups: dict[Category, list[Recommendation]] = {}
    for rec in report.recommendations:
        groups.setdefault(rec.category, []).append(rec)
    return list(groups.items())


def render_table(report: Report, width: int | None = 100, color: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, no_color=not color,
                      highlight=False, soft_wrap=False)
    console.print(Text("pgsage report", style="bold"), Text(_target_line(report)))
    failed = _failed_collectors(report)
    ok = len(report.collectors) - len(failed)
    console.print(f"Collectors: {ok} of {len(report.collectors)} ran.")
    for name, reason in failed:
        console.print(Text(f"  skipped {name}: {reason}", style="yellow"))
    for note in report.notes:
        console.print(Text(f"  note: {note}", style="yellow"))
    console.print()
    console.print(Text(_summary_line(report), style="bold"))
    if report.recommendations:
        summary = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        summary.add_column("category")
        for sev in ("critical", "high", "medium", "low", "info"):
            summary.add_column(sev, justify="right")
        for cat, recs in _by_category(report):
            counts = [sum(1 for r in recs if r.severity.value == s) or ""
                      for s in ("critical", "high", "medium", "low", "info")]
            summary.add_row(cat.value, *[str(c) for c in counts])
        console.print(summary)
    number = 0
    for cat, recs in _by_category(report):
        console.print()
        console.print(Text(f"{cat.value} ({len(recs)})", style="bold underline"))
        for rec in recs:
            number += 1
            head = Text.assemble((f"{number}. ", "bold"),
                                 (f"{rec.severity.value.upper()}",
                                  SEVERITY_STYLE[rec.severity.value]),
                                 f"  {rec.rule} {rec.category.value} ")
            # The title goes in the body: a panel's title line is cut to one line, and a
            # long title (names of up to 63 characters) would lose its end.
            parts: list[Text | Syntax] = [Text(rec.title, style="bold"), Text(rec.detail)]
            if rec.action and rec.action.sql:
                parts.append(Syntax(rec.action.sql, "sql", word_wrap=True,
                                    background_color="default", theme="ansi_dark"))
            if rec.action and rec.action.shell:
                parts.append(Text(f"on the host: {rec.action.shell}"))
            if rec.action and rec.action.undo_sql:
                parts.append(Text(f"undo: {rec.action.undo_sql}", style="dim"))
            console.print(Panel(Group(*parts), title=head, title_align="left", expand=True))
    if report.questions:
        console.print()
        console.print(Text(QUESTIONS_HEADING, style="bold underline"))
        for q in report.questions:
            console.print(Text(f"- {q.rule} {q.category.value}: {q.text}"))
    if report.appendix:
        console.print()
        console.print(Text(report.appendix))
    return buf.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: Report) -> str:
    lines = ["# pgsage report", "", _target_line(report), ""]
    failed = _failed_collectors(report)
    lines.append(f"Collectors: {len(report.collectors) - len(failed)} of "
                 f"{len(report.collectors)} ran.")
    lines.extend(f"- skipped `{name}`: {reason}" for name, reason in failed)
    lines.extend(f"- note: {note}" for note in report.notes)
    lines += ["", f"**{_summary_line(report)}**", ""]
    if report.recommendations:
        lines += ["| category | critical | high | medium | low | info |",
                  "|---|---:|---:|---:|---:|---:|"]
        for cat, recs in _by_category(report):
            counts = [str(sum(1 for r in recs if r.severity.value == s) or "")
                      for s in ("critical", "high", "medium", "low", "info")]
            lines.append(f"| {cat.value} | " + " | ".join(counts) + " |")
        lines.append("")
    for cat, recs in _by_category(report):
        lines += [f"## {cat.value}", ""]
        for rec in recs:
            lines += [f"### {rec.severity.value.upper()} {rec.rule}: {_md_escape(rec.title)}",
                      "", rec.detail, ""]
            if rec.action and rec.action.sql:
                lines += ["```sql", rec.action.sql, "```", ""]
            if rec.action and rec.action.shell:
                lines += ["On the database host:", "", "```sh", rec.action.shell, "```", ""]
            if rec.action and rec.action.undo_sql:
                lines += [f"Undo: `{rec.action.undo_sql}`", ""]
    if report.questions:
        lines += [f"## {QUESTIONS_HEADING}", ""]
        lines += [f"- **{q.rule}** ({q.category.value}): {q.text}" for q in report.questions]
    if report.appendix:
        lines += ["## Reasoning", "", "```text", report.appendix.rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


RENDERERS: dict[Format, Callable[[Report], str]] = {
    Format.TABLE: render_table,
    Format.MARKDOWN: render_markdown,
    Format.JSON: render_json,
}


def render(report: Report, fmt: Format, color: bool = False) -> str:
    if fmt is Format.TABLE:
        return render_table(report, color=color)
    return RENDERERS[fmt](report)
