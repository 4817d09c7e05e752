"""Fixtures of the collector tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from collector_support import unique_ids

if TYPE_CHECKING:
    from conftest import PgDatabase


@pytest.fixture
def make_role(pg: PgDatabase) -> Iterator[Callable[..., str]]:
    """Create login roles (cluster-wide) for one test and drop them afterwards.

    `make_role(*grants, options=...)`: `options` are CREATE ROLE's (a password by default).
    """
    created: list[str] = []

    def make(*grants: str, options: str = "PASSWORD 'not-checked-under-trust'") -> str:
        name = f"pgsage_{os.getpid()}_{next(unique_ids)}"
        pg.execute(f"CREATE ROLE {name} LOGIN {options}")
        for grant in grants:
            pg.execute(f"GRANT {grant} TO {name}")
        created.append(name)
        return name

    yield make
    for name in created:
        pg.execute(f"DROP OWNED BY {name}")
        pg.server.execute(f"DROP ROLE IF EXISTS {name}")
