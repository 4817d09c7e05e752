"""Beyond one server: sharding readiness and what other technology the workload resembles.

SC005 a tenant-like distribution column present in most statements and foreign keys (for
Citus and the like), SC006 workload shapes another tool serves well: time series,
full-text search, JSON documents. Both are info: evidence for a decision, not an action.
"""

from __future__ import annotations

GB = 1024**3
