"""Collectors: one module per source, SQL per server version, no decisions.

Importing this package registers every collector in `REGISTRY`, in collection order.
"""

from pgsage.collectors import (  # noqa: F401, I001  (imported for registration, in collection order)
    server,
    settings,
    extensions,
    statements,
    tables,
    indexes,
    constraints,
    sequences,
    columns,
    database,
    activity,
    bgwriter,
    wal,
    archiver,
    replication,
    roles,
    hba,
    namespaces,
    relations,
    row_security,
    key_ranges,
)
from pgsage.collectors import plans  # noqa: F401  (a derived entry: analyzer.plans fills it)
from pgsage.collectors.base import REGISTRY, Collector, Query, ServerContext, Skip

__all__ = ["REGISTRY", "Collector", "Query", "ServerContext", "Skip"]
