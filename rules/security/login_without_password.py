"""Login roles have no password."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.rules.base import NoOptions, Rule, register
from pgsage.rules.security._roles import set_password


@register
class LoginWithoutPassword(Rule[NoOptions]):
    """Login roles have no password.

    What it detects:
        Roles with LOGIN and no stored password (pg_authid; readable by superusers only,
        otherwise the rule cannot tell and stays silent). Low: such a role can still log
        in through trust, peer, cert or GSS lines of pg_hba.conf (SE004 reports trust).

    Why it matters:
        A role without a password can only authenticate by a method that does not ask for
        one. That is fine for peer (local OS user) or certificates, but combined with a
        trust line it is open to anyone who can reach the server, and it usually means
        nobody decided how the role should authenticate.

    Example:
        CREATE ROLE report LOGIN;   -- no PASSWORD

    What to do:
        Give the role a password with psql's \\password, or make sure pg_hba.conf only
        lets it in through peer or certificate authentication; NOLOGIN if it should not
        log in at all.
    """

    code: ClassVar[str] = "SE003"
    name: ClassVar[str] = "security.login_without_password"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.LOW
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        roles = sorted(r.name for r in model.roles.values()
                       if r.can_login and r.password_kind == "none")
        if not roles:
            return
        yield self.finding(
            title=f"{len(roles)} login role(s) without a password",
            detail=(f"{', '.join(roles)} can log in and have no password: they authenticate "
                    "only through trust, peer, certificate or GSS lines of pg_hba.conf. Give "
                    "them a password (psql \\password, so it is never logged) or confirm "
                    "those lines are what you intend; NOLOGIN roles that should not log in."),
            object=ObjectRef(),
            action=Action(shell="\n".join(set_password(r) for r in roles)),
            evidence={"roles": roles},
        )
