"""Scaling rules (SC): read replicas, memory for the working set, capacity, checkpoint
pressure, sharding readiness and technology fit."""

from pgsage.rules.scaling import capacity, distribution, load  # noqa: F401  (imported for registration)
