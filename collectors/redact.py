"""Secrets in statement texts: found, counted and replaced before anything stores them.

pg_stat_statements keeps utility statements as they were typed, so `ALTER ROLE app PASSWORD
'...'` sits there with its password in clear. pgsage never stores or prints such a literal:
the statements collector redacts texts as it reads them, so snapshot files, the sidecar's
cache, reports and logs only ever see a marker. The marker says what was removed (a
cleartext password or a hash), which is what the security rule reports.

A text that parses is redacted from its parse tree (libpg_query, as the server parses it),
so comments, casing, quoting and dollar quotes cannot hide a literal:

- every option named like a password (`PASSWORD` of CREATE/ALTER ROLE/USER, `OPTIONS
  (password ...)` of user mappings, servers and foreign tables, `sslpassword`...);
- settings named like one (`SET app.password = "..."`, `ALTER ROLE ... SET`);
- any string constant holding a connection string or URI with a password
  (`CONNECTION '...'` of subscriptions, `ALTER SYSTEM SET primary_conninfo`, dblink), of
  which only the password is replaced.

A text that does not parse (truncated by `track_activity_query_size`, or not SQL) goes
through a conservative scanner instead: whatever follows a word containing `password`
(comments skipped, `=` optional) up to the end of its literal, or of the text when the
literal is not closed, is replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pglast.parser import ParseError, parse_sql_json

CLEARTEXT = "<redacted:password>"
HASHED = "<redacted:hash>"
MARKERS = (CLEARTEXT, HASHED)

_HASH = re.compile(r"^(?:SCRAM-SHA-256\$\d+:|md5[0-9a-f]{32}$)")
_SECRET_NAME = re.compile(r"password|passwd|secret", re.IGNORECASE)
_CONNINFO_PASSWORD = re.compile(
    r"""(?P<kw>\bpassword\s*=\s*)(?P<val>'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s'"&]+)""",
    re.IGNORECASE)
_URI_PASSWORD = re.compile(r"(?P<kw>://[^:/@\s'\"]*:)(?P<val>[^@\s'\"]+)(?=@)")
_WORD = re.compile(r'"?\w*password\w*"?', re.IGNORECASE)
_URI_IN_TEXT = re.compile(r"(?P<kw>://[^:/@\s'\"]*:)(?P<val>[^@\s]+)(?=@|$)")
_DELIMITER = set(" \t\r\n,;()")

Json = dict[str, Any]


def _marker(value: str) -> str:
    return HASHED if _HASH.match(value) else CLEARTEXT


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _redact_conninfo(value: str) -> str:
    """A connection string or URI with its password replaced by the marker."""
    value = _CONNINFO_PASSWORD.sub(
        lambda m: m.group(0) if m.group("val") in MARKERS else m.group("kw") + CLEARTEXT, value)
    return _URI_PASSWORD.sub(
        lambda m: m.group(0) if m.group("val") in MARKERS else m.group("kw") + CLEARTEXT, value)


# --- the extent of a literal in the source -----------------------------------------------


def _skip_space_and_comments(text: str, i: int) -> int:
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end + 1
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < len(text) and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            break
    return i


def _quoted_end(text: str, i: int, quote: str, backslash: bool) -> int:
    """The index after a quoted token opened at `i` (doubled quotes inside), or the end of
    the text when it is never closed."""
    j = i + 1
    while j < len(text):
        if backslash and text[j] == "\\":
            j += 2
        elif text[j] == quote:
            if text.startswith(quote * 2, j):
                j += 2
            else:
                return j + 1
        else:
            j += 1
    return len(text)


_DOLLAR = re.compile(r"\$([A-Za-z_\x80-\uffff][\w\x80-\uffff]*)?\$")


