"""Index rules (IX): hygiene of existing indexes and indexes to create."""

from pgsage.rules.index import (  # noqa: F401  (imported for registration)
    create,
    duplicate,
    foreign_key_unindexed,
    invalid,
    redundant,
    unused,
    write_only,
)
