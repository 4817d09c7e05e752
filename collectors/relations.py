"""Every relation's name in the user schemas, with the definition of each view.

Generated DDL needs the names already taken in a schema (an index, a table, a sequence, a
view: they share one namespace), and the workload model reads statements over a view
through the view's definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pgsage.collectors.base import SqlCollector, register


@dataclass(frozen=True, slots=True)
class Relation:
    relid: int
    schema: str
    name: str
    relkind: str
    """pg_class.relkind: r table, p partitioned, i/I index, S sequence, v view, m matview,
    c composite type, f foreign table."""
    definition: str | None = None
    """pg_get_viewdef for views and materialized views."""


@register
class RelationsCollector(SqlCollector):
    name: ClassVar[str] = "relations"
    cadence: ClassVar[str] = "schema"
    cumulative: ClassVar[bool] = False
    record = Relation
    description: ClassVar[str] = ("pg_class: every relation name in the user schemas, with "
                                  "view definitions (pg_get_viewdef)")
