"""Index rules (IX): hygiene of existing indexes and indexes to create."""

from rules.index import duplicate, foreign_key, invalid, unused  # noqa: F401
