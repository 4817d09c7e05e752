"""The collector protocol: SQL and version knowledge, no I/O.

A collector is a generator. It yields `Query` objects and receives each query's rows back,
so one collector serves both the CLI's psycopg session and the sidecar's asyncpg pool; it
returns its typed records at the end. It never decides anything about what it reads.

Records are named by what one row is: `<Source>Stats` when the row carries cumulative
statistics (counters since a reset, read from a `pg_stat_*` view: `TableStats`, `WalStats`,
`StatementsInfoStats`), otherwise the plain noun of the thing (`Setting`, `Backend`,
`Sequence`, `Database`, `StatementPlan`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar, Protocol, TypeVar

from pgsage.analyzer.sqlgen import ident

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Query:
    """One SQL text with named parameters written as `%(name)s` (psycopg's syntax).

    The CLI's psycopg session sends it as it is; the sidecar's asyncpg session rewrites the
    placeholders as `$n` (`analyzer.sidecar.session.to_asyncpg`). With parameters (even an
    empty mapping) both drivers read `%%` as a literal `%`; without, the text is sent untouched.
    """

    sql: str
    params: Mapping[str, Any] | None = None


class Skip(Exception):
    """Raised by a collector that cannot run here; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ServerContext:
    """What a collector may know about the server before it runs."""

    server_version_num: int
    extensions: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Installed extensions in the current database: name -> (version, schema)."""
    preload_libraries: tuple[str, ...] | None = ()
    """shared_preload_libraries, or None when the role may not read it."""
    known_query_texts: frozenset[int] = frozenset()
    """Queryids whose text the caller already has (the sidecar's cache)."""

    def extension_version(self, name: str) -> tuple[int, ...] | None:
        found = self.extensions.get(name)
        return version_tuple(found[0]) if found else None


def version_tuple(text: str) -> tuple[int, ...]:
    """`'1.10'` -> `(1, 10)`: extension versions compare numerically, not as strings."""
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def version_num(version: tuple[int, ...]) -> int:
    """`(1, 10)` -> 11000, the number extension SQL files are named by."""
    major, minor = [*version, 0, 0][:2]
    return major * 10000 + minor * 100


CollectorRun = Generator[Query, list[Row], list[Any]]


class Collector(Protocol):
    """One source of the snapshot: a view, a function or a group of catalog tables.

    Besides its SQL, a collector declares the facts the sidecar schedules and keeps it by
    (postgres_exporter declares such facts at registration), so adding a collector touches
    one module.
    """

    name: ClassVar[str]
    record: ClassVar[type[Any]]
    description: ClassVar[str]
    cadence: ClassVar[str]
    """The sidecar group that runs it: `activity` (seconds: sessions, counters of the whole
    server), `statements`, `tables` (minutes: per-relation reads) or `schema` (what changes
    with DDL or configuration)."""
    cumulative: ClassVar[bool]
    """Rules compare its records with the window's baseline, so the sidecar keeps a history
    of them: cumulative counters turned into rates, or state compared over the window
    (activity's peak connections, sequences' consumption). The others keep their latest."""

    def run(self, ctx: ServerContext) -> CollectorRun: ...


R = TypeVar("R")


def make_record(record: type[R], row: Mapping[str, Any]) -> R:
    """Build one frozen record, ignoring columns it does not declare; arrays become tuples."""
    names = {f.name for f in dataclasses.fields(record)}  # type: ignore[arg-type]
    return record(**{k: (tuple(v) if isinstance(v, list) else v)
                     for k, v in row.items() if k in names})


def records(record: type[R], rows: Iterable[Row]) -> list[R]:
    return [make_record(record, row) for row in rows]


ANY_VERSION = 0
"""The version of SQL that runs before the server's version is known (the bootstrap)."""

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def sql_file_name(name: str, version: int) -> str:
    """The newest `collectors/sql/<name>_post_<since>.sql` with `since <= version`.

    `version` is the server's `server_version_num`, or for an extension's own views (the
    `pg_stat_statements*` files) the extension's version as `version_num` gives it
    (1.12 -> 11200). See collectors/sql/README.md for the conventions of the files.
    """
    candidates: list[tuple[int, str]] = []
    for entry in resources.files(__package__).joinpath("sql").iterdir():
        prefix, _, since = entry.name.removesuffix(".sql").rpartition("_post_")
        if prefix == name and since.isdigit() and int(since) <= version:
            candidates.append((int(since), entry.name))
    if not candidates:
        raise Skip(f"no SQL for {name} on server version {version}")
    return max(candidates)[1]


@functools.cache
def sql(name: str, version: int) -> str:
    """The text of `sql_file_name(name, version)`, read once per (name, version): the files
    are part of the package."""
    chosen = sql_file_name(name, version)
    return resources.files(__package__).joinpath("sql", chosen).read_text(encoding="utf-8")


def query(name: str, version: int, params: Mapping[str, Any] | None = None,
          identifiers: Mapping[str, str] | None = None) -> Query:
    """The `sql(name, version)` query, with `identifiers` quoted into the text.

    Identifiers (a schema name) cannot be bound parameters: their `%(name)s` placeholders
    are replaced here by the name quoted with pglast (`sqlgen.ident`), its `%` doubled, and
    the query then always carries parameters so both drivers undouble it.
    """
    text = sql(name, version)
    if not identifiers:
        return Query(text, params)
    names = identifiers

    def quoted(match: re.Match[str]) -> str:
        found = names.get(match.group(1))
        return match.group(0) if found is None else ident(found).replace("%", "%%")

    return Query(_PLACEHOLDER.sub(quoted, text), dict(params or {}))


REGISTRY: dict[str, Collector] = {}

C = TypeVar("C", bound=type)


def register(cls: C) -> C:
    """Class decorator adding one instance of a collector to the registry."""
    instance = cls()
    REGISTRY[instance.name] = instance
    return cls


DERIVED: dict[str, type[Any]] = {}
DERIVED_CUMULATIVE: set[str] = set()
"""Derived entries that rules compare with the baseline (see `Collector.cumulative`)."""

"""Snapshot entries no catalog collector produces, by name -> record type.

`collect()` runs only `REGISTRY`. An entry here is filled afterwards by the analyzer on the
same session (the plan collector, `analyzer/live/plans.py`, EXPLAINs the top statements, which
needs the workload model first), and it is still saved in and read back from snapshot
files. Its status sits in the snapshot's `collectors` map like any collector's.
"""


def register_derived(name: str, record: type[Any], cumulative: bool) -> None:
    """Make `record` the type of the snapshot entry `name` (see `DERIVED`)."""
    if name in REGISTRY:
        raise ValueError(f"{name} is already a collector")
    DERIVED[name] = record
    if cumulative:
        DERIVED_CUMULATIVE.add(name)


class SqlCollector:
    """The common case: one version-selected SQL file whose rows are the records."""

    name: ClassVar[str]
    record: ClassVar[type[Any]]
    description: ClassVar[str]
    cadence: ClassVar[str]
    cumulative: ClassVar[bool]

    def run(self, ctx: ServerContext) -> CollectorRun:
        rows = yield query(self.name, ctx.server_version_num)
        return records(self.record, rows)
