"""How the workload loads the server: read replicas for read-heavy load, memory for a
working set that does not fit, and write pressure on checkpoints.

SC001 read replicas, SC002 working set beyond memory (vertical scaling), SC004 checkpoints
requested by WAL volume (max_wal_size, checkpoint_timeout).
"""

from __future__ import annotations

GB = 1024**3
