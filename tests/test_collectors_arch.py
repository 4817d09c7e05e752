"""The collectors the architecture rules read: roles, pg_hba.conf, schema privileges, row level
security and integer key ranges, on every server version, as superuser and as pg_monitor."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from conftest import PgDatabase
from test_collectors import by, seed, snapshot

from pgsage.collectors.hba import HbaRule
from pgsage.collectors.key_ranges import KeyRange
from pgsage.collectors.namespaces import Namespace
from pgsage.collectors.roles import Role
from pgsage.collectors.row_security import RowSecurity

ARCH = ("roles", "hba", "namespaces", "row_security", "key_ranges")


@pytest.fixture
def role(pg: PgDatabase) -> Iterator[Callable[..., str]]:
    created: list[str] = []

    def make(options: str = "", *grants: str) -> str:
        name = f"pgsage_arch_{os.getpid()}_{len(created)}_{pg.name}"[:63]
        pg.execute(f"CREATE ROLE {name} LOGIN {options}")
        for grant in grants:
            pg.execute(f"GRANT {grant} TO {name}")
        created.append(name)
        return name

    yield make
    for name in created:
        pg.execute(f"DROP OWNED BY {name}")
        pg.server.execute(f"DROP ROLE IF EXISTS {name}")


def test_roles_attributes_settings_and_password_kinds_without_the_hash(
        pg: PgDatabase, role: Callable[..., str]) -> None:
    md5 = role("PASSWORD 'md5" + "a" * 32 + "'")  # an md5 hash stored as given
    scram = role("BYPASSRLS CREATEROLE PASSWORD 'pw'", "pg_monitor")
    bare = role()
    pg.execute(f"ALTER ROLE {scram} SET idle_in_transaction_session_timeout = '1min'")
    pg.execute(f"ALTER ROLE {scram} SET application_name = 'not-read'")
    pg.execute(f"ALTER ROLE {scram} IN DATABASE \"{pg.name}\" SET statement_timeout = '5s'")
    snap = snapshot(pg.dsn, only=["server", "roles"])
    roles = {r.name: r for r in snap.rows("roles", Role)}
    assert roles[md5].password_kind == "md5"
    assert roles[bare].password_kind == "none"
    got = roles[scram]
    assert got.password_kind == "scram-sha-256"
    assert (got.bypass_rls, got.create_role, got.superuser) == (True, True, False)
    assert got.member_of == ("pg_monitor",)
    assert got.config == ("idle_in_transaction_session_timeout=1min", "statement_timeout=5s")
    assert roles["postgres"].superuser and roles["postgres"].oid == 10
    assert not any(name.startswith("pg_") for name in roles)


def test_a_pg_monitor_role_reads_roles_without_password_kinds_and_skips_hba(
        pg: PgDatabase, role: Callable[..., str]) -> None:
    monitor = role("", "pg_monitor")
    snap = snapshot(pg.server.dsn(pg.name, user=monitor))
    for name in ("roles", "namespaces", "row_security", "key_ranges"):
        assert snap.status[name].ok, snap.status[name].reason
    assert all(r.password_kind is None for r in snap.rows("roles", Role))
    hba = snap.status["hba"]
    assert not hba.ok and hba.reason is not None and "GRANT SELECT ON pg_hba_file_rules" in \
        hba.reason


def test_hba_rules_as_the_server_parsed_them(pg: PgDatabase) -> None:
    rules = snapshot(pg.dsn, only=["hba"]).rows("hba", HbaRule)
    assert rules and all(r.error is None for r in rules)
    assert any(r.type == "host" and r.address == "127.0.0.1" for r in rules)
    assert [r.line_number for r in rules] == sorted(r.line_number for r in rules)


def test_namespaces_show_create_for_public(pg: PgDatabase) -> None:
    pg.execute("CREATE SCHEMA app; GRANT CREATE ON SCHEMA app TO PUBLIC;")
    spaces = snapshot(pg.dsn, only=["namespaces"]).rows("namespaces", Namespace)
    assert by(spaces, name="app").public_create
    public = by(spaces, name="public")
    assert public.public_usage and public.public_create == (pg.version_num < 150000)


def test_row_security_lists_tables_with_rls_or_policies(pg: PgDatabase) -> None:
    pg.execute("""
        CREATE TABLE invoices (tenant_id int); ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
        CREATE POLICY p ON invoices USING (tenant_id = 1);
        CREATE TABLE plain (id int);
    """)
    rows = snapshot(pg.dsn, only=["row_security"]).rows("row_security", RowSecurity)
    assert [(r.table, r.enabled, r.forced, r.policies) for r in rows] == [
        ("invoices", True, False, 1)]


def test_key_ranges_give_the_largest_analyzed_value_and_the_feeding_sequence(
        pg: PgDatabase) -> None:
    seed(pg, """
        CREATE TABLE accounts (id serial PRIMARY KEY, external_id int UNIQUE,
                               code smallint, label bigint);
        INSERT INTO accounts (external_id, code)
             SELECT 1900000000 + g, 1 FROM generate_series(1, 1000) g;
        CREATE TABLE payments (account_id int REFERENCES accounts, note text);
        CREATE TABLE fresh (id bigint PRIMARY KEY);
        ANALYZE;
    """)
    keys = {(k.table, k.column): k for k in
            snapshot(pg.dsn, only=["key_ranges"]).rows("key_ranges", KeyRange)}
    assert set(keys) == {("accounts", "id"), ("accounts", "external_id"),
                         ("payments", "account_id"), ("fresh", "id")}
    assert keys[("accounts", "id")].fed_by_sequence and keys[("accounts", "id")].max_value == 1000
    external = keys[("accounts", "external_id")]
    assert (external.constraint_type, external.type, external.fed_by_sequence) == (
        "u", "integer", False)
    assert external.max_value == 1_900_001_000
    assert keys[("payments", "account_id")].constraint_type == "f"
    assert keys[("fresh", "id")].max_value is None  # no rows, no statistics
