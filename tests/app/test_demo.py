"""`pgsage demo` end to end: a real throwaway server, the real workload, the real report.

The shop carries known problems; each rule that should find one is checked as soon as it is
registered, so this test tightens by itself as rules land.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from pgsage import rules
from pgsage.analyzer.app import demo
from pgsage.analyzer.app.cli import app

pytestmark = pytest.mark.pg  # the demo starts its own server

CORE_COLLECTORS = ("server", "settings", "extensions", "statements", "statements_info",
                   "tables", "indexes", "constraints", "sequences", "columns", "database")


def findings(report: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [r for r in report["recommendations"] if r["rule"] == code]


def on(rec: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    obj = rec["object"]
    return obj["table"], tuple(obj["columns"] or ())


@pytest.fixture(scope="module")
def demo_report() -> dict[str, Any]:
    result = CliRunner().invoke(app, ["demo", "--seconds", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_demo_report_is_the_json_contract(demo_report: dict[str, Any]) -> None:
    assert demo_report["schema_version"] == 1
    assert demo_report["target"]["database"] == "shop"
    assert demo_report["target"]["server_version_num"] // 10000 == 18
    assert isinstance(demo_report["recommendations"], list)
    collectors = demo_report["collectors"]
    for name in CORE_COLLECTORS:
        assert collectors[name]["ok"], (name, collectors[name])
    assert collectors["statements"]["rows"] >= 10  # the workload, not just the setup


def test_demo_finds_the_duplicate_index(demo_report: dict[str, Any]) -> None:
    found = findings(demo_report, "IX002")
    assert len(found) == 1, found  # one pair of identical indexes, nothing else
    assert found[0]["object"]["table"] == "orders"
    assert found[0]["object"]["index"] in ("ix_orders_user_id", "orders_user_id_idx")
    assert found[0]["action"]["sql"].startswith("DROP INDEX CONCURRENTLY")


@pytest.mark.skipif("IX006" not in rules.REGISTRY, reason="IX006 is not registered yet")
def test_demo_finds_the_unindexed_foreign_key(demo_report: dict[str, Any]) -> None:
    # IX006 reports it, unless the index advisor (IX001) already creates an index leading
    # with the key's columns: then that is the one finding.
    flagged = {on(r) for r in findings(demo_report, "IX006")}
    proposed = flagged | {on(r) for r in findings(demo_report, "IX001")}
    assert any(table == "order_items" and columns[:1] == ("order_id",)
               for table, columns in proposed), proposed
    # The healthy foreign keys have indexes.
    assert ("orders", ("user_id",)) not in flagged
    assert ("order_items", ("product_id",)) not in flagged


@pytest.mark.skipif("QY004" not in rules.REGISTRY, reason="QY004 is not registered yet")
def test_demo_finds_the_lower_email_lookup(demo_report: dict[str, Any]) -> None:
    assert ("users", ("email",)) in {on(r) for r in findings(demo_report, "QY004")}


@pytest.mark.skipif("MT001" not in rules.REGISTRY, reason="MT001 is not registered yet")
def test_demo_finds_the_sequence_near_its_limit(demo_report: dict[str, Any]) -> None:
    found = findings(demo_report, "MT001")
    assert any("orders_id_seq" in json.dumps(r) for r in found), found
    # users, products and order_items use bigint identities or are far from their limits.
    assert not any("order_items_id_seq" in json.dumps(r) or "users_id_seq" in json.dumps(r)
                   for r in found), found


def _kept(stderr: str) -> dict[str, str]:
    """The `  key: value` lines the demo prints about the server it left running."""
    lines = {}
    for line in stderr.splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep and key in ("dsn", "analyze", "psql", "stop", "delete"):
            lines[key] = value.strip()
    return lines


def test_demo_keep_leaves_the_server_running(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small shop: this test is about the server's lifetime, not the findings.
    monkeypatch.setattr(demo, "SCALE", {"users": 2_000, "products": 200, "orders": 5_000})
    result = CliRunner().invoke(app, ["demo", "--keep", "--seconds", "1", "--format", "json"])
    kept = _kept(result.stderr)
    try:
        assert result.exit_code == 0, result.output
        assert set(kept) == {"dsn", "analyze", "psql", "stop", "delete"}, result.stderr
        assert json.loads(result.stdout)["target"]["database"] == "shop"
        with psycopg.connect(kept["dsn"], connect_timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM orders WHERE id <= 5000").fetchone()
        assert row == (5_000,)
        assert kept["analyze"] == f"pgsage analyze {kept['dsn']}"
    finally:
        # Stop and delete it with the commands the demo printed: they must work as shown.
        if "stop" in kept:
            done = subprocess.run(shlex.split(kept["stop"]), capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, done.stderr
        if "delete" in kept:
            subprocess.run(shlex.split(kept["delete"]), check=True, timeout=60)
            assert not Path(shlex.split(kept["delete"])[-1]).exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(kept["dsn"], connect_timeout=2)
