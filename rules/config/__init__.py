"""Configuration rules (CF): settings against the observed workload."""

from pgsage.rules.config import (  # noqa: F401  (imported for registration)
    connections,
    memory,
    observability,
    pg_stat_statements,
    planner,
)
