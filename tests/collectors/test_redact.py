"""Password literals in statement texts: found, classified and removed before storage."""

from __future__ import annotations

import pytest

from pgsage.collectors.redact import CLEARTEXT, HASHED, redact, secrets_in


@pytest.mark.parametrize(("text", "kind"), [
    ("ALTER ROLE app PASSWORD 'hunter2'", CLEARTEXT),
    ("CREATE USER x WITH ENCRYPTED PASSWORD E'it\\'s'", CLEARTEXT),
    ("ALTER ROLE x PASSWORD $$dollar$$", CLEARTEXT),
    ("alter role x password 'SCRAM-SHA-256$4096:c2FsdA==$a:b'", HASHED),
    ("CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'p''w')", CLEARTEXT),
    ("SELECT dblink_connect('host=db password=hunter2 dbname=x')", CLEARTEXT),
    ("SELECT dblink('postgresql://bob:hunter2@db/x', 'q')", CLEARTEXT),
])
def test_redaction_finds_and_removes_every_password_form(text: str, kind: str) -> None:
    clean = redact(text)
    assert secrets_in(text) == [kind] and secrets_in(clean) == [kind]
    assert "hunter2" not in clean and "dollar" not in clean and "p''w" not in clean
    assert redact(clean) == clean


@pytest.mark.parametrize("text", ["ALTER ROLE x PASSWORD NULL", "ALTER ROLE x PASSWORD $1",
                                  "SELECT password FROM users WHERE id = $1"])
def test_redaction_leaves_statements_without_literals(text: str) -> None:
    assert redact(text) == text and secrets_in(text) == []
