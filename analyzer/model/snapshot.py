"""The Snapshot: everything one collection read, typed, JSON-able, versioned on disk.

A snapshot file is what `pgsage snapshot` writes on production and `pgsage analyze
--snapshot` reads elsewhere, so its format carries a version and a reader refuses, with a
one-line reason, anything it cannot read faithfully.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pgsage.analyzer import __version__
from pgsage.analyzer.errors import SnapshotFileError
from pgsage.analyzer.files import write_private
from pgsage.collectors import REGISTRY
from pgsage.collectors.base import DERIVED, make_record

FORMAT = "pgsage-snapshot"
FORMAT_VERSION = 1

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class CollectorStatus:
    """How one collector fared: the `collectors` map of the report contract."""

    ok: bool
    rows: int | None = None
    seconds: float | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok}
        if self.rows is not None:
            out["rows"] = self.rows
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 4)
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class Target:
    """The watched database, as the report names it (never with a password)."""

    database: str | None
    host: str | None
    port: int | None
    server_version_num: int | None


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    target: Target
    status: Mapping[str, CollectorStatus]
    data: Mapping[str, list[Any]]
    pgsage_version: str = __version__

    def rows(self, collector: str, record: type[R]) -> list[R]:
        """The records of one collector (empty when it did not run or failed)."""
        found = self.data.get(collector, [])
        return [r for r in found if isinstance(r, record)]

    def one(self, collector: str, record: type[R]) -> R | None:
        found = self.rows(collector, record)
        return found[0] if found else None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "pgsage_version": self.pgsage_version,
            "taken_at": self.taken_at,
            "target": dataclasses.asdict(self.target),
            "collectors": {k: v.to_json() for k, v in self.status.items()},
            "data": {k: [dataclasses.asdict(r) for r in v] for k, v in self.data.items()},
        }

    @classmethod
    def from_json(cls, doc: Any, source: str = "snapshot") -> Snapshot:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise SnapshotFileError(f"{source} is not a pgsage snapshot")
        version = doc.get("format_version")
        if version != FORMAT_VERSION:
            raise SnapshotFileError(
                f"{source} has snapshot format version {version!r}; this pgsage "
                f"({__version__}) reads version {FORMAT_VERSION}"
            )
        try:
            data: dict[str, list[Any]] = {}
            for name, rows in doc["data"].items():
                collector = REGISTRY.get(name)
                record = collector.record if collector is not None else DERIVED.get(name)
                if record is None:
                    continue  # written by a newer pgsage: keep what we understand
                data[name] = [_row(record, row, name) for row in rows]
            return cls(
                taken_at=float(doc["taken_at"]),
                target=Target(**doc["target"]),
                status={k: CollectorStatus(**v) for k, v in doc["collectors"].items()},
                data=data,
                pgsage_version=str(doc.get("pgsage_version", "unknown")),
            )
        except _Damaged as exc:
            raise SnapshotFileError(f"{source} is damaged: {exc}") from None
        except KeyError as exc:
            raise SnapshotFileError(f"{source} is damaged: it has no {exc} entry") from None
        except (TypeError, ValueError, AttributeError):
            raise SnapshotFileError(f"{source} is damaged: its data, target, collectors or "
                                    "taken_at entry does not have the expected shape") from None

    def save(self, path: Path) -> None:
        data = json.dumps(self.to_json(), separators=(",", ":")).encode()
        write_private(path, gzip.compress(data) if path.suffix == ".gz" else data)

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SnapshotFileError(f"snapshot file {path} does not exist") from None
        except OSError as exc:
            raise SnapshotFileError(f"cannot read snapshot file {path}: {exc.strerror}") from None
        try:
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            doc = json.loads(raw)
        except (OSError, EOFError, ValueError) as exc:
            raise SnapshotFileError(f"snapshot file {path} is not valid JSON: {exc}") from None
        return cls.from_json(doc, source=f"snapshot file {path}")



class _Damaged(Exception):
    """What is wrong with a snapshot's data, in the user's terms."""


def _row(record: type[Any], row: Any, name: str) -> Any:
    """One record of the `name` entry, or _Damaged saying which fields are missing."""
    if not isinstance(row, Mapping):
        raise _Damaged(f"a row of {name!r} is not an object")
    fields = [f for f in dataclasses.fields(record)
              if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [f.name for f in fields if f.name not in row]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                          else "")
        raise _Damaged(f"a row of {name!r} lacks {shown}")
    try:
        return make_record(record, row)
    except (TypeError, ValueError) as exc:
        raise _Damaged(f"a row of {name!r} has a value of the wrong kind") from exc
