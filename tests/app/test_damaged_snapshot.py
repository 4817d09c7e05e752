"""A damaged snapshot file: one line naming the file and what is wrong, no Python internals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import well_run_snapshot
from typer.testing import CliRunner

from pgsage.analyzer.app.cli import app


def damaged(tmp_path: Path, change: str) -> Path:
    path = tmp_path / "snap.json"
    well_run_snapshot().save(path)
    doc = json.loads(path.read_text())
    if change == "row fields":
        name = next(n for n, rows in doc["data"].items() if rows)
        doc["data"][name] = [{"unexpected": 1}]
    elif change == "row kind":
        name = next(n for n, rows in doc["data"].items() if rows)
        doc["data"][name] = [[1, 2]]
    elif change == "no target":
        del doc["target"]
    elif change == "data shape":
        doc["data"] = [1]
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("change", ["row fields", "row kind", "no target", "data shape"])
def test_a_damaged_snapshot_gives_one_line_naming_the_file(tmp_path: Path, change: str) -> None:
    path = damaged(tmp_path, change)
    result = CliRunner().invoke(app, ["analyze", "--snapshot", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pgsage: error: snapshot file {path} is "
                                                   "damaged: ")
    assert "__init__" not in lines[0] and "Error" not in lines[0]
