"""Backup and HA rules (BK) on small models: a pass and a fail case each, and questions."""

from __future__ import annotations

from factories import (
    NOW,
    codes,
    make_archiver,
    make_replica,
    make_wal,
    well_run_model,
    with_database,
)

from pgsage.analyzer.engine.advise import ask
from pgsage.analyzer.engine.config import RulesConfig
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.rules.backup.no_wal_archiving import archive_tool
from pgsage.rules.backup.recovery_point_objective import segment_end

SEGMENT = 16 * 1024**2


def all_of(model: Model, code: str) -> list[Recommendation]:
    from pgsage.analyzer.engine.advise import advise

    found, notes = advise(model, RulesConfig(select=(code,)))
    assert not notes
    return found


# --- BK001 archiving ----------------------------------------------------------------------
def test_bk001_archive_mode_off_needs_a_restart() -> None:
    [f] = all_of(well_run_model(changes={"archive_mode": "off", "archive_command": ""}), "BK001")
    assert f.severity is Severity.HIGH and f.action
    assert f.action.sql == ("ALTER SYSTEM SET archive_mode = 'on';\n"
                            "ALTER SYSTEM SET archive_command = "
                            "'pgbackrest --stanza=main archive-push %p';\n"
                            "-- then restart PostgreSQL: this setting is read only at server "
                            "start")
    assert f.evidence["restart_required"] is True and f.action.shell


def test_bk001_an_archive_command_that_keeps_nothing() -> None:
    [f] = all_of(well_run_model(changes={"archive_command": "/bin/true"}), "BK001")
    assert "keeps nothing" in f.detail


def test_bk001_passes_with_archiving_or_a_streaming_archiver() -> None:
    assert codes(well_run_model(), ["BK001"]) == []
    receiver = make_replica("pg_receivewal")
    model = well_run_model(changes={"archive_mode": "off"}, data={"replication": [receiver]})
    assert codes(model, ["BK001"]) == []


def test_bk001_asks_what_sql_cannot_show_naming_the_tool_only() -> None:
    model = well_run_model(changes={"archive_command": "wal-g wal-push %p --secret=abc"})
    questions, notes = ask(model, RulesConfig(select=("BK001",)))
    assert not notes and len(questions) == 4
    assert "WAL-G" in questions[0].text and "secret" not in questions[0].text
    assert all(q.rule == "BK001" and q.category.value == "backup" for q in questions)
    assert archive_tool("cp %p /mnt/archive/%f") == "cp"


# --- BK002 archiver failing -----------------------------------------------------------------
def test_bk002_archiver_failing_now() -> None:
    failing = make_archiver(failed_count=12, last_failed_wal="000000010000000000000040",
                            last_failed_time=NOW - 30, last_archived_time=NOW - 3600)
    [f] = all_of(well_run_model(data={"archiver": [failing]}), "BK002")
    assert f.severity is Severity.CRITICAL and f.evidence["failed_count"] == 12


def test_bk002_passes_when_the_last_failure_was_followed_by_a_success() -> None:
    recovered = make_archiver(failed_count=3, last_failed_time=NOW - 7200)
    assert codes(well_run_model(data={"archiver": [recovered]}), ["BK002"]) == []


# --- BK003 recovery-point objective ----------------------------------------------------------
def test_segment_end_is_the_position_after_the_segment() -> None:
    assert segment_end("00000001000000000000003F", SEGMENT) == 0x40 * SEGMENT
    assert segment_end("000000010000000100000000", SEGMENT) == (256 + 1) * SEGMENT
    assert segment_end("00000002.history", SEGMENT) is None


def test_bk003_unarchived_wal_older_than_the_rpo() -> None:
    old = make_archiver(last_archived_time=NOW - 3 * 3600)
    wal = make_wal(0x40 * SEGMENT + 9_000_000)
    [f] = all_of(well_run_model(data={"archiver": [old], "wal": [wal]}), "BK003")
    assert f.evidence["unarchived_bytes"] == 9_000_000
    assert f.action and f.action.sql == "SELECT pg_switch_wal();"


