"""Schemas and what PUBLIC (every role) may do in them, from pg_namespace's ACLs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    owner: str
    public_create: bool
    """PUBLIC may create objects here (the default for schema public before PostgreSQL 15)."""
    public_usage: bool


@register
class NamespacesCollector(SqlCollector):
    name: ClassVar[str] = "namespaces"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = Namespace
    description: ClassVar[str] = "pg_namespace: schemas with PUBLIC's CREATE and USAGE"
