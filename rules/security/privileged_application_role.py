"""Applications connect with a role that has BYPASSRLS or CREATEROLE."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.rules.base import Rule, register
from pgsage.rules.security._roles import ADMIN_APPLICATIONS, app_sessions, apps


@register
class PrivilegedApplicationRoles(Rule["PrivilegedApplicationRoles.Options"]):
    """Applications connect with a role that has BYPASSRLS or CREATEROLE.

    What it detects:
        Client sessions (administration tools excluded) of non-superuser roles with
        BYPASSRLS or CREATEROLE.

    Why it matters:
        BYPASSRLS ignores every row level security policy: tenant isolation built on RLS
        does not apply to that application. CREATEROLE lets the role create roles and,
        before 16, grant itself membership in almost any non-superuser role, which makes
        it nearly a superuser.

    Example:
        CREATE ROLE api LOGIN BYPASSRLS;

    What to do:
        Remove the attribute from the application's role; keep it on a separate role
        used only for administration or migrations.
    """

    code: ClassVar[str] = "SE009"
    name: ClassVar[str] = "security.privileged_application_role"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.MEDIUM

    @dataclass(frozen=True)
    class Options:
        admin_applications: str = field(default=ADMIN_APPLICATIONS, metadata={
            "help": "comma-separated application_name prefixes of administration tools, which are "
                    "not reported."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for role, sessions in sorted(app_sessions(model, options.admin_applications).items()):
            info = model.roles.get(role)
            if info is None or info.superuser:
                continue
            attrs = [a for a, on in (("BYPASSRLS", info.bypass_rls),
                                     ("CREATEROLE", info.create_role)) if on]
            if not attrs:
                continue
            yield self.finding(
                title=f"Application role {role} has {' and '.join(attrs)}",
                detail=(f"Role {role} has {apps(sessions)} and holds "
                        f"{' and '.join(attrs)}. "
                        + ("BYPASSRLS makes it ignore every row level security policy. "
                           if info.bypass_rls else "")
                        + ("CREATEROLE lets it create roles and grant role memberships, close "
                           "to superuser power. " if info.create_role else "")
                        + "Keep such attributes on an administration role instead."),
                object=ObjectRef(),
                action=Action(sql=f"ALTER ROLE {ident(role)} "
                                  + " ".join(f"NO{a}" for a in attrs) + ";",
                              undo_sql=f"ALTER ROLE {ident(role)} " + " ".join(attrs) + ";"),
                evidence={"role": role, "attributes": attrs, "sessions": len(sessions)},
            )
