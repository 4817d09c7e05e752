"""Security rules (SE) on small models: a pass and a fail case each; password redaction."""

from __future__ import annotations

from factories import (
    app_backend,
    codes,
    make_column,
    make_hba,
    make_namespace,
    make_rls,
    make_role,
    make_statement,
    make_table,
    well_run_model,
)

from pgsage.analyzer.engine.config import Config, RulesConfig
from pgsage.analyzer.engine.pipeline import analyze
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Recommendation, Severity
from pgsage.analyzer.output.render import Format, render


def all_of(model: Model, code: str) -> list[Recommendation]:
    from pgsage.analyzer.engine.advise import advise

    found, notes = advise(model, RulesConfig(select=(code,)))
    assert not notes
    return found


# --- SE001 superuser sessions --------------------------------------------------------------------
def test_se001_application_as_a_superuser_role_loses_superuser() -> None:
    roles = [make_role("postgres", oid=10, superuser=True), make_role("shop", superuser=True)]
    [f] = all_of(well_run_model(activity=[app_backend(usename="shop")], data={"roles": roles}),
                 "SE001")
    assert f.severity is Severity.HIGH
    assert f.action and f.action.sql == ('ALTER ROLE shop NOSUPERUSER;\n'
                                         'GRANT pg_read_all_data, pg_write_all_data TO shop;')


def test_se001_application_as_postgres_gets_a_role_of_its_own() -> None:
    roles = [make_role("postgres", oid=10, superuser=True)]
    [f] = all_of(well_run_model(activity=[app_backend(usename="postgres",
                                                  application_name="Shop API")],
                            data={"roles": roles}), "SE001")
    assert f.action and f.action.sql and f.action.sql.startswith(
        'CREATE ROLE shop_api_app LOGIN IN ROLE pg_read_all_data, pg_write_all_data;')


def test_se001_passes_for_admin_tools_and_ordinary_roles() -> None:
    roles = [make_role("postgres", oid=10, superuser=True), make_role("app")]
    psql = app_backend(usename="postgres", application_name="psql")
    assert codes(well_run_model(activity=[psql, app_backend()], data={"roles": roles}),
                 ["SE001"]) == []


def superuser_workload(calls: int) -> Model:
    """pgbench's shape: every statement under postgres, the application disconnected."""
    accounts = make_table("pgbench_accounts")
    roles = [make_role("postgres", oid=10, superuser=True)]
    statements = [make_statement(1, "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
                                 calls, username="postgres"),
                  make_statement(2, "CREATE INDEX ON pgbench_accounts (bid)", 1,
                                 username="postgres")]
    return well_run_model(tables=[accounts], statements=statements, data={"roles": roles})


def test_se001_a_workload_that_ran_as_a_superuser_is_found_after_it_disconnected() -> None:
    [f] = all_of(superuser_workload(5000), "SE001")
    assert f.title == "Application statements ran as superuser postgres"
    assert f.evidence["statement_calls"] == 5000 and f.evidence["sessions"] == 0
    assert "pg_stat_statements" in f.detail


def test_se001_an_administrators_few_statements_are_not_a_workload() -> None:
    assert codes(superuser_workload(20), ["SE001"]) == []


# --- SE002 / SE003 passwords ---------------------------------------------------------------------
def test_se002_md5_encryption_and_md5_hashes() -> None:
    roles = [make_role("app", password_kind="md5"), make_role("ok")]
    found = all_of(well_run_model(changes={"password_encryption": "md5"}, data={"roles": roles}),
                   "SE002")
    by_kind = {"roles" in f.evidence: f for f in found}
    assert by_kind[False].evidence["proposed"] == "scram-sha-256"
    assert by_kind[True].evidence["roles"] == ["app"]
    assert by_kind[True].action and by_kind[True].action.shell == (
        "psql -X -c \"SET password_encryption = 'scram-sha-256'\" -c '\\password app'")


def test_se002_se003_pass_with_scram_or_unknown_kinds() -> None:
    roles = [make_role("app", password_kind=None), make_role("b")]
    assert codes(well_run_model(data={"roles": roles}), ["SE002", "SE003"]) == []


def test_se003_login_role_without_password() -> None:
    [f] = all_of(well_run_model(data={"roles": [make_role("report", password_kind="none")]}),
                 "SE003")
    assert f.severity is Severity.LOW and f.evidence["roles"] == ["report"]


