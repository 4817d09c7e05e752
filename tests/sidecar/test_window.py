"""The rolling window and its reset handling: rates are never negative or absurd."""

from __future__ import annotations

import random

import pytest
from sidecar_support import boot, failed, make, ok

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.sidecar.topn import Membership
from pgsage.analyzer.sidecar.window import Window
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.statements import StatementStats
from pgsage.collectors.statements_info import StatementsInfoStats
from pgsage.collectors.tables import TableStats


def stmt(queryid: int, calls: int, exec_ms: float | None = None,
         stats_since: float | None = None) -> StatementStats:
    return make(StatementStats, userid=10, username="app", dbid=5, toplevel=True,
                queryid=queryid, calls=calls, total_exec_time=exec_ms if exec_ms is not None
                else calls * 2.0, rows=calls, stats_since=stats_since)


def statements_run(window: Window, at: float, statements: list[StatementStats],
                   stats_reset: float = 100.0, started_at: float = 50.0) -> list[str]:
    info = make(StatementsInfoStats, dealloc=0, stats_reset=stats_reset)
    return window.add(boot(started_at), {"statements": ok(statements, at),
                                         "statements_info": ok([info], at)}, "db1", at)


def model(window: Window) -> Model:
    current = window.current()
    assert current is not None
    return Model(current, window.baseline())


def calls(window: Window) -> dict[int, float]:
    frame = model(window).statements
    return {int(r.queryid): float(r.calls) for r in frame.itertuples()}


def test_deltas_over_the_window() -> None:
    w = Window(length=600)
    statements_run(w, 1000, [stmt(1, 100)])
    statements_run(w, 1060, [stmt(1, 160)])
    m = model(w)
    assert m.window.kind == "between-snapshots"
    assert m.window.seconds == pytest.approx(60)
    assert calls(w) == {1: 60}


def test_pg_stat_statements_reset_starts_the_window_again() -> None:
    w = Window(length=600)
    statements_run(w, 1000, [stmt(1, 100_000), stmt(2, 50)], stats_reset=100)
    notes = statements_run(w, 1060, [stmt(1, 30)], stats_reset=1050)
    assert notes and "reset" in notes[0]
    assert w.resets["statements"] == 1
    assert w.baseline() is None
    m = model(w)
    # No baseline: totals since the reset, over the time since the reset (10 s), not since
    # the old baseline and not minus the old counters.
    assert m.window.kind == "since-reset"
    assert m.window.seconds == pytest.approx(10)
    assert calls(w) == {1: 30}
    statements_run(w, 1120, [stmt(1, 90)], stats_reset=1050)
    assert calls(w) == {1: 60}
    assert model(w).window.seconds == pytest.approx(60)


def test_reset_in_another_group_keeps_statements_read_after_it() -> None:
    w = Window(length=600)
    statements_run(w, 1000, [stmt(1, 100)], stats_reset=100)
    # statements_info alone (as if it ran in a later job) reports a reset at 1030.
    w.add(boot(50), {"statements": ok([stmt(1, 5)], 1040)}, "db1", 1040)
    info = make(StatementsInfoStats, dealloc=0, stats_reset=1030.0)
    w.add(boot(50), {"statements_info": ok([info], 1045)}, "db1", 1045)
    assert [e.taken_at for e in w.history["statements"]] == [1040]


def test_server_restart_clears_every_history() -> None:
    w = Window(length=600)
    statements_run(w, 1000, [stmt(1, 500)], started_at=50)
    notes = statements_run(w, 1060, [stmt(1, 10)], started_at=1055)
    assert w.resets["restart"] == 1
    assert any("restarted" in n for n in notes)
    assert w.baseline() is None
    assert calls(w) == {1: 10}


def test_pg_stat_reset_clears_database_and_table_history() -> None:
    w = Window(length=600)

    def run(at: float, seq_scan: int, stats_reset: float) -> None:
        db = make(DatabaseStats, datid=5, datname="shop", blks_hit=1000, blks_read=10,
                  stats_reset=stats_reset)
        table = make(TableStats, relid=42, schema="public", name="t", relkind="r",
                     seq_scan=seq_scan, seq_tup_read=seq_scan * 10)
        w.add(boot(50), {"database": ok([db], at), "tables": ok([table], at)}, None, at)

    run(1000, 5000, stats_reset=100)
    run(1060, 5100, stats_reset=100)
    assert len(w.history["tables"]) == 2
    run(1120, 3, stats_reset=1100)  # pg_stat_reset() at 1100
    assert w.resets["database"] == 1
    assert [e.taken_at for e in w.history["tables"]] == [1120]
    # Nothing from before the reset is left to subtract from the new, smaller counters.
    baseline = w.baseline()
    assert baseline is None or "tables" not in baseline.data
    current = w.current()
    assert current is not None and current.rows("tables", TableStats)[0].seq_scan == 3


