"""The overview: always there, whatever the findings, each figure with its window."""

from __future__ import annotations

from factories import (
    NOW,
    make_backend,
    make_index,
    make_model,
    make_pkey,
    make_snapshot,
    make_statement,
    make_table,
)
from report_contract import check_report

from pgsage.analyzer.output.overview import build_overview
from pgsage.analyzer.output.render import render_json, render_markdown, render_table
from pgsage.analyzer.output.report import build


def _model() -> object:
    orders = make_table("orders", table_bytes=50 * 1024**2)
    statements = [make_statement(q, f"SELECT {q}", calls=10, total_exec_time=float(t), rows=10)
                  for q, t in ((1, 400.0), (2, 300.0), (3, 200.0), (4, 100.0))]
    return make_model(make_snapshot(taken_at=NOW - 600), tables=[orders],
                      indexes=[make_pkey(orders, idx_scan=0),
                               make_index(orders, "orders_note_idx", idx_scan=0, bytes=8192)],
                      statements=statements,
                      activity=[make_backend(1, state="active"), make_backend(2, state="idle"),
                                make_backend(3, state="idle")])


def test_top_statements_are_listed_with_their_share_even_when_none_reaches_five_percent() -> None:
    overview = build_overview(_model())  # type: ignore[arg-type]
    assert [(s.queryid, round(s.share, 2)) for s in overview.top_statements] == [
        ("1", 0.4), ("2", 0.3), ("3", 0.2), ("4", 0.1)]
    assert overview.top_statements[0].mean_ms == 40.0


def test_unused_indexes_are_a_watch_list_without_the_keys() -> None:
    overview = build_overview(_model())  # type: ignore[arg-type]
    assert [u.name for u in overview.unused_indexes] == ["public.orders_note_idx"]
    text = " ".join(render_table(build(_model(), [], [])).split())  # type: ignore[arg-type]
    assert "Indexes not used so far (no scan over the 10.0 min from" in text
    assert "not a drop recommendation" in text


def test_connections_by_state_are_counted() -> None:
    overview = build_overview(_model())  # type: ignore[arg-type]
    assert overview.connections == {"idle": 2, "active": 1}


def test_every_format_has_the_overview_with_no_findings() -> None:
    report = build(_model(), [], [])  # type: ignore[arg-type]
    doc = check_report(render_json(report))
    assert doc["overview"]["statements"]["top"][0] == {
        "queryid": "1", "text": "SELECT 1", "calls": 10, "total_ms": 400.0, "mean_ms": 40.0,
        "rows": 10, "share": 0.4}
    assert doc["overview"]["window"] == {"seconds": 600.0, "kind": "between-snapshots"}
    assert "## Overview" in render_markdown(report)
    assert "Top statements by total time" in render_table(report)
