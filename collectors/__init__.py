"""Collectors: one module per source, SQL per server version, no decisions.

Importing this package registers every collector in `REGISTRY`, in collection order.
"""

from pgsage.collectors import (  # noqa: F401, I001  (imported for registration, in collection order)
    server,
    settings,
    extensions,
    statements,
    statements_info,
    tables,
    indexes,
    constraints,
    sequences,
    columns,
    database,
    databases,
    activity,
    bgwriter,
    wal,
    archiver,
    replication,
    replication_slots,
    prepared_xacts,
    roles,
    hba,
    namespaces,
    relations,
    row_security,
    key_ranges,
)
from pgsage.collectors import plans  # noqa: F401  (a derived entry: analyzer.live.plans fills it)
from pgsage.collectors.base import REGISTRY, Collector, Query, ServerContext, Skip

__all__ = ["REGISTRY", "Collector", "Query", "ServerContext", "Skip"]
