"""pgbench's own workloads, as a user runs them: `pgbench -i -s 2`, then `pgbench -t 2000`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from corpus.harness import CorpusChecks, Database, Workload

pytestmark = pytest.mark.subprocess

SCALE = "2"
"""200,000 accounts: pgbench's tables at a size a 2-core CI machine loads in a second."""
RUN = ("-t", "2000", "-c", "2", "-j", "2")
"""A fixed count of transactions, not a duration: over 3 s a fast machine wrote more than
10,000 history rows and a slow one fewer, and findings with row thresholds followed the clock."""
SCRIPTS = Path(__file__).parent / "scripts"


def initialize(db: Database) -> None:
    """`pgbench -i -s 2`, its steps in two runs: tables and data (`dtg`), then VACUUM ANALYZE
    and the primary keys (`vp`). In one run the loading backend may flush its insert
    counters after ANALYZE reset them (statistics are flushed at most once a second), and
    the fresh statistics then look stale by 200,000 rows or not, by the clock."""
    db.client("pgbench", "-i", "-q", "-s", SCALE, "-I", "dtg")
    db.wait_for_clients()
    db.client("pgbench", "-i", "-q", "-s", SCALE, "-I", "vp")


def tpcb(db: Database) -> None:
    initialize(db)
    db.client("pgbench", *RUN)


def select_only(db: Database) -> None:
    initialize(db)
    db.client("pgbench", "-S", *RUN)


def custom_script(db: Database) -> None:
    """A user's own table next to pgbench's, and a script of the two lookups a login does."""
    initialize(db)
    db.execute("CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL)")
    db.execute("INSERT INTO customers SELECT aid, 'user' || aid || '@example.com' "
               "FROM pgbench_accounts")
    db.execute("VACUUM ANALYZE customers")
    db.client("pgbench", "-f", str(SCRIPTS / "login.sql"), *RUN)


class TestPgbench(CorpusChecks):
    workloads: ClassVar[dict[str, Workload]] = {
        "pgbench_tpcb": tpcb,
        "pgbench_select_only": select_only,
        "pgbench_custom_script": custom_script,
    }
