"""The `roles` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from collector_support import snapshot

from pgsage.collectors.roles import Role

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_roles_attributes_settings_and_password_kinds_without_the_hash(
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    md5 = make_role(options="PASSWORD 'md5" + "a" * 32 + "'")  # an md5 hash stored as given
    scram = make_role("pg_monitor", options="BYPASSRLS CREATEROLE PASSWORD 'pw'")
    bare = make_role(options="")
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
        pg: PgDatabase, make_role: Callable[..., str]) -> None:
    monitor = make_role("pg_monitor", options="")
    snap = snapshot(pg.server.dsn(pg.name, user=monitor))
    for name in ("roles", "namespaces", "row_security", "key_ranges"):
        assert snap.status[name].ok, snap.status[name].reason
    assert all(r.password_kind is None for r in snap.rows("roles", Role))
    hba = snap.status["hba"]
    assert not hba.ok and hba.reason is not None and "GRANT SELECT ON pg_hba_file_rules" in \
        hba.reason
