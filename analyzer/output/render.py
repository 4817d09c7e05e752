"""Report rendering: a rich table for terminals, Markdown for tickets, JSON for machines and
one self-contained HTML page. Every format shows the findings in the report's order, numbered
alike: a ranked list first (one line per finding), then each finding in detail, then the
overview."""

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

from pgsage.analyzer.model.findings import Recommendation
from pgsage.analyzer.output.html import render_html
from pgsage.analyzer.output.overview import Overview
from pgsage.analyzer.output.report import Report
from pgsage.analyzer.output.wording import (
    QUESTIONS_HEADING,
    failed_collectors,
    object_label,
    objects_label,
    overview_facts,
    overview_rows,
    questions_by_finding,
    severity_note,
    statements_heading,
    summary_line,
    target_line,
    time_lines,
    unused_heading,
    win_short,
)


class Format(StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"
    HTML = "html"


SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow",
                  "low": "cyan", "info": "dim"}


# --- table -----------------------------------------------------------------------------------

def _ranked_table(report: Report) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False,
                  expand=True)
    table.add_column("#", justify="right", no_wrap=True, width=3)
    table.add_column("severity", no_wrap=True, width=8)
    table.add_column("finding", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("estimated win", no_wrap=True, width=16)
    table.add_column("object", no_wrap=True, overflow="ellipsis", width=24)
    for number, rec in enumerate(report.recommendations, 1):
        table.add_row(str(number), Text(rec.severity.value.upper(),
                                        SEVERITY_STYLE[rec.severity.value]),
                      f"{rec.rule} {rec.title}", win_short(rec), objects_label(rec))
    return table


def _finding_panel(number: int, rec: Recommendation, report: Report,
                   questions: list[str]) -> Panel:
    head = Text.assemble((f"{number}. ", "bold"),
                         (rec.severity.value.upper(), SEVERITY_STYLE[rec.severity.value]),
                         f"  {rec.rule} {rec.category.value}  {win_short(rec)} ")
    # The title goes in the body: a panel's title line is cut to one line, and a long
    # title (names of up to 63 characters) would lose its end.
    parts: list[Text | Syntax] = [Text(rec.title, style="bold")]
    if len(rec.objects) > 1:
        parts.append(Text(f"{len(rec.objects)} objects: "
                          + ", ".join(object_label(o) for o in rec.objects)))
    parts.extend(Text(line) for line in time_lines(rec, report.window))
    note = severity_note(rec)
    if note:
        parts.append(Text(note, style="dim"))
    parts.append(Text(rec.detail))
    if rec.action and rec.action.sql:
        parts.append(Syntax(rec.action.sql, "sql", word_wrap=True,
                            background_color="default", theme="ansi_dark"))
    if rec.action and rec.action.shell:
        parts.append(Text(f"on the host: {rec.action.shell}"))
    if rec.action and rec.action.undo_sql:
        parts.append(Text(f"undo: {rec.action.undo_sql}", style="dim"))
    if questions:
        parts.append(Text(f"{QUESTIONS_HEADING} (each answer could change this finding):",
                          style="italic"))
        parts.extend(Text(f"- {q}", style="italic") for q in questions)
    return Panel(Group(*parts), title=head, title_align="left", expand=True)


def _overview_tables(console: Console, overview: Overview) -> None:
    rows = overview_rows(overview)
    console.print(Text("Overview", style="bold underline"))
    console.print(Text(statements_heading(overview), style="bold"))
    if rows["top"]:
        top = Table(box=None, pad_edge=False, header_style="bold", expand=True)
        for name, justify in (("queryid", "right"), ("calls", "right"), ("mean", "right"),
                              ("rows", "right"), ("share", "right")):
            top.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        top.add_column("statement", no_wrap=True, overflow="ellipsis", ratio=1)
        for row in rows["top"]:
            top.add_row(*row)
        console.print(top)
    else:
        console.print("  none measured (pg_stat_statements not collected or no calls)")
    console.print(Text("Sizes", style="bold"))
    sizes = Table(box=None, pad_edge=False, show_header=False, expand=True)
    sizes.add_column("kind", no_wrap=True, width=9)
    sizes.add_column("name", no_wrap=True, overflow="ellipsis", ratio=1)
    sizes.add_column("size", justify="right", no_wrap=True, width=10)
    for row in rows["sizes"]:
        sizes.add_row(*row)
    console.print(sizes)
    for line in overview_facts(overview):
        console.print(Text(line))
    console.print(Text(unused_heading(overview), style="bold"))
    for name, table, size in rows["unused"] or [["none", "", ""]]:
        console.print(Text(f"  {name}" + (f" on {table}, {size}" if table else "")))


def render_table(report: Report, width: int | None = 100, color: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, no_color=not color,
                      highlight=False, soft_wrap=False)
    console.print(Text("pgsage report", style="bold"), Text(target_line(report)))
    console.print(Text(summary_line(report), style="bold"))
    if report.recommendations:
        console.print(_ranked_table(report))
    console.print()
    failed = failed_collectors(report)
    console.print(f"Collectors: {len(report.collectors) - len(failed)} of "
                  f"{len(report.collectors)} ran.")
    for name, reason in failed:
        console.print(Text(f"  skipped {name}: {reason}", style="yellow"))
    for note in report.notes:
        console.print(Text(f"  note: {note}", style="yellow"))
    asked = questions_by_finding(report)
    for number, rec in enumerate(report.recommendations, 1):
        console.print(_finding_panel(number, rec, report,
                                     [q.text for n, q in asked if n == number]))
    if report.overview is not None:
        console.print()
        _overview_tables(console, report.overview)
    if report.appendix:
        console.print()
        console.print(Text(report.appendix.rstrip()))
    return buf.getvalue()


# --- markdown --------------------------------------------------------------------------------

def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]], right: int = 0) -> list[str]:
    align = ["---:" if i < right else "---" for i in range(len(header))]
    return (["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
            + ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows] + [""])


