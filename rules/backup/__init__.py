"""Backup and high-availability rules (BK): recovery posture as far as SQL can see it."""

from pgsage.rules.backup import (  # noqa: F401  (imported for registration)
    archiver_failing,
    data_checksums,
    durability_off,
    no_standby,
    no_wal_archiving,
    recovery_point_objective,
    replication_lag,
    wal_level_minimal,
)
