"""Index rules (IX): hygiene of existing indexes and indexes to create."""

from rules.index import duplicate  # noqa: F401