def _md_overview(overview: Overview) -> list[str]:
    rows = overview_rows(overview)
    lines = ["## Overview", "", f"**{statements_heading(overview)}**", ""]
    lines += (_md_table(["queryid", "calls", "mean", "rows", "share", "statement"],
                        [[r[0], r[1], r[2], r[3], r[4], f"`{r[5]}`"] for r in rows["top"]],
                        right=5)
              if rows["top"] else ["None measured.", ""])
    lines += ["**Sizes**", "", *_md_table(["kind", "name", "size"], rows["sizes"])]
    lines += [f"- {line}" for line in overview_facts(overview)] + [""]
    lines += [f"**{unused_heading(overview)}**", ""]
    lines += (_md_table(["index", "table", "size"], rows["unused"]) if rows["unused"]
              else ["None.", ""])
    return lines


def render_markdown(report: Report) -> str:
    lines = ["# pgsage report", "", target_line(report), "", f"**{summary_line(report)}**", ""]
    if report.recommendations:
        lines += _md_table(["#", "severity", "finding", "estimated win", "object"],
                           [[str(n), r.severity.value.upper(), f"{r.rule} {r.title}",
                             win_short(r), objects_label(r)]
                            for n, r in enumerate(report.recommendations, 1)], right=1)
    failed = failed_collectors(report)
    lines.append(f"Collectors: {len(report.collectors) - len(failed)} of "
                 f"{len(report.collectors)} ran.")
    lines.extend(f"- skipped `{name}`: {reason}" for name, reason in failed)
    lines.extend(f"- note: {note}" for note in report.notes)
    lines.append("")
    asked = questions_by_finding(report)
    if report.recommendations:
        lines += ["## Findings", ""]
    for number, rec in enumerate(report.recommendations, 1):
        lines += [f"### {number}. {rec.severity.value.upper()} {rec.rule} "
                  f"({rec.category.value}): {_md(rec.title)}", ""]
        if len(rec.objects) > 1:
            lines += [f"{len(rec.objects)} objects: "
                      + ", ".join(f"`{object_label(o)}`" for o in rec.objects), ""]
        lines += [f"- {line}" for line in time_lines(rec, report.window)]
        note = severity_note(rec)
        lines += ([f"- {note}"] if note else []) + ([""] if rec.gain or note else [])
        lines += [rec.detail, ""]
        if rec.action and rec.action.sql:
            lines += ["```sql", rec.action.sql, "```", ""]
        if rec.action and rec.action.shell:
            lines += ["On the database host:", "", "```sh", rec.action.shell, "```", ""]
        if rec.action and rec.action.undo_sql:
            lines += ["Undo:", "", "```sql", rec.action.undo_sql, "```", ""]
        questions = [q.text for n, q in asked if n == number]
        if questions:
            lines += [f"*{QUESTIONS_HEADING} (each answer could change this finding):*", ""]
            lines += [f"- {q}" for q in questions] + [""]
    if report.overview is not None:
        lines += _md_overview(report.overview)
    if report.appendix:
        lines += ["## Reasoning", "", "```text", report.appendix.rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


RENDERERS: dict[Format, Callable[[Report], str]] = {
    Format.TABLE: render_table,
    Format.MARKDOWN: render_markdown,
    Format.JSON: render_json,
    Format.HTML: render_html,
}


def render(report: Report, fmt: Format, color: bool = False) -> str:
    if fmt is Format.TABLE:
        return render_table(report, color=color)
    return RENDERERS[fmt](report)
