"""Snapshot files: what `pgsage snapshot` writes and `analyze --snapshot` reads back.

A snapshot travels from production to a laptop, so the reader is strict about what it cannot
read faithfully (one-line SnapshotFileError, exit 2 in the CLI) and exact about what it can.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pgsage.analyzer.errors import SnapshotFileError
from pgsage.analyzer.live.collect import collect
from pgsage.analyzer.live.connection import Session
from pgsage.analyzer.model.snapshot import FORMAT, FORMAT_VERSION, CollectorStatus, Snapshot, Target


def empty_snapshot(taken_at: float = 1_700_000_000.0) -> Snapshot:
    return Snapshot(
        taken_at=taken_at,
        target=Target(database="shop", host="db1", port=5432, server_version_num=150018),
        status={"server": CollectorStatus(ok=True, rows=0, seconds=0.01),
                "statements": CollectorStatus(ok=False, reason="extension not installed")},
        data={},
    )


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_a_file_declares_its_format_and_version(tmp_path: Path) -> None:
    empty_snapshot().save(tmp_path / "s.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["format"] == FORMAT == "pgsage-snapshot"
    assert doc["format_version"] == FORMAT_VERSION


@pytest.mark.parametrize("name", ["s.json", "s.json.gz"])
def test_a_saved_snapshot_loads_back_equal(tmp_path: Path, name: str) -> None:
    snap = empty_snapshot()
    snap.save(tmp_path / name)
    assert Snapshot.load(tmp_path / name) == snap


def test_a_gz_suffix_compresses(tmp_path: Path) -> None:
    empty_snapshot().save(tmp_path / "s.json.gz")
    raw = (tmp_path / "s.json.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(raw))["format"] == FORMAT


def test_gzip_is_recognised_by_content_not_by_name(tmp_path: Path) -> None:
    empty_snapshot().save(tmp_path / "s.json.gz")
    renamed = tmp_path / "renamed.json"
    renamed.write_bytes((tmp_path / "s.json.gz").read_bytes())
    assert Snapshot.load(renamed) == empty_snapshot()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SnapshotFileError, match=r"nope\.json does not exist"):
        Snapshot.load(tmp_path / "nope.json")


def test_a_directory_is_not_a_snapshot(tmp_path: Path) -> None:
    with pytest.raises(SnapshotFileError, match="cannot read"):
        Snapshot.load(tmp_path)


def test_text_that_is_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("{ truncated")
    with pytest.raises(SnapshotFileError, match="not valid JSON"):
        Snapshot.load(tmp_path / "s.json")


def test_a_truncated_gzip_file_is_refused(tmp_path: Path) -> None:
    empty_snapshot().save(tmp_path / "s.json.gz")
    raw = (tmp_path / "s.json.gz").read_bytes()
    (tmp_path / "s.json.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SnapshotFileError, match=r"s\.json\.gz"):
        Snapshot.load(tmp_path / "s.json.gz")


def test_gzip_of_garbage_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.json.gz").write_bytes(gzip.compress(b"\xff\xfe not json"))
    with pytest.raises(SnapshotFileError, match="not valid JSON"):
        Snapshot.load(tmp_path / "s.json.gz")


@pytest.mark.parametrize("doc", [{"hello": 1}, [1, 2], "text", None,
                                 {"format": "something-else", "format_version": 1}])
def test_other_json_is_not_a_pgsage_snapshot(tmp_path: Path, doc: object) -> None:
    with pytest.raises(SnapshotFileError, match="not a pgsage snapshot"):
        Snapshot.load(write(tmp_path / "s.json", doc))


@pytest.mark.parametrize("version", [0, 2, 99, "1", None])
def test_a_format_version_this_pgsage_cannot_read_is_refused(tmp_path: Path,
                                                            version: object) -> None:
    doc = empty_snapshot().to_json()
    doc["format_version"] = version
    with pytest.raises(SnapshotFileError, match="format version"):
        Snapshot.load(write(tmp_path / "s.json", doc))


@pytest.mark.parametrize("damage", [
    lambda d: d.pop("taken_at"),
    lambda d: d.pop("target"),
    lambda d: d.update(data=["not", "a", "table"]),
    lambda d: d.update(collectors={"server": {"ok": True, "unknown_field": 1}}),
    lambda d: d.update(taken_at="yesterday"),
    lambda d: d.update(data={"server": [{"no_such_column": 1}]}),
])
def test_a_damaged_snapshot_is_refused_in_one_line(tmp_path: Path, damage) -> None:
    doc = empty_snapshot().to_json()
    damage(doc)
    with pytest.raises(SnapshotFileError, match="damaged") as info:
        Snapshot.load(write(tmp_path / "s.json", doc))
    assert "\n" not in str(info.value)


def test_data_of_a_collector_this_pgsage_does_not_know_is_skipped(tmp_path: Path) -> None:
    doc = empty_snapshot().to_json()
    doc["data"]["from_a_newer_pgsage"] = [{"x": 1}]
    assert "from_a_newer_pgsage" not in Snapshot.load(write(tmp_path / "s.json", doc)).data


def test_a_real_snapshot_survives_the_round_trip(pg, tmp_path: Path) -> None:
    pg.execute("CREATE TABLE t (id int PRIMARY KEY, tags text[]); CREATE INDEX ON t (tags);"
               "CREATE SEQUENCE s; SELECT count(*) FROM t;")
    with Session.open(pg.dsn) as session:
        snap = collect(session)
    for name in ("tables", "indexes", "sequences"):
        assert snap.data.get(name), f"collector {name}: {snap.status.get(name)}"
    for name in ("s.json", "s.json.gz"):
        snap.save(tmp_path / name)
        back = Snapshot.load(tmp_path / name)
        assert back.data == snap.data
        assert back.target == snap.target
        assert back.taken_at == snap.taken_at
        # collector timings are stored rounded to 0.1 ms; everything else is exact
        assert back.to_json() == snap.to_json()
