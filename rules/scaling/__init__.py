"""Scaling rules (SC): read replicas, memory for the working set, capacity, checkpoint
pressure, sharding readiness and technology fit."""

from pgsage.rules.scaling import (  # noqa: F401  (imported for registration)
    capacity,
    checkpoints,
    read_replicas,
    sharding,
    technology_fit,
    working_set,
)
