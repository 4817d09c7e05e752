"""The `row_security` collector on a real server, on every server version the suite has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector_support import snapshot

from pgsage.collectors.row_security import RowSecurity

if TYPE_CHECKING:
    from conftest import PgDatabase


def test_row_security_lists_tables_with_rls_or_policies(pg: PgDatabase) -> None:
    pg.execute("""
        CREATE TABLE invoices (tenant_id int); ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
        CREATE POLICY p ON invoices USING (tenant_id = 1);
        CREATE TABLE plain (id int);
    """)
    rows = snapshot(pg.dsn, only=["row_security"]).rows("row_security", RowSecurity)
    assert [(r.table, r.enabled, r.forced, r.policies) for r in rows] == [
        ("invoices", True, False, 1)]
