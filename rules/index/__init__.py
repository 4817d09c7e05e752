"""Index rules (IX): hygiene of existing indexes and indexes to create."""

from pgsage.rules.index import (  # noqa: F401
    create,
    duplicate,
    foreign_key,
    invalid,
    redundant,
    unused,
    write_only,
)
