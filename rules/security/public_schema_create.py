"""Every role may create objects in a schema (CREATE for PUBLIC)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.rules.base import NoOptions, Rule, register


@register
class PublicSchemaCreate(Rule[NoOptions]):
    """Every role may create objects in a schema (CREATE for PUBLIC).

    What it detects:
        Schemas where PUBLIC holds CREATE: schema public on databases created before
        PostgreSQL 15 (and upgraded ones), or any schema granted so.

    Why it matters:
        Any role that can connect can create functions and operators there. Because
        public is on everyone's search_path, a malicious object with the same name as one
        a privileged user calls unqualified (CVE-2018-1058) runs with that user's rights.

    Example:
        GRANT CREATE ON SCHEMA public TO PUBLIC;   -- the default before 15

    What to do:
        REVOKE CREATE ON SCHEMA ... FROM PUBLIC, and grant CREATE to the roles that own
        the application's objects.
    References:
        https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATTERNS
    """

    code: ClassVar[str] = "SE006"
    name: ClassVar[str] = "security.public_schema_create"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.MEDIUM
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for ns in model.namespaces:
            if not ns.public_create:
                continue
            yield self.finding(
                title=f"Every role may create objects in schema {ns.name}",
                detail=(f"PUBLIC holds CREATE on schema {ns.name} (owner {ns.owner}): any role "
                        "that can connect can create functions, operators and tables there, "
                        "and objects on the search_path can hijack unqualified calls made by "
                        "other users (CVE-2018-1058). Revoke it; grant CREATE to the roles "
                        "that own the application's objects."),
                object=ObjectRef(ns.name, None, None, None),
                action=Action(sql=f"REVOKE CREATE ON SCHEMA {ident(ns.name)} FROM PUBLIC;",
                              undo_sql=f"GRANT CREATE ON SCHEMA {ident(ns.name)} TO PUBLIC;"),
                evidence={"schema": ns.name, "owner": ns.owner},
            )