def literal_end(text: str, i: int) -> int:
    """The index after the literal (or identifier, or bare word) starting at `i`.

    Standard, E'' and U&'' strings, dollar quotes and double-quoted identifiers; string
    constants continued on a later line ('a'\\n'b' is one constant) are followed.
    """
    low = text[i:i + 3].lower()
    if low.startswith(("e'", "b'", "x'", "n'")):
        end = _quoted_end(text, i + 1, "'", backslash=low[0] == "e")
    elif low.startswith(("u&'", 'u&"')):
        end = _quoted_end(text, i + 2, text[i + 2], backslash=False)
    elif text.startswith(("'", '"'), i):
        end = _quoted_end(text, i, text[i], backslash=False)
    elif (m := _DOLLAR.match(text, i)) is not None:
        close = text.find(m.group(0), m.end())
        return len(text) if close < 0 else close + len(m.group(0))
    else:
        j = i
        while j < len(text) and text[j] not in _DELIMITER and text[j] not in "'\"":
            j += 1
        return j
    if text[end - 1] == "'" and end < len(text):
        nxt = _skip_space_and_comments(text, end)
        if "\n" in text[end:nxt] and text.startswith("'", nxt):
            return literal_end(text, nxt)
    return end


# --- from the parse tree -----------------------------------------------------------------


class _NoLocation(Exception):
    """A secret in the tree without a source location (an older parser): use the scanner."""


