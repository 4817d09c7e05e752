"""Hostile statement texts through every path that reads them: nothing raises unexpectedly.

A seeded generator builds texts from pieces an application can put into pg_stat_statements
(deep nesting, long and unicode identifiers, dollar quotes, comments, parameters, operators,
several statements, planted passwords), then truncates and mutates them. Parsing and
modelling, pglast's regeneration, the plannable rewrite, the trust check's name collection
and redaction may refuse a text with their own errors, never with anything else, and
redaction never lets a planted secret through.
"""

from __future__ import annotations

import random
import re

import pytest
from pglast.parser import ParseError, fingerprint

from pgsage.analyzer.advisor.plannable import plannable_variant
from pgsage.analyzer.live.trust import collect_names
from pgsage.analyzer.model.workload import Catalog, Unsupported, describe, parse
from pgsage.collectors.redact import redact

SECRET = "Zq9xWm7k"
PLANTED = re.compile(r"password\s+('|\$\$)" + SECRET, re.IGNORECASE)
"""A secret given as a password: the text after the keyword (the pieces put it there)."""

PIECES = [
    "SELECT", "INSERT INTO t (a) VALUES", "UPDATE t SET a =", "DELETE FROM t WHERE",
    "WITH c AS (SELECT 1)", "FROM", "t", "app.t", '"Ta""ble"', "\"ünï\"", "x" * 70,
    "WHERE", "a", "=", "$1", "$2", "OPERATOR(app.===)", "~~*", "@>", "->>", "IN (", ")",
    "(", ",", "'str''ing'", "E'\\x41\\''", "U&'\\0041'", "$$dollar$$", "$t$ $$ $t$",
    "/* c /* nested */ */", "-- line\n", "\n", "::app.dom", "ORDER BY 1 USING <",
    "LATERAL", "JOIN", "USING (a)", "CASE a WHEN 1 THEN 2 END", "ANY (ARRAY[1])",
    "BETWEEN 1 AND 2", ";", "ALTER ROLE app PASSWORD", f"'{SECRET}'", f"$${SECRET}$$",
    "CREATE USER MAPPING FOR u SERVER s OPTIONS (password", "LIMIT", "OFFSET 5",
    "FOR UPDATE", "TABLESAMPLE app.sample(1)", "(t).f", "t.f", "ROW(1, 2)", "\x00",
]


def hostile(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.1:
        depth = rng.choice([50, 500, 5000])
        return "SELECT " + "(" * depth + "1" + ")" * depth
    text = " ".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 25)))
    if rng.random() < 0.3:
        text = text[:rng.randrange(len(text) + 1)]
    if rng.random() < 0.3:
        chars = list(text)
        for _ in range(rng.randrange(1, 5)):
            at = rng.randrange(len(chars) + 1)
            chars[at:at + rng.randrange(3)] = rng.choice(["'", '"', "$", "\\", "é", "*/", ""])
        text = "".join(chars)
    return text


TEXTS = [hostile(random.Random(seed)) for seed in range(3000)]


@pytest.mark.parametrize("chunk", range(6))
def test_hostile_texts_are_refused_with_pgsage_s_own_errors(chunk: int) -> None:
    catalog = Catalog({}, {})
    for text in TEXTS[chunk::6]:
        try:
            statement = describe(1, text, catalog)
        except (ParseError, Unsupported, ValueError):
            continue
        fingerprint(text)
        collect_names(parse(text))
        plannable_variant(statement)


@pytest.mark.parametrize("chunk", range(6))
def test_redaction_of_hostile_texts_never_raises_nor_leaks(chunk: int) -> None:
    for text in TEXTS[chunk::6]:
        clean = redact(text)
        if PLANTED.search(text):
            assert not PLANTED.search(clean), f"{text!r} -> {clean!r}"
