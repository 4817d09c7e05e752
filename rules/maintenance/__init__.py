"""Maintenance rules (MT): vacuum, statistics, wraparound, sequences, bloat."""

from pgsage.rules.maintenance import (  # noqa: F401  (imported for registration)
    bloat,
    horizon,
    keys,
    sequences,
    vacuum,
)
