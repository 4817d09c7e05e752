"""Snapshot files and reports hold statement texts and role names: created 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import well_run_snapshot
from typer.testing import CliRunner

from pgsage.analyzer.app.cli import app


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_a_snapshot_file_is_readable_by_its_owner_only(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    well_run_snapshot().save(path)
    assert mode(path) == 0o600


def test_an_existing_world_readable_file_is_narrowed_before_it_is_rewritten(
        tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text("old")
    path.chmod(0o644)
    well_run_snapshot().save(path)
    assert mode(path) == 0o600


def test_a_report_written_with_output_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    well_run_snapshot().save(snap)
    report = tmp_path / "report.md"
    result = CliRunner().invoke(app, ["analyze", "--snapshot", str(snap), "-f", "markdown",
                                      "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert mode(report) == 0o600 and report.read_text().startswith("# pgsage report")