def _nodes(node: Any) -> Iterator[tuple[str, Json]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for kind, body in item.items():
                if isinstance(body, dict):
                    yield kind, body
                    stack.append(body)
                elif isinstance(body, list):
                    stack.append(body)


def _string_value(node: Any) -> str | None:
    """The text of a String or string A_Const node."""
    if not isinstance(node, dict):
        return None
    if isinstance(node.get("String"), dict):
        return str(node["String"].get("sval", ""))
    const = node.get("A_Const")
    if isinstance(const, dict) and isinstance(const.get("sval"), dict):
        return str(const["sval"].get("sval", ""))
    return None


def _secret_spans(tree: Json) -> Iterator[tuple[int, str]]:
    """(byte location, replacement value) of every secret constant in the tree."""
    for kind, body in _nodes(tree):
        if kind == "DefElem":
            value = _string_value(body.get("arg"))
            if value is None:
                continue
            name = str(body.get("defname", ""))
            secret = _SECRET_NAME.search(name) is not None and value not in MARKERS
            if secret or _redact_conninfo(value) != value:
                if "arg_location" not in body:
                    raise _NoLocation
                yield int(body["arg_location"]), (_marker(value) if secret
                                                  else _redact_conninfo(value))
        elif kind in ("VariableSetStmt", "setstmt") and _SECRET_NAME.search(
                str(body.get("name", ""))):
            for arg in body.get("args") or ():
                value = _string_value(arg)
                if isinstance(arg, dict) and "A_Const" in arg and value not in MARKERS:
                    yield int(arg["A_Const"].get("location", -1)), _marker(value or "")
        elif kind == "A_Const" and isinstance(body.get("sval"), dict):
            value = str(body["sval"].get("sval", ""))
            if _redact_conninfo(value) != value:
                yield int(body.get("location", -1)), _redact_conninfo(value)
        elif "conninfo" in body and isinstance(body["conninfo"], str):
            value = body["conninfo"]
            if _redact_conninfo(value) != value:
                if "conninfo_location" not in body:
                    raise _NoLocation
                yield int(body["conninfo_location"]), _redact_conninfo(value)


def _by_tree(text: str) -> str | None:
    """The redacted text, or None when it does not parse or a secret has no location."""
    if "\x00" in text:
        return None  # the parser would stop at the NUL and see nothing after it
    try:
        tree = json.loads(parse_sql_json(text))
        found: dict[int, str] = {}
        for location, value in _secret_spans(tree):
            if found.get(location) not in MARKERS:  # a whole marker beats a partial one
                found[location] = value
    except (ParseError, _NoLocation, ValueError):
        return None
    spans = sorted(found.items(), reverse=True)
    if not spans:
        return text
    raw = text.encode()
    done: list[tuple[int, int]] = []
    for location, value in spans:
        if location < 0:
            return None
        start = len(raw[:location].decode(errors="ignore"))
        end = literal_end(text, start)
        if any(s < end and start < e for s, e in done):
            continue  # an inner constant of a span already replaced
        text = text[:start] + _quoted(value) + text[end:]
        done.append((start, start + len(_quoted(value))))
    return text


# --- the scanner for texts that do not parse ---------------------------------------------


def _scanned_end(text: str, i: int) -> int:
    """The end of a value at `i`, conservatively: a quoted value followed by more than a
    delimiter runs on to the next quote that is. A value quoted inside a literal
    (`password=\\'...\\'` in E'', `password=''...''`), whose escapes nest, or a bare one
    holding a quote or a backslash, runs to the end of the text."""
    if text.startswith(("\\'", "''", '\\"'), i):
        return len(text)
    if not (text[i] in "'\"$" or text[i:i + 2].lower() in ("e'", "u&")):
        j = i
        while j < len(text) and text[j] not in _DELIMITER:
            if text[j] in "'\"\\":
                return len(text)
            j += 1
        return j
    # a backslash may escape a quote (E'', or a connection string's own quoting)
    end = _quoted_end(text, i, text[i], backslash=True) if text[i] in "'\"" else \
        literal_end(text, i)
    while end < len(text) and text[end] not in _DELIMITER:
        nxt = text.find(text[end - 1] if text[end - 1] in "'\"" else "'", end)
        if nxt < 0:
            return len(text)
        end = nxt + 1
    return end


_CONTINUATION = re.compile(r"'(?:[ \t\r\f]|--[^\n]*)*\n(?:\s|--[^\n]*)*'")
"""The end of a string constant continued on a later line, and the start of what follows."""


def _by_scanner(text: str) -> str:
    text = _CONTINUATION.sub("", text)  # one constant, so a split word is whole again
    out: list[str] = []
    pos = 0
    for word in _WORD.finditer(text):
        if word.start() < pos:
            continue
        i = _skip_space_and_comments(text, word.end())
        equals = text.startswith("=", i)
        if equals:
            i = _skip_space_and_comments(text, i + 1)
        if i >= len(text):
            continue
        quoted = text[i] in "'\"$" or text[i:i + 2].lower() in ("e'", "u&")
        if not quoted and not equals:
            continue  # PASSWORD NULL, a column named password
        end = _scanned_end(text, i)
        value = text[i:end]
        if value.strip("'\"") in MARKERS or re.fullmatch(r"\$\d+", value):
            continue
        out.append(text[pos:i])
        out.append(_quoted(_marker(value.strip("'\""))) if quoted else CLEARTEXT)
        pos = end
    out.append(text[pos:])
    return _URI_IN_TEXT.sub(
        lambda m: m.group(0) if m.group("val") in MARKERS else m.group("kw") + CLEARTEXT,
        "".join(out))


def _may_hold_secret(low: str) -> bool:
    """False only for texts no secret can hide in: none of the words, and no escapes or
    continued constants that could spell one (`'passwo'` newline `'rd=...'`)."""
    return (any(word in low for word in ("pass", "secret", "://")) or "\\" in low
            or "u&" in low or ("\n" in low and "'" in low))


def redact(text: str) -> str:
    """`text` with every secret replaced by a marker (idempotent)."""
    if not _may_hold_secret(text.lower()):
        return text
    by_tree = _by_tree(text)
    return _by_scanner(text) if by_tree is None else by_tree


def secrets_in(text: str) -> list[str]:
    """The markers in a (redacted or raw) text: one per secret, CLEARTEXT or HASHED."""
    found = re.findall("|".join(re.escape(m) for m in MARKERS), redact(text))
    return [str(f) for f in found]
