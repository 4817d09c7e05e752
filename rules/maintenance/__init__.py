"""Maintenance rules (MT): vacuum, statistics, wraparound, sequences, bloat."""
