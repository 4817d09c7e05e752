"""pg_stat_statements has recorded a statement containing a password."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import ident
from pgsage.collectors.redact import CLEARTEXT, secrets_in
from pgsage.rules.base import NoOptions, Rule, register


@register
class PasswordInStatements(Rule[NoOptions]):
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
    """

    code: ClassVar[str] = "SE008"
    name: ClassVar[str] = "security.password_in_statements"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.HIGH
    Options = NoOptions

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
