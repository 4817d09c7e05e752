"""Passwords are stored as MD5 hashes (or will be)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.rules._support.settings import applies, change, evidence
from pgsage.rules.base import NoOptions, Rule, register
from pgsage.rules.security._roles import set_password


@register
class WeakPasswordStorage(Rule[NoOptions]):
    """Passwords are stored as MD5 hashes (or will be).

    What it detects:
        password_encryption = md5 (new passwords are hashed with MD5), and login roles
        whose stored password is an MD5 hash (pg_authid; readable by superusers only,
        otherwise that part is skipped).

    Why it matters:
        An MD5 hash is enough to log in with the md5 method (it is the secret itself), is
        salted only with the role name, and is cheap to brute-force. SCRAM-SHA-256 stores a
        salted, iterated verifier that cannot be replayed. MD5 passwords are deprecated
        since PostgreSQL 18.

    Example:
        SELECT rolname FROM pg_authid WHERE rolpassword LIKE 'md5%';

    What to do:
        Set password_encryption = scram-sha-256 (reload), then set each listed role's
        password again, with psql's \\password so the password never appears in a
        statement log or in pg_stat_statements. Keep `md5` in pg_hba.conf until all are
        converted (it accepts SCRAM too), then use scram-sha-256.
    """

    code: ClassVar[str] = "SE002"
    name: ClassVar[str] = "security.md5_passwords"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.MEDIUM
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        if model.setting("password_encryption") == "md5":
            yield self.finding(
                title="password_encryption is md5: new passwords get weak hashes",
                detail=("password_encryption = md5, so every password set from now on is "
                        "stored as an MD5 hash: replayable with the md5 method and cheap to "
                        "brute-force. scram-sha-256 is the default since 14. The change "
                        f"{applies(model, 'password_encryption')}."),
                object=ObjectRef(),
                action=change(model, {"password_encryption": "scram-sha-256"}),
                evidence=evidence(model, "password_encryption", "scram-sha-256"),
            )
        md5 = sorted(r.name for r in model.roles.values()
                     if r.can_login and r.password_kind == "md5")
        if md5:
            yield self.finding(
                title=f"{len(md5)} login role(s) have MD5 password hashes",
                detail=(f"The stored passwords of {', '.join(md5)} are MD5 hashes. Set them "
                        "again with password_encryption = scram-sha-256, using psql's "
                        "\\password (it sends only the verifier, so no password appears in "
                        "logs or pg_stat_statements)."),
                object=ObjectRef(),
                action=Action(shell="\n".join(set_password(r) for r in md5)),
                evidence={"roles": md5},
            )
