"""Partitioning rules (PT): tables to partition, and partitioned tables that do not prune,
have too many or too few partitions, a growing default partition or missing indexes."""

from pgsage.rules.partitioning import (  # noqa: F401  (imported for registration)
    default_growing,
    missing_index,
    no_pruning,
    partition_count,
    range_candidate,
    tenant_candidate,
)