# --- SE004 pg_hba.conf ---------------------------------------------------------------------------
def test_se004_trust_reachable_from_the_network_is_high() -> None:
    rules = [make_hba(80, "trust", type="local"), make_hba(82, "trust", address="0.0.0.0")]
    [f] = all_of(well_run_model(data={"hba": rules}), "SE004")
    assert f.severity is Severity.HIGH and f.evidence["remote_lines"] == [82]
    assert f.action and "line 80: trust -> peer; line 82: trust -> scram-sha-256" in (
        f.action.shell or "")


def test_se004_local_trust_is_medium_and_password_is_reported() -> None:
    rules = [make_hba(1, "trust", address="127.0.0.1"), make_hba(2, "password")]
    found = {f.evidence["method"]: f for f in all_of(well_run_model(data={"hba": rules}), "SE004")}
    assert found["trust"].severity is Severity.MEDIUM
    assert found["password"].severity is Severity.MEDIUM


def test_se004_passes_for_scram_and_peer() -> None:
    assert codes(well_run_model(), ["SE004"]) == []


# --- SE005 encryption in transit -----------------------------------------------------------------
def test_se005_ssl_off_while_listening_on_all_interfaces() -> None:
    [f] = all_of(well_run_model(changes={"ssl": "off"}), "SE005")
    assert f.severity is Severity.HIGH and f.evidence["proposed"] == "on"


def test_se005_remote_plain_sessions() -> None:
    plain = app_backend(ssl=False)
    [f] = all_of(well_run_model(activity=[plain]), "SE005")
    assert f.severity is Severity.MEDIUM and f.evidence["clients"] == ["app@10.0.0.5"]


def test_se005_passes_on_loopback_only_or_with_ssl() -> None:
    local = app_backend(ssl=False, client_addr="127.0.0.1")
    model = well_run_model(changes={"ssl": "off", "listen_addresses": "localhost"},
                       activity=[local])
    assert codes(model, ["SE005"]) == []
    assert codes(well_run_model(), ["SE005"]) == []


# --- SE006 CREATE on schema public ---------------------------------------------------------------
def test_se006_public_create_is_revoked() -> None:
    [f] = all_of(well_run_model(data={"namespaces": [make_namespace(public_create=True)]}), "SE006")
    assert f.action and f.action.sql == 'REVOKE CREATE ON SCHEMA public FROM PUBLIC;'
    assert codes(well_run_model(), ["SE006"]) == []


# --- SE007 multi-tenant tables without RLS -------------------------------------------------------
def _tenants(rls: bool) -> Model:
    a, b = make_table("invoices"), make_table("projects")
    cols = [make_column(a, "tenant_id", "uuid"), make_column(b, "tenant_id", "uuid")]
    return well_run_model(tables=[a, b], data={"columns": cols, "row_security": [
        make_rls(a, enabled=rls), make_rls(b, enabled=True)]})


def test_se007_tenant_table_without_row_level_security() -> None:
    [f] = all_of(_tenants(rls=False), "SE007")
    assert f.object.table == "invoices" and f.action
    assert "current_setting('app.tenant_id')::uuid" in (f.action.sql or "")


def test_se007_passes_with_row_level_security() -> None:
    assert codes(_tenants(rls=True), ["SE007"]) == []


# --- SE008 passwords in pg_stat_statements -------------------------------------------------------
def test_se008_reports_queryids_and_never_the_literal() -> None:
    statements = [make_statement(-77, "ALTER ROLE app PASSWORD 'hunter2'"),
                  make_statement(78, "SELECT 1")]
    model = well_run_model(statements=statements)
    [f] = all_of(model, "SE008")
    assert f.severity is Severity.HIGH and f.impact["queryids"] == [-77]
    assert f.action and f.action.sql and f.action.sql.startswith(
        'SELECT public.pg_stat_statements_reset(0, 0, -77);')
    report = analyze(model.snapshot, Config())
    for fmt in Format:
        assert "hunter2" not in render(report, fmt)
    assert codes(well_run_model(statements=statements[1:]), ["SE008"]) == []




# --- SE009 privileged application roles ----------------------------------------------------------
def test_se009_application_role_with_bypassrls() -> None:
    roles = [make_role("api", bypass_rls=True, create_role=True)]
    [f] = all_of(well_run_model(activity=[app_backend(usename="api")], data={"roles": roles}),
                 "SE009")
    assert f.action and f.action.sql == 'ALTER ROLE api NOBYPASSRLS NOCREATEROLE;'
    assert codes(well_run_model(), ["SE009"]) == []
