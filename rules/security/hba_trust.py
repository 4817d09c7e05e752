"""pg_hba.conf lets connections in without a password (trust), or sends it in clear."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.collectors.hba import HbaRule
from pgsage.rules.base import NoOptions, Rule, register
from pgsage.rules.security._access import EDIT_HBA, is_loopback


def _line(r: HbaRule) -> str:
    where = f"{r.address}" + (f"/{r.netmask}" if r.netmask else "") if r.address else ""
    parts = [r.type or "?", ",".join(r.databases or ()), ",".join(r.users or ()), where,
             r.auth_method or "?"]
    return " ".join(p for p in parts if p)


@register
class TrustAuthentication(Rule[NoOptions]):
    """pg_hba.conf lets connections in without a password (trust), or sends it in clear.

    What it detects:
        pg_hba.conf lines (from pg_hba_file_rules: superusers, or a role granted access)
        with method `trust`: high for TCP lines reaching beyond the host, medium for
        loopback and local socket lines (any local OS user becomes any database role);
        and lines with method `password` (clear text on the wire), medium.

    Why it matters:
        trust accepts whatever role name the client claims, postgres included: anyone who
        can reach the server is a superuser. `password` sends the password unencrypted
        unless the line is hostssl.

    Example:
        host  all  all  0.0.0.0/0  trust

    What to do:
        Change the lines to scram-sha-256 (or peer for local sockets, cert for client
        certificates), make sure the roles have passwords first, then reload.
    """

    code: ClassVar[str] = "SE004"
    name: ClassVar[str] = "security.hba_trust"
    category: ClassVar[Category] = Category.SECURITY
    severity: ClassVar[Severity] = Severity.HIGH
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        for method in ("trust", "password"):
            lines = [r for r in model.hba_rules if r.auth_method == method]
            if lines:
                yield self._finding(method, lines)

    def _finding(self, method: str, lines: list[HbaRule]) -> Recommendation:
        remote = [r for r in lines if r.type != "local" and not is_loopback(r.address)]
        if method == "trust":
            severity = Severity.HIGH if remote else Severity.MEDIUM
            risk = ("anyone who can reach the server can connect as any role, postgres "
                    "included" if remote else
                    "any local user of the host can connect as any role, postgres included")
        else:
            severity = Severity.MEDIUM
            risk = "passwords cross the network in clear text"
        changes = [f"line {r.line_number}: {method} -> {_better(r, method)}" for r in lines]
        return self.finding(
            severity=severity,
            title=f"pg_hba.conf has {len(lines)} line(s) with {method} authentication",
            detail=(f"pg_hba.conf authenticates with {method} on "
                    + "; ".join(f"line {r.line_number} ({_line(r)})" for r in lines)
                    + f": {risk}. Change them as listed in the action (roles need a password "
                    "for scram-sha-256: set it with psql's \\password first), then reload."),
            object=ObjectRef(),
            action=Action(sql="-- after editing pg_hba.conf:\n"
                              "SELECT pg_reload_conf();\n"
                              "SELECT line_number, error FROM pg_hba_file_rules "
                              "WHERE error IS NOT NULL;",
                          shell=f"{EDIT_HBA}  # " + "; ".join(changes)),
            evidence={"method": method, "lines": [r.line_number for r in lines],
                      "remote_lines": [r.line_number for r in remote],
                      "rules": [_line(r) for r in lines]},
        )


def _better(r: HbaRule, method: str) -> str:
    return "peer" if method == "trust" and r.type == "local" else "scram-sha-256"
