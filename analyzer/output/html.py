"""The report as one self-contained HTML page a DBA can attach to a ticket: inline CSS, a few
lines of inline script (copy buttons) and SVG charts drawn here; nothing is fetched."""

from __future__ import annotations

from html import escape
from typing import Any

from pgsage.analyzer.model.findings import Recommendation
from pgsage.analyzer.output.overview import Overview
from pgsage.analyzer.output.report import Report
from pgsage.analyzer.output.wording import (
    QUESTIONS_HEADING,
    failed_collectors,
    ms_text,
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
from pgsage.analyzer.units import format_bytes

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;
padding:0 16px}
h1{font-size:22px;margin:0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccd}
h3{font-size:15px;margin:0 0 6px}table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e4e6ee;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}.muted{color:#667}
.sev{font-weight:600;padding:1px 6px;border-radius:4px;font-size:12px;white-space:nowrap}
.critical{background:#b00020;color:#fff}.high{background:#fde2e2;color:#a00}
.medium{background:#fff3c4;color:#7a5b00}.low{background:#e0f2ff;color:#03558c}
.info{background:#eee;color:#555}
.finding{border:1px solid #d7dae5;border-radius:6px;padding:10px 14px;margin:10px 0}
pre{background:#f5f6fa;padding:8px;overflow-x:auto;margin:6px 0;white-space:pre-wrap}
.sqlbox{position:relative}.copy{position:absolute;top:4px;right:4px;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
figure{margin:0;border:1px solid #e4e6ee;border-radius:6px;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}
"""

SCRIPT = """
document.querySelectorAll('button.copy').forEach(function (button) {
  button.addEventListener('click', function () {
    var text = document.getElementById(button.dataset.target).textContent;
    function fallback() {
      var area = document.createElement('textarea');
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand('copy'); } catch (e) { /* nothing more to try */ }
      area.remove();
    }
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () {}, fallback);
    } else { fallback(); }
    button.textContent = 'Copied';
  });
});
"""

BAR = "#4a6fd1"
AFTER = "#2e9d6a"


def bar_chart(chart_id: str, rows: list[tuple[str, float, str]], width: int = 520) -> str:
    """Horizontal bars: (label, value, value as text), scaled to the largest value."""
    if not rows:
        return ""
    top = max(v for _, v, _ in rows) or 1.0
    label_w, text_w, row_h = 200, 80, 20
    plot = width - label_w - text_w
    parts = [f'<svg id="{chart_id}" class="chart" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{row_h * len(rows) + 4}" role="img">']
    for i, (label, value, text) in enumerate(rows):
        y = i * row_h + 2
        length = max(plot * value / top, 1.0)
        short = label if len(label) <= 30 else label[:29] + "\u2026"
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(short)}'
                     f'<title>{escape(label)}</title></text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="14" '
                     f'fill="{BAR}"/><text x="{label_w + length + 4:.1f}" y="{y + 14}" '
                     f'font-size="12">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def pair_chart(chart_id: str, rows: list[tuple[str, float, float]], width: int = 520) -> str:
    """Two bars per row (before, after), scaled to the largest value."""
    if not rows:
        return ""
    top = max(max(b, a) for _, b, a in rows) or 1.0
    label_w, text_w, row_h = 200, 80, 34
    plot = width - label_w - text_w
    parts = [f'<svg id="{chart_id}" class="chart" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{row_h * len(rows) + 22}" role="img">'
             f'<rect x="{label_w}" y="2" width="10" height="10" fill="{BAR}"/>'
             f'<text x="{label_w + 14}" y="11" font-size="11">cost now</text>'
             f'<rect x="{label_w + 80}" y="2" width="10" height="10" fill="{AFTER}"/>'
             f'<text x="{label_w + 94}" y="11" font-size="11">with the new indexes</text>']
    for i, (label, before, after) in enumerate(rows):
        y = i * row_h + 20
        for j, (value, colour) in enumerate(((before, BAR), (after, AFTER))):
            length = max(plot * value / top, 1.0)
            parts.append(f'<rect x="{label_w}" y="{y + j * 14}" width="{length:.1f}" '
                         f'height="12" fill="{colour}"/><text x="{label_w + length + 4:.1f}" '
                         f'y="{y + j * 14 + 10}" font-size="11">{value:,.1f}</text>')
        parts.append(f'<text x="0" y="{y + 16}" font-size="12">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>" if svg else ""


def _plan_costs(report: Report) -> list[tuple[str, float, float]]:
    """Planner cost before/after per statement, from the index findings' evidence."""
    seen: dict[str, tuple[float, float]] = {}
    for rec in report.recommendations:
        for member in rec.members or (rec,):
            statements: Any = member.evidence.get("statements")
            for row in statements if isinstance(statements, list) else []:
                if isinstance(row, dict) and "cost_before" in row and "cost_after" in row:
                    seen.setdefault(f"queryid {row.get('queryid')}",
                                    (float(row["cost_before"]), float(row["cost_after"])))
    return [(k, b, a) for k, (b, a) in list(seen.items())[:12]]


def _charts(report: Report) -> str:
    figures = []
    ov = report.overview
    if ov is not None:
        figures.append(_figure(
            f"Share of database time by statement ({ov.window.describe()})",
            bar_chart("chart-time-share", [(f"queryid {s.queryid}", s.share, f"{s.share:.0%}")
                                           for s in ov.top_statements])))
        figures.append(_figure("Table and index sizes", bar_chart(
            "chart-sizes", [(f"table {t.name}", float(t.bytes), format_bytes(t.bytes))
                            for t in ov.tables]
            + [(f"index {i.name}", float(i.bytes), format_bytes(i.bytes))
               for i in ov.indexes])))
        if ov.window.kind == "between-snapshots" and ov.window.seconds > 0:
            figures.append(_figure(
                f"Rates over {ov.window.describe()}: database time per second by statement",
                bar_chart("chart-rates", [(f"queryid {s.queryid}",
                                           s.total_ms / ov.window.seconds,
                                           f"{s.total_ms / ov.window.seconds:,.1f} ms/s")
                                          for s in ov.top_statements])))
    figures.append(_figure("Index plan: planner cost per call before and after, by statement",
                           pair_chart("chart-plan-costs", _plan_costs(report))))
    present = [f for f in figures if f]
    return f'<div class="charts">{"".join(present)}</div>' if present else ""


def _ranked(report: Report) -> str:
    rows = "".join(
        f'<tr><td class="num"><a href="#finding-{n}">{n}</a></td>'
        f'<td><span class="sev {r.severity.value}">{r.severity.value.upper()}</span></td>'
        f"<td>{escape(r.rule)} {escape(r.title)}</td><td class=\"num\">"
        f"{escape(win_short(r))}</td><td>{escape(objects_label(r))}</td></tr>"
        for n, r in enumerate(report.recommendations, 1))
    return ('<table id="ranked"><thead><tr><th class="num">#</th><th>severity</th>'
            '<th>finding</th><th class="num">estimated win</th><th>object</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _code(block_id: str, text: str) -> str:
    return (f'<div class="sqlbox"><button class="copy" data-target="{block_id}">Copy</button>'
            f'<pre id="{block_id}">{escape(text)}</pre></div>')


def _finding(number: int, rec: Recommendation, report: Report, questions: list[str]) -> str:
    parts = [f'<div class="finding" id="finding-{number}"><h3>{number}. '
             f'<span class="sev {rec.severity.value}">{rec.severity.value.upper()}</span> '
             f"{escape(rec.rule)} <span class=\"muted\">{rec.category.value} · "
             f"{escape(win_short(rec))}</span><br>{escape(rec.title)}</h3>"]
    if len(rec.objects) > 1:
        parts.append(f"<p>{len(rec.objects)} objects: "
                     + ", ".join(f"<code>{escape(object_label(o))}</code>" for o in rec.objects)
                     + "</p>")
    lines = time_lines(rec, report.window)
    note = severity_note(rec)
    if note:
        lines.append(note)
    if lines:
        parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>")
    parts.append(f"<p>{escape(rec.detail).replace(chr(10), '<br>')}</p>")
    if rec.action and rec.action.sql:
        parts.append(_code(f"sql-{number}", rec.action.sql))
    if rec.action and rec.action.shell:
        parts.append("<p>On the database host:</p>" + _code(f"shell-{number}", rec.action.shell))
    if rec.action and rec.action.undo_sql:
        parts.append("<p class=\"muted\">Undo:</p>" + _code(f"undo-{number}",
                                                             rec.action.undo_sql))
    if questions:
        parts.append(f'<p class="questions"><em>{QUESTIONS_HEADING} (each answer could change '
                     "this finding):</em></p><ul>"
                     + "".join(f"<li>{escape(q)}</li>" for q in questions) + "</ul>")
    parts.append("</div>")
    return "".join(parts)


def _table(header: list[str], rows: list[list[str]], right: int = 0) -> str:
    head = "".join(f'<th class="{"num" if i < right else ""}">{escape(h)}</th>'
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i < right else ""}">{escape(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _overview(ov: Overview) -> str:
    rows = overview_rows(ov)
    return ('<section id="overview"><h2>Overview</h2>'
            f"<h3>{escape(statements_heading(ov))}</h3>"
            + (_table(["queryid", "calls", "mean", "rows", "share", "statement"], rows["top"],
                      right=5) if rows["top"] else "<p>None measured.</p>")
            + "<h3>Sizes</h3>" + _table(["kind", "name", "size"], rows["sizes"])
            + "<ul>" + "".join(f"<li>{escape(f)}</li>" for f in overview_facts(ov)) + "</ul>"
            + f"<h3>{escape(unused_heading(ov))}</h3>"
            + (_table(["index", "table", "size"], rows["unused"]) if rows["unused"]
               else "<p>None.</p>")
            + "</section>")


def render_html(report: Report) -> str:
    failed = failed_collectors(report)
    asked = questions_by_finding(report)
    total = (f" · {ms_text(report.overview.statements_total_ms)} of statement time measured"
             if report.overview else "")
    body = [f"<h1>pgsage report</h1><p>{escape(target_line(report))}{escape(total)}</p>",
            f"<p><strong>{escape(summary_line(report))}</strong></p>"]
    if report.recommendations:
        body.append(_ranked(report))
    body.append(f"<p class=\"muted\">Collectors: {len(report.collectors) - len(failed)} of "
                f"{len(report.collectors)} ran.</p>")
    notes = [f"skipped {n}: {why}" for n, why in failed] + [f"note: {n}" for n in report.notes]
    if notes:
        body.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    body.append(_charts(report))
    if report.recommendations:
        body.append("<h2>Findings</h2>")
    body.extend(_finding(n, r, report, [q.text for m, q in asked if m == n])
                for n, r in enumerate(report.recommendations, 1))
    if report.overview is not None:
        body.append(_overview(report.overview))
    if report.appendix:
        body.append(f"<h2>Reasoning</h2><pre>{escape(report.appendix)}</pre>")
    title = f"pgsage report: {report.target.database or 'database'}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(body) + f"<script>{SCRIPT}</script></body></html>\n")
