"""Maintenance rules (MT): vacuum, statistics, wraparound, sequences, bloat."""

from rules.maintenance import sequences  # noqa: F401
