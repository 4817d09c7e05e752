"""Collectors: one module per source, SQL per server version, no decisions.

Importing this package registers every collector in `REGISTRY`, in collection order.
"""

from collectors import (  # noqa: F401  (imported for registration)
    server,
    settings,
    extensions,
    statements,
    tables,
    indexes,
    constraints,
    sequences,
)
from collectors.base import REGISTRY, Collector, Query, ServerContext, Skip

__all__ = ["REGISTRY", "Collector", "Query", "ServerContext", "Skip"]
