"""Extensions installed in the database, and whether the ones pgsage uses are available."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Extension:
    name: str
    installed_version: str | None
    default_version: str | None
    schema: str | None
    available: bool


@register
class ExtensionsCollector(SqlCollector):
    name: ClassVar[str] = "extensions"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = Extension
    description: ClassVar[str] = "pg_extension, and availability of the extensions pgsage uses"
