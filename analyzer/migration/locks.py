"""PostgreSQL's table-level lock modes and their conflicts ("Explicit Locking", table 13.2).

SELECT takes ACCESS SHARE and INSERT/UPDATE/DELETE take ROW EXCLUSIVE, so a lock "blocks
reads" when it conflicts with ACCESS SHARE (only ACCESS EXCLUSIVE does) and "blocks writes"
when it conflicts with ROW EXCLUSIVE. A request waiting in the lock queue blocks every later
request that conflicts with the mode it asked for, which is why even a fast ACCESS EXCLUSIVE
statement can stop all traffic while it waits.
"""

from __future__ import annotations

ACCESS_SHARE = "ACCESS SHARE"
ROW_SHARE = "ROW SHARE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
SHARE = "SHARE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

LOCK_ORDER = (ACCESS_SHARE, ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
              SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE)
LOCK_RANK = {m: i for i, m in enumerate(LOCK_ORDER)}

CONFLICTS: dict[str, frozenset[str]] = {
    ACCESS_SHARE: frozenset({ACCESS_EXCLUSIVE}),
    ROW_SHARE: frozenset({EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ROW_EXCLUSIVE: frozenset({SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE_UPDATE_EXCLUSIVE: frozenset({SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE,
                                       EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE,
                      ACCESS_EXCLUSIVE}),
    SHARE_ROW_EXCLUSIVE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
                                    SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    EXCLUSIVE: frozenset({ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
                          SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ACCESS_EXCLUSIVE: frozenset(LOCK_ORDER),
}

PG_LOCKS_MODE = {
    ACCESS_SHARE: "AccessShareLock", ROW_SHARE: "RowShareLock",
    ROW_EXCLUSIVE: "RowExclusiveLock", SHARE_UPDATE_EXCLUSIVE: "ShareUpdateExclusiveLock",
    SHARE: "ShareLock", SHARE_ROW_EXCLUSIVE: "ShareRowExclusiveLock",
    EXCLUSIVE: "ExclusiveLock", ACCESS_EXCLUSIVE: "AccessExclusiveLock",
}
"""The spelling of each mode in `pg_locks.mode`."""
FROM_PG_LOCKS = {v: k for k, v in PG_LOCKS_MODE.items()}


def conflicts(a: str, b: str) -> bool:
    return b in CONFLICTS[a]


def stronger(a: str | None, b: str) -> str:
    return b if a is None or LOCK_RANK[b] > LOCK_RANK[a] else a


def blocks_reads(mode: str) -> bool:
    return conflicts(mode, ACCESS_SHARE)


def blocks_writes(mode: str) -> bool:
    return conflicts(mode, ROW_EXCLUSIVE)


def blocks_traffic(mode: str) -> bool:
    return blocks_reads(mode) or blocks_writes(mode)


def blocked_traffic(mode: str) -> str:
    """What ordinary traffic a lock blocks, in words."""
    if blocks_reads(mode):
        return "reads and writes"
    if blocks_writes(mode):
        return "writes (INSERT/UPDATE/DELETE); reads continue"
    if conflicts(mode, SHARE_UPDATE_EXCLUSIVE):
        return "other schema changes, VACUUM/ANALYZE; reads and writes continue"
    return "nothing ordinary"
