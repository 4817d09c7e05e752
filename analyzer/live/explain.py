"""EXPLAIN under the safety contract: generic plans of plain SELECTs, never executed.

Only a text that pglast parses to exactly one plain SELECT (no data-modifying CTE, no
SELECT INTO, no locking clause) is planned, and what is sent is pglast's regeneration of
that tree, over the extended protocol, which refuses a second statement. Parameters (`$1`
in pg_stat_statements texts) are planned generically: `PREPARE` with `plan_cache_mode =
force_generic_plan` (over the extended protocol, `$1` in an `EXPLAIN (GENERIC_PLAN)` text
would be a bind parameter without a value, so GENERIC_PLAN, 16+, serves only texts without
parameters). Never `ANALYZE`.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from pgsage.analyzer.live.connection import Session, first_line
from pgsage.analyzer.model.plan_tree import NotExplainable, Plan
from pgsage.analyzer.model.workload import Statement, Unsupported, deparse_statement

PARAM = re.compile(r"\$(\d+)")


def explainable_text(statement: Statement) -> str:
    """The text pgsage may send for planning, or NotExplainable with the reason."""
    if not statement.plain_select:
        raise NotExplainable(f"not a plain SELECT ({statement.kind})")
    try:
        return deparse_statement(statement.text)
    except (Unsupported, Exception) as exc:  # pglast raises its own error classes
        raise NotExplainable(f"cannot regenerate the statement: {exc}") from None


class Planner:
    """Plans statements on one session; keeps the session's plan settings to itself."""

    def __init__(self, session: Session, server_version_num: int) -> None:
        self.session = session
        self.generic_option = server_version_num >= 160000
        self._prepared_mode = False
        self._untracked = self._stop_tracking()

    def _stop_tracking(self) -> bool:
        """Keep pgsage's own planning out of pg_stat_statements, where allowed (superuser).

        Otherwise PREPARE/EXPLAIN of a statement are recorded as nested entries under
        pgsage's role with the statement's queryid; the model drops those (see
        `Model.statements`).
        """
        try:
            self.session.fetch("SET pg_stat_statements.track = 'none'")
        except psycopg.Error:
            return False
        return True

    def plan(self, statement: Statement) -> Plan:
        text = explainable_text(statement)
        try:
            # The extended protocol (the one-statement guard) makes `$1` in an EXPLAIN text
            # a bind parameter that then has no value, so GENERIC_PLAN serves only texts
            # without parameters; the others go through PREPARE, whose `$n` are its own.
            if self.generic_option and not PARAM.search(text):
                rows = self.session.fetch(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {text}",
                                          single=True)
            else:
                rows = self._plan_prepared(text)
        except psycopg.Error as exc:
            raise NotExplainable(first_line(str(exc))) from None
        doc = rows[0]["QUERY PLAN"]
        top = doc[0]["Plan"]
        return Plan(float(top["Total Cost"]), float(top.get("Plan Rows", 0)), top)

    def _plan_prepared(self, text: str) -> list[dict[str, Any]]:
        if not self._prepared_mode:
            self.session.fetch("SET plan_cache_mode = force_generic_plan")
            self._prepared_mode = True
        params = max((int(n) for n in PARAM.findall(text)), default=0)
        self.session.fetch(f"PREPARE pgsage_plan AS {text}", single=True)
        try:
            args = f"({', '.join(['NULL'] * params)})" if params else ""
            return self.session.fetch(f"EXPLAIN (FORMAT JSON) EXECUTE pgsage_plan{args}",
                                      single=True)
        finally:
            self.session.fetch("DEALLOCATE pgsage_plan")

    def close(self) -> None:
        if self._prepared_mode:
            self.session.fetch("RESET plan_cache_mode")
            self._prepared_mode = False
        if self._untracked:
            self.session.fetch("RESET pg_stat_statements.track")
            self._untracked = False
