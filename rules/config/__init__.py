"""Configuration rules (CF): settings against the observed workload."""

from pgsage.rules.config import (  # noqa: F401  (imported for registration)
    effective_cache_size,
    effective_io_concurrency,
    jit,
    maintenance_work_mem,
    max_connections,
    pg_stat_statements_max,
    pg_stat_statements_missing,
    random_page_cost,
    shared_buffers,
    slow_statement_logging,
    timeouts,
    track_activity_query_size,
    track_io_timing,
    work_mem,
)
