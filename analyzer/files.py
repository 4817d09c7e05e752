"""Files pgsage writes that may hold what only the database's administrators should read.

Snapshots and reports carry statement texts, role names and settings: they are created
readable by their owner only (0600), whatever the umask, and an existing file is narrowed
to 0600 before it is rewritten.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path`, which ends up (and, if new, is created) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
