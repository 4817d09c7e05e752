"""Maintenance rules (MT): vacuum, statistics, wraparound, sequences, bloat."""

from pgsage.rules.maintenance import (  # noqa: F401  (imported for registration)
    dead_tuples,
    inactive_replication_slot,
    index_bloat,
    key_column_near_maximum,
    long_transaction,
    prepared_transaction,
    sequence_exhaustion,
    stale_statistics,
    table_bloat,
    wraparound,
)
