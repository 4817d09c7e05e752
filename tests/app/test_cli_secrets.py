"""Passwords on the command line and in readable configuration files are pointed out."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgsage.analyzer.app.cli import app, warn_readable_config

runner = CliRunner()


def test_a_password_in_the_dsn_warns_in_one_line_and_is_never_printed() -> None:
    result = runner.invoke(app, ["analyze", "host=127.0.0.1 port=1 user=x password=hunter2 "
                                            "connect_timeout=2"])
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert lines[0].startswith("pgsage: warning: a password in the DSN")
    assert "PGPASSWORD" in lines[0] and ".pgpass" in lines[0]
    assert lines[1].startswith("pgsage: error: cannot connect")
    assert "hunter2" not in result.output + result.stderr


def test_a_dsn_without_a_password_gives_no_warning() -> None:
    result = runner.invoke(app, ["analyze", "host=127.0.0.1 port=1 connect_timeout=2"])
    assert result.exit_code == 3 and "warning" not in result.stderr


def test_a_world_readable_configuration_is_pointed_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pgsage.toml"
    path.write_text("")
    path.chmod(0o644)
    warn_readable_config(path)
    assert f"chmod 600 {path}" in capsys.readouterr().err
    path.chmod(0o600)
    warn_readable_config(path)
    assert capsys.readouterr().err == ""
