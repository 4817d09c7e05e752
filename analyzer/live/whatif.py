"""What-if planning with HypoPG: hypothetical indexes live in pgsage's own backend memory.

Nothing is written to the database: `hypopg_create_index` registers an index that only this
session's planner sees, and `hypopg_reset` forgets them all. HypoPG must already be
installed in the database (pgsage never runs CREATE EXTENSION); where it is missing the
advisor falls back to its estimate model and says how to enable the proof.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import psycopg

from pgsage.analyzer.live.connection import Session, first_line
from pgsage.analyzer.live.explain import Planner
from pgsage.analyzer.model.index_plan import Candidate
from pgsage.analyzer.model.plan_tree import NotExplainable, Plan
from pgsage.analyzer.model.workload import Statement
from pgsage.analyzer.sqlgen import ident


class WhatIfError(Exception):
    """HypoPG refused a candidate (e.g. an access method it does not simulate)."""


@dataclass(frozen=True, slots=True)
class HypoIndex:
    oid: int
    name: str
    size_bytes: int


class WhatIf:
    """Hypothetical indexes and plans on one session."""

    def __init__(self, session: Session, planner: Planner, hypopg_schema: str) -> None:
        self.session = session
        self.planner = planner
        self.schema = hypopg_schema
        self.explains = 0

    def _fn(self, name: str) -> str:
        return ident(self.schema, name)

    def create(self, candidate: Candidate) -> HypoIndex:
        """The hypothetical index, made in a guarded planning step: HypoPG plans the
        definition (its expressions, the table's own indexes and policies) like a query.
        The index lives in backend memory, so it outlasts the step's ROLLBACK."""
        definition = candidate.definition(concurrently=False)
        try:
            return self.planner.guarded(definition, lambda: self._create(definition))
        except NotExplainable as exc:
            raise WhatIfError(str(exc)) from None

    def _create(self, definition: str) -> HypoIndex:
        try:
            rows = self.session.fetch(
                f"SELECT indexrelid::int8 AS oid, indexname FROM {self._fn('hypopg_create_index')}"
                "(%(sql)s)", {"sql": definition})
            oid = int(rows[0]["oid"])
            size = self.session.fetch(
                f"SELECT {self._fn('hypopg_relation_size')}(%(oid)s::oid)::int8 AS bytes",
                {"oid": oid})[0]["bytes"]
        except psycopg.Error as exc:
            raise NotExplainable(first_line(str(exc))) from None
        return HypoIndex(oid, str(rows[0]["indexname"]), int(size or 0))

    def drop(self, index: HypoIndex) -> None:
        self.session.fetch(f"SELECT {self._fn('hypopg_drop_index')}(%(oid)s::oid)",
                           {"oid": index.oid})

    def reset(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.session.fetch(f"SELECT {self._fn('hypopg_reset')}()")

    @contextlib.contextmanager
    def trying(self, candidate: Candidate) -> Iterator[HypoIndex]:
        """A hypothetical index for the duration of a block."""
        index = self.create(candidate)
        try:
            yield index
        finally:
            self.drop(index)

    def plan(self, statement: Statement) -> Plan:
        self.explains += 1
        return self.planner.plan(statement)

    def costs(self, statements: Iterable[Statement]) -> dict[int, Plan | NotExplainable]:
        out: dict[int, Plan | NotExplainable] = {}
        for st in statements:
            try:
                out[st.queryid] = self.plan(st)
            except NotExplainable as exc:
                out[st.queryid] = exc
        return out