def test_bk003_archive_timeout_off_is_bounded_to_the_rpo_option() -> None:
    from pgsage.analyzer.engine.advise import advise

    model = well_run_model(changes={"archive_timeout": "0"})
    found, _ = advise(model, RulesConfig(select=("BK003",),
                                         options={"BK003": {"rpo_seconds": 900.0}}))
    [f] = found
    assert f.severity is Severity.MEDIUM and f.evidence["proposed"] == "15min"


def test_bk003_passes_when_recent_or_nothing_written() -> None:
    assert codes(well_run_model(), ["BK003"]) == []
    idle = make_archiver(last_archived_time=NOW - 5 * 3600)
    model = well_run_model(data={"archiver": [idle], "wal": [make_wal(0x40 * SEGMENT)]})
    assert codes(model, ["BK003"]) == []


# --- BK004 / BK005 standby ----------------------------------------------------------------------
def test_bk004_no_standby_is_low_and_asks_about_the_rto() -> None:
    model = well_run_model(data={"replication": [make_replica("pg_receivewal")]})
    [f] = all_of(model, "BK004")
    assert f.severity is Severity.LOW and f.action and f.action.shell
    questions, _ = ask(model, RulesConfig(select=("BK004",)))
    assert len(questions) == 1 and "recovery-time objective" in questions[0].text


def test_bk004_passes_with_a_standby_and_on_a_standby() -> None:
    assert codes(well_run_model(), ["BK004"]) == []
    assert codes(well_run_model(in_recovery=True, data={"replication": []}), ["BK004"]) == []


def test_bk005_standby_lagging_in_replay() -> None:
    lagging = make_replica(replay_lag=900.0, replay_lag_bytes=3 * 1024**3, write_lag=0.01)
    [f] = all_of(well_run_model(data={"replication": [lagging]}), "BK005")
    assert f.severity is Severity.HIGH and "replay" in f.detail


def test_bk005_passes_for_a_streaming_standby_in_step() -> None:
    assert codes(well_run_model(), ["BK005"]) == []


# --- BK006 / BK007 / BK008 durability ------------------------------------------------------------
def test_bk006_wal_level_minimal() -> None:
    [f] = all_of(well_run_model(changes={"wal_level": "minimal", "max_wal_senders": "0"}), "BK006")
    assert f.action and "ALTER SYSTEM SET max_wal_senders = '10';" in (f.action.sql or "")
    assert codes(well_run_model(), ["BK006"]) == []


def test_bk007_checksums_off_and_failures_found() -> None:
    from factories import make_server

    off = well_run_model(data={"server": [make_server(data_checksums=False)]})
    [f] = all_of(off, "BK007")
    assert f.severity is Severity.MEDIUM and f.action and "pg_checksums --enable" in (
        f.action.shell or "")
    broken = well_run_model(data={"database": [with_database(checksum_failures=3)]})
    [g] = all_of(broken, "BK007")
    assert g.severity is Severity.CRITICAL
    assert codes(well_run_model(), ["BK007"]) == []


def test_bk008_says_what_each_setting_risks() -> None:
    model = well_run_model(changes={"fsync": "off", "full_page_writes": "off",
                                "synchronous_commit": "off"})
    found = {f.evidence["setting"]: f for f in all_of(model, "BK008")}
    assert found["fsync"].severity is Severity.CRITICAL and "corrupt" in found["fsync"].detail
    assert found["full_page_writes"].severity is Severity.HIGH
    assert "torn page" in found["full_page_writes"].detail
    assert found["synchronous_commit"].severity is Severity.MEDIUM
    assert "No corruption" in found["synchronous_commit"].detail
    assert codes(well_run_model(changes={"synchronous_commit": "local"}), ["BK008"]) == []
