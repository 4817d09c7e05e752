"""Secrets in statement texts: found, counted and replaced before anything stores them.

pg_stat_statements keeps utility statements as they were typed, so `ALTER ROLE app PASSWORD
'...'` sits there with its password in clear. pgsage never stores or prints such a literal:
the statements collector redacts texts as it reads them, so snapshot files, the sidecar's
cache, reports and logs only ever see a marker. The marker says what was removed (a
cleartext password or a hash), which is what the security rule reports.

Covered: `PASSWORD '...'` (CREATE/ALTER ROLE/USER, and `OPTIONS (password '...')` of user
mappings and servers) with plain, E'' or dollar quoting; `password=...` inside connection
strings (dblink, postgres_fdw); `scheme://user:secret@host` URIs.
"""

from __future__ import annotations

import re

CLEARTEXT = "<redacted:password>"
HASHED = "<redacted:hash>"
MARKERS = (CLEARTEXT, HASHED)

_LITERAL = r"""(?:[eEuU]&?)?'(?:[^'\\]|''|\\.)*'|\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$"""
_PASSWORD_LITERAL = re.compile(r"(?P<kw>\bPASSWORD\s+)(?P<lit>" + _LITERAL + ")",
                               re.IGNORECASE | re.DOTALL)
_CONNINFO = re.compile(r"(?P<kw>\bpassword\s*=\s*)(?P<val>[^\s'\"]+)", re.IGNORECASE)
_URI = re.compile(r"(?P<kw>://[^:/@\s'\"]+:)(?P<val>[^@\s'\"]+)(?=@)")
_HASH = re.compile(r"^(?:SCRAM-SHA-256\$\d+:|md5[0-9a-f]{32}$)")


def _unquote(literal: str) -> str:
    if literal.startswith("$"):
        return literal[literal.index("$", 1) + 1:literal.rindex("$", 0, -1)]
    return literal[literal.index("'") + 1:-1]


def _literal(match: re.Match[str]) -> str:
    value = _unquote(match.group("lit"))
    if value in MARKERS:
        return match.group(0)
    kind = HASHED if _HASH.match(value) else CLEARTEXT
    return f"{match.group('kw')}'{kind}'"


def redact(text: str) -> str:
    """`text` with every password literal replaced by a marker (idempotent)."""
    if "password" not in text.lower() and "://" not in text:
        return text
    text = _PASSWORD_LITERAL.sub(_literal, text)
    text = _CONNINFO.sub(lambda m: m.group("kw") + CLEARTEXT
                         if m.group("val") not in MARKERS else m.group(0), text)
    return _URI.sub(lambda m: m.group("kw") + CLEARTEXT
                    if m.group("val") != CLEARTEXT else m.group(0), text)


def secrets_in(text: str) -> list[str]:
    """The markers in a (redacted or raw) text: one per secret, CLEARTEXT or HASHED."""
    found = re.findall("|".join(re.escape(m) for m in MARKERS), redact(text))
    return [str(f) for f in found]
