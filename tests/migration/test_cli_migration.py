"""The `pgsage migration check` command: formats, exit codes, parse errors, stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess


def _pgsage(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pgsage.analyzer", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_offline_json_has_migration_findings_and_says_what_it_could_not_judge(
        tmp_path: Path) -> None:
    f = tmp_path / "m.sql"
    f.write_text("ALTER TABLE users ALTER COLUMN email TYPE varchar(50);\n")
    done = _pgsage("migration", "check", str(f), "--server-version", "15", "-f", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {r["category"] for r in report["recommendations"]} == {"migration"}
    assert "MG006" in {r["rule"] for r in report["recommendations"]}
    assert report["target"]["server_version_num"] == 150000
    assert any("old type of users.email is unknown" in n for n in report["notes"])


def test_fail_on_gates_ci(tmp_path: Path) -> None:
    f = tmp_path / "m.sql"
    f.write_text("ALTER TABLE users ADD COLUMN c int NOT NULL;\n")
    assert _pgsage("migration", "check", str(f), "--fail-on", "high").returncode == 1
    f.write_text("CREATE TABLE t (a int);\nCREATE INDEX ON t (a);\n")
    assert _pgsage("migration", "check", str(f), "--fail-on", "low").returncode == 0


def test_every_file_that_does_not_parse_gets_one_line_and_exit_2(tmp_path: Path) -> None:
    bad1, bad2 = tmp_path / "a.sql", tmp_path / "b.sql"
    bad1.write_text("SELECT 1;\nALTER TABLE x ADD COLUMNN y int;\n")
    bad2.write_text("CREATE TABLE (;\n")
    done = _pgsage("migration", "check", str(bad1), str(bad2))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"pgsage: error: {bad1}:2: syntax error at or near \"int\"",
                     f"pgsage: error: {bad2}:1: syntax error at or near \"(\""]
    assert "Traceback" not in done.stderr


def test_standard_input(tmp_path: Path) -> None:
    done = _pgsage("migration", "check", "-", "-f", "markdown",
                   stdin="CREATE INDEX i ON users (a);")
    assert done.returncode == 0
    assert "MG001" in done.stdout and "CREATE INDEX CONCURRENTLY i ON users (a);" in done.stdout
