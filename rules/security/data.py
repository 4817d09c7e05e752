"""Data exposure: multi-tenant tables without row level security, and passwords recorded in
pg_stat_statements (reported by queryid only; pgsage never prints such a literal)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.redact import CLEARTEXT, secrets_in
from pgsage.rules._catalog import columns_of, rows_with_partitions, user_tables
from pgsage.rules.base import NoOptions, Rule, register

TENANT_COLUMNS = ("tenant_id", "tenant", "org_id", "organization_id", "organisation_id",
                  "workspace_id", "account_id", "company_id", "customer_account_id")


@register
class TenantTableWithoutRls(Rule):
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

    Options:
        min_tables: tables with a tenant column from which the schema counts as
            multi-tenant.
    """

    code: ClassVar[str] = "SE007"
    name: ClassVar[str] = "security.tenant_without_rls"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_tables: int = 2

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


@register
class PasswordInStatements(Rule):
    """pg_stat_statements has recorded a statement containing a password.

    What it detects:
        Statement texts with a password literal: CREATE/ALTER ROLE ... PASSWORD '...',
        OPTIONS (password '...') of user mappings, `password=` in connection strings
        (dblink, postgres_fdw), `user:password@` in URIs. pgsage redacts such texts when
        it collects them, so the finding gives the queryids and whether the literal was a
        clear-text password or a hash (SCRAM or MD5), never the literal.

    Why it matters:
        pg_stat_statements keeps utility statements with their literals, readable by every
        role with pg_read_all_stats (pg_monitor: monitoring tools, dashboards) and written
        to its query text file on disk. The same statement is likely in the server log
        too when log_statement covers DDL.

    Example:
        ALTER ROLE app PASSWORD 'hunter2';   -- recorded as typed

    What to do:
        Remove the entries (pg_stat_statements_reset for those queryids), change the
        exposed passwords, and set passwords from now on with psql's \\password (it sends
        a SCRAM verifier, never the password). If DDL statistics are not needed,
        pg_stat_statements.track_utility = off stops recording utility statements at all.

    Options:
        None.
    """

    code: ClassVar[str] = "SE008"
    name: ClassVar[str] = "security.password_in_statements"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.HIGH

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if model.statements.empty:
            return
        found: dict[int, list[str]] = {}
        for queryid in sorted({int(q) for q in model.statements["queryid"]}):
            text = model.statement_text(queryid)
            secrets = secrets_in(text) if text else []
            if secrets:
                found[queryid] = secrets
        if not found:
            return
        cleartext = [q for q, s in found.items() if CLEARTEXT in s]
        ext = model.extensions.get("pg_stat_statements")
        schema = ident(ext.schema) + "." if ext and ext.schema else ""
        lines = [f"SELECT {schema}pg_stat_statements_reset(0, 0, {int(q)});" for q in found]
        if model.setting("pg_stat_statements.track_utility") != "off":
            lines.append("-- and, if statistics of DDL statements are not needed:\n"
                         "ALTER SYSTEM SET pg_stat_statements.track_utility = off;\n"
                         "SELECT pg_reload_conf();")
        kinds = (f"{len(cleartext)} with a clear-text password" if cleartext else "") + (
            ", " if cleartext and len(cleartext) < len(found) else "") + (
            f"{len(found) - len(cleartext)} with a password hash"
            if len(cleartext) < len(found) else "")
        yield self.finding(
            severity=self.severity if cleartext else Severity.MEDIUM,
            title=f"{len(found)} statement(s) in pg_stat_statements contain a password",
            detail=(f"pg_stat_statements recorded {len(found)} statement(s) holding a "
                    f"password ({kinds}); queryids "
                    f"{', '.join(str(q) for q in found)}. Every role with pg_read_all_stats "
                    "can read them, and they are in pg_stat_statements' text file on disk "
                    "(likely in the server log too). pgsage does not show the text. Remove "
                    "the entries, change those passwords, and set passwords with psql's "
                    "\\password from now on: it sends only a verifier."),
            object=ObjectRef(),
            action=Action(sql="\n".join(lines)),
            impact={"queryids": list(found)},
            evidence={"statements": len(found), "cleartext": len(cleartext),
                      "hashed": len(found) - len(cleartext),
                      "track_utility": model.setting("pg_stat_statements.track_utility")},
        )
