"""Pooling rules (PL): when the application needs a connection pooler, and idle sessions."""

from pgsage.rules.pooling import (  # noqa: F401  (imported for registration)
    idle_sessions,
    pooler,
)