def test_evicted_statement_counts_whole_when_stats_since_moved() -> None:
    w = Window(length=600)
    statements_run(w, 1000, [stmt(1, 1000, stats_since=900), stmt(2, 10, stats_since=900)])
    # Entry 1 was evicted and entered again at 1010: its 1200 calls are all new.
    statements_run(w, 1060, [stmt(1, 1200, stats_since=1010), stmt(2, 20, stats_since=900)])
    assert calls(w) == {1: 1200, 2: 10}


def test_evicted_statement_without_stats_since_is_never_negative() -> None:
    w = Window(length=600)
    statements_run(w, 1000, [stmt(1, 1000), stmt(2, 10)])
    statements_run(w, 1060, [stmt(1, 30), stmt(2, 20)])  # pre-17: calls went down
    assert calls(w) == {1: 30, 2: 10}


def test_random_resets_never_give_negative_or_impossible_rates() -> None:
    rng = random.Random(11)
    w = Window(length=300)
    true_calls = {q: 0 for q in range(5)}
    stats_reset, started_at, at = 100.0, 50.0, 1000.0
    max_rate = 200 / 5  # at most 200 calls per step, steps at least 5 s apart
    for _ in range(60):
        previous, at = at, at + rng.uniform(5, 20)
        event = rng.random()
        if event < 0.05:  # a restart (crash: counters lost) right after the previous run
            started_at = previous + 0.001
            true_calls = dict.fromkeys(true_calls, 0)
        elif event < 0.10:
            stats_reset = previous + 0.001
            true_calls = dict.fromkeys(true_calls, 0)
        elif event < 0.15:
            evicted = rng.randrange(5)
            true_calls[evicted] = 0
        for q in true_calls:
            true_calls[q] += rng.randint(0, 200)
        statements_run(w, at, [stmt(q, c) for q, c in true_calls.items()], stats_reset,
                       started_at)
        m = model(w)
        frame = m.statements
        numeric = frame[["calls", "total_exec_time", "rows"]]
        assert (numeric >= 0).all().all()
        seconds = max(m.window.seconds, 1.0)
        assert (frame["calls"] / seconds <= max_rate * 1.001).all(), (frame, seconds)


def test_history_is_thinned_and_pruned() -> None:
    w = Window(length=80, slots=8)
    for i in range(300):
        statements_run(w, 1000 + i, [stmt(1, i)])
    entries = w.history["statements"]
    assert len(entries) <= 11
    assert 1299 - entries[0].taken_at <= 80
    assert 1299 - entries[0].taken_at >= 80 - 80 / 8 - 1
    assert w.seconds == pytest.approx(1299 - entries[0].taken_at)


def test_failed_collector_has_no_current_data_but_keeps_history() -> None:
    w = Window(length=600)
    statements_run(w, 1000, [stmt(1, 10)])
    w.add(boot(50), {"statements": failed("permission denied", "insufficient_privilege", 1060)},
          None, 1060)
    current = w.current()
    assert current is not None
    assert "statements" not in current.data
    assert current.status["statements"].ok is False
    assert len(w.history["statements"]) == 1


def test_membership_is_stable_and_bounded() -> None:
    m: Membership[str] = Membership(2)
    assert m.update(["a", "b", "c", "d", "e"]) == {"a", "b"}
    # b falls to third place: still within the top 2N, so it stays; c enters at the top.
    assert m.update(["c", "a", "b", "d", "e"]) == {"a", "b", "c"}
    # a and b fall out of the top 4: they leave.
    assert m.update(["d", "e", "c", "x", "a", "b"]) == {"c", "d", "e"}
    for _ in range(50):
        ranking = [str(i) for i in random.sample(range(100), 100)]
        assert len(m.update(ranking)) <= 4
