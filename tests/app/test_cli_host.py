"""`pgsage analyze --memory/--cpus/--storage/--rpo`: the host and the RPO reach the rules."""

from __future__ import annotations

import json
from pathlib import Path

from factories import well_run_snapshot
from typer.testing import CliRunner

from pgsage.analyzer.app.cli import app

runner = CliRunner()


def _snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "snap.json"
    well_run_snapshot(changes={"shared_buffers": "16384", "archive_timeout": "0"}).save(path)
    return path


def _recs(result: object) -> dict[str, dict[str, object]]:
    doc = json.loads(result.stdout)  # type: ignore[attr-defined]
    return {r["rule"]: r for r in doc["recommendations"]}


def test_memory_flag_replaces_the_assumption(tmp_path: Path) -> None:
    snap = str(_snapshot(tmp_path))
    assumed = runner.invoke(app, ["analyze", "--snapshot", snap, "-f", "json",
                                  "--select", "CF010"])
    assert assumed.exit_code == 0, assumed.output
    rec = _recs(assumed)["CF010"]
    assert rec["severity"] == "low" and "assumed" in str(rec["detail"])
    given = runner.invoke(app, ["analyze", "--snapshot", snap, "-f", "json", "--select",
                                "CF010", "--memory", "32GB", "--cpus", "8", "--storage", "ssd"])
    assert given.exit_code == 0, given.output
    rec = _recs(given)["CF010"]
    assert rec["severity"] == "medium" and rec["evidence"]["proposed"] == "8GB"  # type: ignore[index]


def test_rpo_flag_sets_the_objective(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", "--snapshot", str(_snapshot(tmp_path)), "-f",
                                 "json", "--select", "BK003", "--rpo", "15min"])
    assert result.exit_code == 0, result.output
    assert _recs(result)["BK003"]["evidence"]["proposed"] == "15min"  # type: ignore[index]


def test_bad_host_flags_are_usage_errors(tmp_path: Path) -> None:
    snap = str(_snapshot(tmp_path))
    assert runner.invoke(app, ["analyze", "--snapshot", snap, "--rpo", "soon"]).exit_code == 2
    bad = runner.invoke(app, ["analyze", "--snapshot", snap, "--storage", "tape"])
    assert bad.exit_code == 2 and "host.storage" in bad.output
