"""One benefit measure across categories, and the same order and numbers in every format."""

from __future__ import annotations

import json
import re

from factories import NOW, make_model, make_snapshot, make_statement

from pgsage.analyzer.engine.gains import with_gains
from pgsage.analyzer.model.findings import (
    Category,
    ObjectRef,
    Recommendation,
    Severity,
    TimeGain,
    ranked,
)
from pgsage.analyzer.output.render import Format, render
from pgsage.analyzer.output.report import build

HOUR = 3600.0


def rec(rule: str, severity: Severity, title: str, gain: TimeGain | None = None,
        **fields: object) -> Recommendation:
    category = {"IX": Category.INDEX, "QY": Category.QUERY, "BK": Category.BACKUP,
                "MT": Category.MAINTENANCE}[rule[:2]]
    return Recommendation(rule, category, severity, title, "why", gain=gain,
                          **fields)  # type: ignore[arg-type]


def test_a_measured_win_outranks_any_posture_finding_but_a_critical_one() -> None:
    backup = rec("BK001", Severity.HIGH, "No WAL archiving")
    index = rec("IX001", Severity.MEDIUM, "Create index",
                TimeGain(HOUR, spent_ms=200_000, saved_ms=180_000))
    wraparound = rec("MT001", Severity.CRITICAL, "Sequence runs out")
    assert ranked([backup, index, wraparound]) == [wraparound, index, backup]


def test_bigger_time_saved_first_across_categories() -> None:
    small = rec("IX001", Severity.HIGH, "small", TimeGain(HOUR, 10_000, 1_000))
    big = rec("IX001", Severity.MEDIUM, "big", TimeGain(HOUR, 900_000, 800_000))
    assert ranked([small, big]) == [big, small]


def test_time_at_stake_ranks_between_saved_time_and_posture() -> None:
    saved = rec("IX001", Severity.MEDIUM, "index", TimeGain(HOUR, 1_000, 500))
    stake = rec("QY001", Severity.MEDIUM, "top statement", TimeGain(HOUR, 9_000_000))
    posture = rec("BK001", Severity.HIGH, "No WAL archiving")
    assert ranked([posture, stake, saved]) == [saved, stake, posture]


def _model_with_a_slow_statement() -> object:
    """2,250 calls of 80 ms in the hour between two snapshots."""
    baseline = make_snapshot(taken_at=NOW - HOUR)
    return make_model(baseline, statements=[make_statement(
        42, "SELECT * FROM orders WHERE user_id = $1", calls=2250,
        total_exec_time=2250 * 80.0)])


def _index_finding() -> Recommendation:
    return rec("IX001", Severity.MEDIUM, "Create index orders (user_id)",
               object=ObjectRef("public", "orders", "orders_user_id_idx", ("user_id",)),
               impact={"queryids": ["42"], "cost_before": 8000.0, "cost_after": 100.0},
               evidence={"statements": [{"queryid": "42", "calls": 2250,
                                         "cost_before": 8000.0, "cost_after": 100.0}]})


def test_index_advice_saves_measured_time_times_the_planner_cost_ratio() -> None:
    [found] = with_gains(_model_with_a_slow_statement(), [_index_finding()])  # type: ignore[arg-type]
    assert found.gain is not None
    [statement] = found.gain.statements
    assert statement.mean_ms == 80.0 and statement.after_ms == 1.0
    assert found.gain.per_hour(found.gain.saved_ms) == 2250 * 79.0


def test_the_table_says_the_win_in_time_and_what_is_measured() -> None:
    model = _model_with_a_slow_statement()
    report = build(model, with_gains(model, [_index_finding()]), [])  # type: ignore[arg-type]
    flat = " ".join(render(report, Format.TABLE).replace("│", " ").split())
    assert ("≈ 80 ms → 1.00 ms per call, 2,250 calls/h ⇒ about 3 min of database time saved "
            "per hour") in flat
    assert "Measured: calls and mean times over the 1.0 h from" in flat
    assert "≈3 min/h saved" in flat


def test_without_a_known_window_no_rate_per_hour_is_given() -> None:
    gain = TimeGain(0.0, spent_ms=1000.0, saved_ms=900.0)
    assert gain.per_hour(gain.saved_ms) is None
    found = rec("IX001", Severity.MEDIUM, "Create index", gain)
    report = build(make_model(), [found], [])
    assert "/h" not in render(report, Format.TABLE).split("Collectors:")[0]


def _numbers(fmt: Format, text: str) -> list[tuple[int, str]]:
    if fmt is Format.JSON:
        return [(r["rank"], r["rule"]) for r in json.loads(text)["recommendations"]]
    pattern = {Format.TABLE: r"^╭─ (\d+)\. \S+\s+(\w{2}\d{3}) ",
               Format.MARKDOWN: r"^### (\d+)\. \S+ (\w{2}\d{3}) ",
               Format.HTML: r'id="finding-(\d+)"><h3>\d+\. <span class="sev \w+">\w+</span> '
                            r"(\w{2}\d{3})"}[fmt]
    return [(int(n), code) for n, code in re.findall(pattern, text, re.MULTILINE)]


def test_every_format_numbers_the_findings_alike() -> None:
    findings = ranked([rec("BK001", Severity.HIGH, "No WAL archiving"),
                       rec("IX001", Severity.MEDIUM, "Create index",
                           TimeGain(HOUR, 10_000, 9_000)),
                       rec("QY001", Severity.LOW, "Top statement", TimeGain(HOUR, 5_000)),
                       rec("MT001", Severity.CRITICAL, "Sequence runs out")])
    report = build(make_model(), findings, [])
    expected = [(1, "MT001"), (2, "IX001"), (3, "BK001"), (4, "QY001")]
    for fmt in Format:
        text = render(report, fmt)
        assert _numbers(fmt, text) == expected, fmt
        if fmt is Format.TABLE:
            first = text.index("MT001"), text.index("IX001"), text.index("BK001")
            assert first == tuple(sorted(first))  # the ranked list, in the same order


def test_the_first_screen_of_the_table_is_the_ranked_list() -> None:
    findings = [rec("BK001", Severity.HIGH, f"Finding number {n} " + "long words " * 10)
                for n in range(30)]
    text = render(build(make_model(), findings, []), Format.TABLE)
    screen = text.splitlines()[:40]
    assert all(len(line) <= 100 for line in screen)
    listed = [line for line in screen if re.match(r"^\s*\d+\s+HIGH\s+BK001 ", line)]
    assert len(listed) == 30
