"""Details a user reads and acts on, right for every rule alike (issue 14, "wrong details
seen"): setting values as PostgreSQL prints them, reload or restart as the setting's context
requires, BK004's standby steps, QY001's pointer to other findings, BK001's evidence, and a
security section that says what it could not check."""

from __future__ import annotations

import dataclasses

import pytest
from factories import (
    make_hba,
    make_replica,
    make_role,
    make_setting,
    make_statement,
    make_table,
    well_run_model,
)

from pgsage.analyzer.engine.advise import advise
from pgsage.analyzer.engine.config import RulesConfig
from pgsage.analyzer.engine.related import with_related
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation
from pgsage.collectors.settings import Setting
from pgsage.rules._support.settings import change, show


def found(model: Model, code: str) -> list[Recommendation]:
    out, notes = advise(model, RulesConfig(select=(code,)))
    assert not notes
    return [r for r in out if r.rule == code]


def setting(value: str, unit: str | None, context: str = "user", name: str = "x") -> Setting:
    return Setting(name=name, setting=value, unit=unit, vartype="integer", context=context,
                   source="configuration file", boot_val=None, reset_val=value,
                   pending_restart=False)


@pytest.mark.parametrize(("value", "unit", "shown"), [
    ("1024", "B", "1kB"), ("1000", "B", "1000B"), ("16384", "8kB", "128MB"),
    ("1536", "kB", "1536kB"), ("4194304", "kB", "4GB"), ("64", "kB", "64kB"),
    ("90000", "ms", "90s"), ("300", "s", "5min"), ("86400", "s", "1d"), ("250", "ms", "250ms"),
    ("-1", "kB", "-1"), ("0", "ms", "0"), ("0.5", "ms", "500us"), ("2", "ms", "2ms"),
    ("on", None, "on"), ("1.1", None, "1.1"), ("1024", "MB", "1GB"),
])
def test_a_setting_value_prints_as_postgresql_shows_it(value: str, unit: str | None,
                                                       shown: str) -> None:
    assert show(setting(value, unit)) == shown


def test_cf019_title_shows_a_1kb_limit_as_1kb() -> None:
    t = make_table("orders")
    long = "SELECT " + ", ".join(f"c{i}" for i in range(400)) + " FROM orders"
    model = well_run_model(tables=[t], statements=[make_statement(41, long, calls=5)],
                       changes={"track_activity_query_size": "1024"})
    [f] = found(model, "CF019")
    assert "track_activity_query_size 1kB -> " in f.title and f.evidence["current"] == "1kB"


def test_cf019_ignores_bulk_load_inserts() -> None:
    t = make_table("orders")
    rows = ", ".join(f"(${2 * i + 1}, ${2 * i + 2})" for i in range(500))
    bulk = f"INSERT INTO orders (id, total) VALUES {rows}"
    model = well_run_model(tables=[t], statements=[make_statement(43, bulk, calls=50)],
                       changes={"track_activity_query_size": "1024"})
    assert found(model, "CF019") == []


def test_a_restart_only_change_and_its_undo_both_say_restart() -> None:
    model = well_run_model(settings=[make_setting("shared_buffers", "16384", "8kB")])
    action = change(model, {"shared_buffers": "1GB"})
    for sql in (action.sql, action.undo_sql):
        assert sql and "restart PostgreSQL" in sql and "pg_reload_conf" not in sql
    assert action.shell and "restart" in action.shell


def test_a_reloadable_change_and_its_undo_both_reload() -> None:
    model = well_run_model()
    action = change(model, {"work_mem": "64MB"})
    for sql in (action.sql, action.undo_sql):
        assert sql and sql.endswith("SELECT pg_reload_conf();") and "restart" not in sql
    assert action.shell is None


def test_bk001_a_disabled_archive_command_is_no_command() -> None:
    [f] = found(well_run_model(changes={"archive_mode": "off", "archive_command": "(disabled)"}),
                "BK001")
    assert f.evidence["archive_command_set"] is False


def test_bk004_creates_the_replication_role_and_its_hba_line_and_runs_on_the_standby() -> None:
    model = well_run_model(data={"replication": [make_replica("pg_receivewal")]})
    [f] = found(model, "BK004")
    assert f.action and f.action.sql and f.action.shell
    assert "CREATE ROLE replicator WITH REPLICATION LOGIN;" in f.action.sql
    assert "host replication replicator" in f.action.shell
    assert "-p 5432" in f.action.shell and "-U replicator" in f.action.shell
    assert "on the new standby's host" in f.action.shell


def test_bk004_uses_an_existing_replication_role_its_hba_line_admits() -> None:
    roles = [make_role("postgres", oid=10, superuser=True), make_role("repl", replication=True)]
    hba = [make_hba(1, "peer", type="local"),
           make_hba(2, databases=("replication",), users=("repl",))]
    model = well_run_model(data={"replication": [], "roles": roles, "hba": hba})
    [f] = found(model, "BK004")
    assert f.action and f.action.shell and "-U repl " in f.action.shell
    assert f.action.sql is None and "pg_hba.conf" not in f.action.shell


def test_qy001_names_other_findings_only_when_there_are_some() -> None:
    t = make_table("orders")
    heavy = make_statement(51, "SELECT * FROM orders WHERE id = $1", calls=100_000,
                           total_exec_time=50_000.0, rows=100_000)
    [alone] = found(well_run_model(tables=[t], statements=[heavy]), "QY001")
    assert "Other findings" not in alone.detail
    index = dataclasses.replace(alone, rule="IX001", title="Index orders (id)",
                                detail="...", impact={"queryids": ["51"]})
    [listed, _] = with_related([alone, index], {"QY001"})
    head, _, statement = listed.detail.partition("\n")
    assert head.endswith("Other findings for queryid 51 say what to change: IX001.")
    assert statement == alone.detail.partition("\n")[2]


def test_under_pg_monitor_the_security_section_says_what_it_did_not_check() -> None:
    roles = [make_role("postgres", oid=10, superuser=True, password_kind=None),
             make_role("mon", password_kind=None)]
    model = well_run_model(data={"roles": roles}, failed={"hba": "pg_hba_file_rules is readable "
                                                               "by superusers only"})
    [f] = found(model, "SE010")
    assert "pg_hba.conf" in f.detail and "pg_authid" in f.detail
    assert f.action and f.action.sql and "GRANT SELECT ON pg_catalog.pg_hba_file_rules" in \
        f.action.sql
    assert found(well_run_model(), "SE010") == []
