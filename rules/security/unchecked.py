"""Security checks pgsage could not make under this role, and what would allow them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.rules.base import NoOptions, Rule, register

AUTHID = ("the stored password kinds (SE002 MD5 hashes, SE003 login roles without a "
          "password): pg_authid is readable by superusers only, and granting SELECT on it "
          "would expose the password hashes, so run pgsage once as a superuser to check them")


@register
class SecurityUnchecked(Rule[NoOptions]):
    """Security checks that could not run under pgsage's role.

    What it detects:
        Sources the security rules need that this role cannot read: pg_hba_file_rules
        (SE004's authentication lines; superusers only, or after two GRANTs), pg_authid
        (the stored password kinds of SE002 and SE003; superusers only) and the roles
        collector as a whole. Info: nothing is wrong, but a security section without
        findings must not read as "all clear" when the checks did not run.

    Why it matters:
        The role the README recommends, pg_monitor, reads statistics, not authentication
        configuration: under it pgsage cannot see a `trust` line in pg_hba.conf or a role
        with an MD5 hash. Saying so, with the grant that would allow the check, keeps an
        empty section from being taken for a clean one.

    Example:
        pgsage as a pg_monitor role: pg_hba_file_rules and pg_authid unreadable

    What to do:
        Run the action's GRANTs (as a superuser) for pg_hba_file_rules; run pgsage once as
        a superuser for the password kinds (granting pg_authid would expose the hashes).
    """

    code: ClassVar[str] = "SE010"
    name: ClassVar[str] = "security.unchecked"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.INFO
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        role = model.server.current_user if model.server else None
        unchecked: list[str] = []
        grants: list[str] = []
        if not model.collected("hba"):
            unchecked.append("pg_hba.conf's authentication lines (SE004 trust and password "
                             f"methods): {model.skipped_reason('hba')}")
            if role is not None:
                grants += [f"GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {ident(role)};",
                           "GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO "
                           f"{ident(role)};"]
        if not model.collected("roles"):
            unchecked.append("the roles (SE001 to SE003, SE009): "
                             f"{model.skipped_reason('roles')}")
        elif any(r.can_login and r.password_kind is None for r in model.roles.values()):
            unchecked.append(AUTHID)
        if not unchecked:
            return
        undo = [g.replace("GRANT ", "REVOKE ", 1).replace(" TO ", " FROM ") for g in grants]
        yield self.finding(
            title=f"{len(unchecked)} security check(s) not run under role {role or '?'}",
            detail=("These security checks could not run, so an empty security section does "
                    "not mean they passed: " + "; ".join(unchecked) + "."
                    + (" The action grants what pg_hba_file_rules needs." if grants else "")),
            object=ObjectRef(),
            action=Action(sql="\n".join(grants), undo_sql="\n".join(undo)) if grants else None,
            evidence={"role": role, "unchecked": unchecked,
                      "hba_readable": model.collected("hba"),
                      "password_kinds_readable": model.collected("roles") and all(
                          r.password_kind is not None for r in model.roles.values()
                          if r.can_login)},
        )
