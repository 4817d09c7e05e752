"""Configuration rules (CF): settings against the observed workload."""

from rules.config import pg_stat_statements  # noqa: F401
