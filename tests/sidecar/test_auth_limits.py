"""Basic auth does not tell user names apart by timing and cannot be made to burn the CPUs."""

from __future__ import annotations

import base64

import bcrypt
import pytest

from pgsage.analyzer.sidecar import web
from pgsage.analyzer.sidecar.web import FAILURE_WINDOW_S, FAILURES_PER_WINDOW, Authenticator


def header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_an_unknown_user_is_checked_against_a_hash_of_the_same_cost(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=5))
    checked: list[bytes] = []
    real = bcrypt.checkpw
    monkeypatch.setattr(web.bcrypt, "checkpw",
                        lambda pw, h: checked.append(h) or real(pw, h))  # type: ignore[func-returns-value]
    auth = Authenticator({"prometheus": hashed})
    assert not auth.check(header("nobody", "x")) and not auth.check(header("prometheus", "x"))
    assert [h[:7] for h in checked] == [b"$2b$05$", b"$2b$05$"]


def test_failed_logins_beyond_the_budget_are_refused_without_a_bcrypt_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    calls: list[int] = []
    real = bcrypt.checkpw
    monkeypatch.setattr(web.bcrypt, "checkpw",
                        lambda pw, h: calls.append(1) or real(pw, h))  # type: ignore[func-returns-value]
    auth = Authenticator({"prometheus": bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4))},
                         clock=lambda: now[0])
    assert auth.check(header("prometheus", "s3cret"))
    for _ in range(100):
        assert not auth.check(header("prometheus", "guess"))
    assert len(calls) == 1 + FAILURES_PER_WINDOW
    assert auth.check(header("prometheus", "s3cret"))  # verified before: still let in
    now[0] += FAILURE_WINDOW_S + 1
    assert not auth.check(header("prometheus", "guess"))
    assert len(calls) == 2 + FAILURES_PER_WINDOW
