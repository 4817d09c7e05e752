"""Backup and high-availability rules (BK): recovery posture as far as SQL can see it."""

from pgsage.rules.backup import archiving, durability, replication  # noqa: F401
