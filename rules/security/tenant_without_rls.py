"""Tables of a multi-tenant schema have no row level security."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.rules._support.catalog import columns_of, rows_with_partitions, user_tables
from pgsage.rules.base import Rule, register

TENANT_COLUMNS = ("tenant_id", "tenant", "org_id", "organization_id", "organisation_id",
                  "workspace_id", "account_id", "company_id", "customer_account_id")


@register
class TenantTableWithoutRls(Rule["TenantTableWithoutRls.Options"]):
    """Tables of a multi-tenant schema have no row level security.

    What it detects:
        When at least `min_tables` tables have a tenant column (tenant_id, org_id,
        organization_id, workspace_id, account_id, company_id), those without row level
        security enabled. Low: isolation may be enforced by the application, and this
        cannot be seen from SQL.

    Why it matters:
        If tenants are separated only by `WHERE tenant_id = ...` in the application, one
        forgotten condition (a new report, an ORM default scope skipped, an injection)
        shows one customer another's data. A policy on the table makes the database
        enforce it for every query of the application's role.

    Example:
        SELECT * FROM invoices WHERE id = $1;   -- no tenant condition: any tenant's invoice

    What to do:
        Enable row level security with a policy comparing the tenant column to a session
        setting the application sets per request (SET app.tenant_id = ...). The table's
        owner and roles with BYPASSRLS are not subject to it unless FORCE ROW LEVEL
        SECURITY; the application must not connect as either.
    """

    code: ClassVar[str] = "SE007"
    name: ClassVar[str] = "security.tenant_without_rls"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.LOW
    reads: ClassVar[tuple[str, ...]] = ("row_security",)

    @dataclass(frozen=True)
    class Options:
        min_tables: int = field(default=2, metadata={
            "help": "tables with a tenant column from which the schema counts as multi-tenant."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        cols = columns_of(model)
        tenant: list[tuple[str, str, str, str, float]] = []
        for t in user_tables(model, "rp"):
            names = cols.get(t.relid, {})
            column = next((c for c in TENANT_COLUMNS if c in names), None)
            if column is not None:
                rls = model.row_security.get(t.relid)
                if rls is None or not rls.enabled:
                    tenant.append((t.schema, t.name, column, names[column].type,
                                   rows_with_partitions(model, t)))
        all_tenant = sum(1 for t in user_tables(model, "rp")
                         if any(c in cols.get(t.relid, {}) for c in TENANT_COLUMNS))
        if all_tenant < options.min_tables:
            return
        for schema, name, column, type_name, rows in tenant:
            target = ident(schema, name)
            policy = ident(f"{name}_tenant_isolation"[:63])
            yield self.finding(
                title=f"{name} has {column} but no row level security",
                detail=(f"{schema}.{name} ({rows:,.0f} rows) holds several tenants' rows "
                        f"({column}) and only the application's WHERE clauses keep them "
                        f"apart: {all_tenant} tables have a tenant column. A policy makes the "
                        "database enforce it; the application then sets app.tenant_id per "
                        "request and must not connect as the table owner or a BYPASSRLS role."),
                object=ObjectRef(schema, name, None, (column,)),
                action=Action(sql=f"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY;\n"
                                  f"CREATE POLICY {policy} ON {target}\n"
                                  f"    USING ({ident(column)} = "
                                  f"current_setting('app.tenant_id')::{type_name});",
                              undo_sql=f"DROP POLICY {policy} ON {target}; "
                                       f"ALTER TABLE {target} DISABLE ROW LEVEL SECURITY;"),
                evidence={"tenant_column": column, "rows": round(rows),
                          "tables_with_tenant_column": all_tenant},
            )
