"""Schema design rules (SD): keys, column types, references, and what the workload needs."""

from pgsage.rules.schema import keys, references, types, usage  # noqa: F401
