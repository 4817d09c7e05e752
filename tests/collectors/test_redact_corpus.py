"""Redaction against a generated corpus: every password-bearing form, however it is written.

Each text plants one secret in one of the forms that carry a password (roles, user
mappings, servers, subscriptions, primary_conninfo, dblink connection strings, settings
named like a password), written with random casing, comments, line breaks and quoting
styles (standard, E'', U&'', dollar quotes, continued constants), and also cut short as a
truncated text would be. No piece of the secret may survive.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from pglast.parser import ParseError, parse_sql_json

from pgsage.collectors.redact import CLEARTEXT, MARKERS, redact

PIECES = ("Zq9", "q9x", "Wm7", "m7k")
"""Parts of every planted secret: none may appear in a redacted text."""

SPECIALS = ("", "'", '"', "\\", " ", "$", ";", "*/", "--", "password=", "@", ")", "é")


def secret(rng: random.Random) -> str:
    return "Zq9x" + rng.choice(SPECIALS) + rng.choice(SPECIALS) + "Wm7k"


def standard(value: str, rng: random.Random) -> str:
    return "'" + value.replace("'", "''") + "'"


def escaped(value: str, rng: random.Random) -> str:
    return rng.choice("eE") + "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def unicode(value: str, rng: random.Random) -> str:
    return "U&'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def dollar(value: str, rng: random.Random) -> str:
    tag = rng.choice(["", "x", "pw_1"])
    if f"${tag}$" in value or value.endswith("$"):
        return standard(value, rng)
    return f"${tag}${value}${tag}$"


def continued(value: str, rng: random.Random) -> str:
    half = len(value) // 2
    return standard(value[:half], rng) + rng.choice(["\n", " \n  ", "\n-- more\n"]) + \
        standard(value[half:], rng)


QUOTINGS: list[Callable[[str, random.Random], str]] = [standard, escaped, unicode, dollar,
                                                       continued]


def kw(word: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in word)


def gap(rng: random.Random) -> str:
    return rng.choice([" ", "  ", "\n", " /* note */ ", " /* a /* nested */ one */ ",
                       " -- why\n", "\t"])


def conninfo(value: str, rng: random.Random) -> str:
    """A connection string holding `value` as its password, in one of libpq's forms."""
    quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    plain_ok = value.isalnum()
    form = rng.choice(["kv", "kv_spaces", "uri"] if plain_ok else ["kv", "kv_spaces"])
    if form == "uri":
        return f"postgresql://rep:{value}@primary:5432/app?sslmode=require"
    eq = " = " if form == "kv_spaces" else "="
    return f"host=primary user=rep password{eq}{value if plain_ok else quoted} dbname=app"


def forms(value: str, rng: random.Random) -> Iterator[str]:
    lit = rng.choice(QUOTINGS)
    g = lambda: gap(rng)  # noqa: E731
    role = kw(rng.choice(["role", "user"]), rng)
    yield (f"{kw(rng.choice(['create', 'alter']), rng)} {role} app{g()}"
           f"{kw(rng.choice(['', 'with ']), rng)}{kw(rng.choice(['', 'encrypted ']), rng)}"
           f"{kw('password', rng)}{g()}{lit(value, rng)}{g()}{kw('valid until', rng)} "
           "'2030-01-01'")
    option = rng.choice(["password", '"password"', "PASSWORD", "sslpassword"])
    yield (f"{kw('create user mapping for', rng)} app {kw('server', rng)} s "
           f"{kw('options', rng)} (user 'u',{g()}{option}{g()}{lit(value, rng)})")
    yield (f"{kw('alter user mapping for', rng)} app {kw('server', rng)} s "
           f"{kw('options', rng)} ({kw('set', rng)} {option} {lit(value, rng)})")
    yield (f"{kw('create server', rng)} s {kw('foreign data wrapper', rng)} f "
           f"{kw('options', rng)} (host 'h', {option} {lit(value, rng)})")
    yield (f"{kw('alter server', rng)} s {kw('options', rng)} ({kw('add', rng)} "
           f"{option}{g()}{lit(value, rng)})")
    yield (f"{kw('create subscription', rng)} s {kw('connection', rng)}{g()}"
           f"{lit(conninfo(value, rng), rng)} {kw('publication', rng)} p")
    yield (f"{kw('alter subscription', rng)} s {kw('connection', rng)} "
           f"{lit(conninfo(value, rng), rng)}")
    yield (f"{kw('alter system set', rng)} primary_conninfo{g()}"
           f"{rng.choice(['=', 'TO'])} {lit(conninfo(value, rng), rng)}")
    yield f"{kw('select', rng)} dblink_connect({lit(conninfo(value, rng), rng)})"
    if '"' not in value:
        yield f'{kw("set", rng)} app.password = "{value}"'
    yield f"{kw('alter role', rng)} app {kw('set', rng)} app.db_password = {lit(value, rng)}"


def corpus(seed: int, size: int) -> Iterator[tuple[str, bool]]:
    """(text, whether it is a whole statement) for `size` secrets, with truncations."""
    rng = random.Random(seed)
    for _ in range(size):
        value = secret(rng)
        for text in forms(value, rng):
            yield text, True
            start = text.find("Zq9x")
            if start >= 0:
                yield text[:rng.randrange(start + 1, len(text) + 1)], False


def parses(text: str) -> bool:
    try:
        parse_sql_json(text)
    except ParseError:
        return False
    return True


CASES = list(corpus(seed=15, size=120))


def test_the_corpus_covers_every_form_and_both_paths() -> None:
    whole = [t for t, complete in CASES if complete]
    assert len(CASES) > 2000
    assert sum(parses(t) for t in whole) > 0.9 * len(whole)
    assert sum(not parses(t) for t, complete in CASES if not complete) > 500


@pytest.mark.parametrize("chunk", range(8))
def test_no_piece_of_a_planted_secret_survives_redaction(chunk: int) -> None:
    for text, _ in CASES[chunk::8]:
        clean = redact(text)
        leaked = [p for p in PIECES if p in clean]
        assert not leaked, f"{text!r} -> {clean!r}"
        assert any(m in clean for m in MARKERS) or "Zq9x" not in text, text
        assert redact(clean) == clean, text


def test_a_statement_that_parsed_still_parses_once_redacted() -> None:
    for text, complete in CASES:
        if complete and parses(text):
            assert parses(redact(text)), f"{text!r} -> {redact(text)!r}"


def test_only_the_password_of_a_connection_string_is_replaced() -> None:
    text = "ALTER SYSTEM SET primary_conninfo = 'host=x user=rep password=''s3cret'' port=5433'"
    assert redact(text) == ("ALTER SYSTEM SET primary_conninfo = "
                            f"'host=x user=rep password={CLEARTEXT} port=5433'")
