"""IX004: indexes no query has scanned over a long enough window."""

from __future__ import annotations

from pgsage.collectors.indexes import IndexStats


def protected(ix: IndexStats) -> str | None:
    """Why an index must never be proposed for dropping, or None."""
    if ix.definition is None:
        return "locked when read: its definition is unknown"
    if ix.is_primary:
        return "primary key"
    if ix.is_unique:
        return "unique: enforces a rule even when no query reads it"
    if ix.constraint_type:
        return "backs a constraint"
    if ix.is_exclusion:
        return "exclusion constraint"
    if ix.is_replica_identity:
        return "replica identity"
    if ix.referenced_by_fk:
        return "referenced by a foreign key"
    if not ix.is_valid or not ix.is_ready:
        return "invalid (IX005)"
    return None
