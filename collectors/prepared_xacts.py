"""Prepared transactions (two-phase commit) and how long they have been waiting.

A forgotten prepared transaction holds its locks and the xmin horizon until someone
commits or rolls it back, surviving restarts: vacuum stalls and wraparound comes closer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class PreparedXact:
    gid: str
    owner: str | None
    database: str | None
    prepared_age: float
    """Seconds since PREPARE TRANSACTION."""
    xid_age: int
    """age(transaction): how far it holds back the xmin horizon."""


@register
class PreparedXactsCollector(SqlCollector):
    name: ClassVar[str] = "prepared_xacts"
    cadence: ClassVar[str] = "activity"
    cumulative: ClassVar[bool] = False
    record = PreparedXact
    description: ClassVar[str] = "pg_prepared_xacts: two-phase transactions and their age"
