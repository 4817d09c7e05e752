"""EXPLAIN under the safety contract: generic plans of trusted plain SELECTs, never executed.

Only a text that pglast parses to exactly one plain SELECT (no data-modifying CTE, no
SELECT INTO, no locking clause) is planned, and what is sent is pglast's regeneration of
that tree, over the extended protocol, which refuses a second statement. Parameters (`$1`
in pg_stat_statements texts) are planned generically: `PREPARE` with `plan_cache_mode =
force_generic_plan` (over the extended protocol, `$1` in an `EXPLAIN (GENERIC_PLAN)` text
would be a bind parameter without a value, so GENERIC_PLAN, 16+, serves only texts without
parameters). Never `ANALYZE`.

Planning runs code (see `analyzer.live.trust`), so every planning step is guarded:

    BEGIN READ ONLY; SET LOCAL timeouts, search_path, plan_cache_mode, jit [, track]
    <the trust check>            -- a row: ROLLBACK, "not planned: calls app.esc() (...)"
    PREPARE / EXPLAIN / DEALLOCATE
    <the trust check again>      -- objects created meanwhile: SessionCompromised
    ROLLBACK                     -- undoes set_config(), SET, anything a function changed
    <verify the session settings, release advisory locks, drop a left-over PREPARE>

Nothing that ran survives the transaction except what PostgreSQL keeps per session:
advisory locks (released after every step) and prepared statements (deallocated). Any
change to the settings, or a lock, raises SessionCompromised: planning stops for good on
that session.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from pgsage.analyzer.live.connection import Session, first_line
from pgsage.analyzer.live.trust import TrustOptions, check_params, check_sql, describe
from pgsage.analyzer.model.plan_tree import NotExplainable, Plan
from pgsage.analyzer.model.workload import Statement, Unsupported, deparse_statement, parse

PARAM = re.compile(r"\$(\d+)")
PREPARED = "pgsage_plan"

T = TypeVar("T")

WATCHED = ("default_transaction_read_only", "transaction_read_only", "statement_timeout",
           "lock_timeout", "idle_in_transaction_session_timeout", "search_path", "role",
           "session_authorization", "plan_cache_mode", "pg_stat_statements.track")
"""Session settings a function run by the planner must not be able to change."""

VERIFY_SQL = (
    "WITH held AS MATERIALIZED (SELECT count(*)::int AS locks FROM pg_locks"
    " WHERE pid = pg_backend_pid() AND locktype = 'advisory') SELECT "
    + ", ".join(f"current_setting('{name}', true) AS \"{name}\"" for name in WATCHED)
    + ", current_user::text AS \"current_user\", session_user::text AS \"session_user\""
    f", (SELECT count(*)::int FROM pg_prepared_statements WHERE name = '{PREPARED}')"
    " AS prepared, held.locks AS advisory_locks"
    ", CASE WHEN held.locks > 0 THEN pg_advisory_unlock_all() END AS unlocked FROM held")
"""The settings to compare, and session-level advisory locks (counted, then released)."""

MAY_UNTRACK_SQL_14 = """
SELECT s.context = 'user' OR r.rolsuper AS may_set
  FROM pg_settings s, pg_roles r
 WHERE s.name = 'pg_stat_statements.track' AND r.rolname = current_user
"""
"""Whether pgsage may SET pg_stat_statements.track (its context is `superuser`): asked
first, so that a plain role never gets "permission denied to set parameter" in the log.
No row: the module is not loaded."""

MAY_UNTRACK_SQL = MAY_UNTRACK_SQL_14.replace(
    "r.rolsuper", "r.rolsuper OR has_parameter_privilege(s.name, 'SET')")
"""The same from 15, where SET on a parameter can be granted."""


class SessionCompromised(Exception):
    """Something the planner ran changed pgsage's session: plan nothing more on it."""


_compromised: weakref.WeakKeyDictionary[Session, str] = weakref.WeakKeyDictionary()
"""Sessions planning stopped on, with the reason, so that no later planner resumes."""


def explainable_text(statement: Statement) -> str:
    """The text pgsage may send for planning, or NotExplainable with the reason."""
    if not statement.plain_select:
        raise NotExplainable(f"not a plain SELECT ({statement.kind})")
    try:
        return deparse_statement(statement.text)
    except (Unsupported, Exception) as exc:  # pglast raises its own error classes
        raise NotExplainable(f"cannot regenerate the statement: {exc}") from None


class Planner:
    """Plans statements on one session, each step guarded as the module says."""

    def __init__(self, session: Session, server_version_num: int,
                 trust: TrustOptions | None = None) -> None:
        self.session = session
        self.generic_option = server_version_num >= 160000
        self.trust = trust or TrustOptions()
        self._check_sql = check_sql()
        earlier = _compromised.get(session)
        if earlier is not None:
            raise SessionCompromised(earlier)
        self._expected = self._verify_row()
        if self._expected["default_transaction_read_only"] != "on" or self._expected[
                "advisory_locks"]:
            self._stop("the session is not in the state pgsage left it in "
                       "(read-only off or an advisory lock held)")
        self._search_path = self._pinned_search_path()
        self._untrack = self._may_untrack(server_version_num)

    def _verify_row(self) -> dict[str, Any]:
        return dict(self.session.fetch(VERIFY_SQL)[0])

    def _pinned_search_path(self) -> str:
        """The session's schemas as an explicit list: no `"$user"`, which a role that may
        create schemas could otherwise fill in between the check and the plan."""
        schemas = self.session.fetch("SELECT current_schemas(false)::text[] AS path")[0]["path"]
        return sql.SQL(", ").join(sql.Identifier(s) for s in schemas).as_string(
            self.session.conn)

    def _may_untrack(self, server_version_num: int) -> bool:
        rows = self.session.fetch(MAY_UNTRACK_SQL if server_version_num >= 150000
                                  else MAY_UNTRACK_SQL_14)
        return bool(rows and rows[0]["may_set"])

    def _stop(self, reason: str) -> None:
        _compromised[self.session] = reason
        raise SessionCompromised(reason)

    def plan(self, statement: Statement) -> Plan:
        text = explainable_text(statement)
        return self.guarded(text, lambda: self._explain(text))

    def guarded(self, text: str, step: Callable[[], T]) -> T:
        """Run `step` for `text` in its own read-only transaction, if the text is trusted.

        NotExplainable when the check refuses the text or the server refuses the step (a
        timeout); SessionCompromised when the session changed.
        """
        try:
            tree = parse(text)
        except Exception as exc:  # pglast's ParseError
            raise NotExplainable(f"cannot parse the statement: {exc}") from None
        params = check_params(tree, self.trust)
        self.session.fetch("BEGIN READ ONLY")
        try:
            self._set_local()
            refused = describe(self.session.fetch(self._check_sql, params))
            if refused is not None:
                raise NotExplainable(refused)
            result = step()
            changed = describe(self.session.fetch(self._check_sql, params))
            if changed is not None:
                self._stop(f"the objects the statement uses changed while it was planned "
                           f"({changed})")
        except psycopg.Error as exc:
            raise NotExplainable(first_line(str(exc))) from None
        finally:
            self._end()
        return result

    def _set_local(self) -> None:
        limits = self.session.limits
        settings = {"statement_timeout": str(limits.statement_timeout_ms),
                    "lock_timeout": str(limits.lock_timeout_ms),
                    "search_path": self._search_path,
                    "plan_cache_mode": "force_generic_plan",
                    # the check's recursive CTEs are estimated at millions of rows: JIT
                    # compiled it for 14 s
                    "jit": "off"}
        if self._untrack:
            # keep pgsage's own planning out of pg_stat_statements
            settings["pg_stat_statements.track"] = "none"
        self.session.fetch(
            "SELECT " + ", ".join(f"set_config(%(n{i})s, %(v{i})s, true)"
                                  for i in range(len(settings))),
            {**{f"n{i}": k for i, k in enumerate(settings)},
             **{f"v{i}": v for i, v in enumerate(settings.values())}})

    def _end(self) -> None:
        """Roll back, then verify the session outside any transaction."""
        if self.session.conn.closed or self.session.conn.broken:
            return
        self.session.fetch("ROLLBACK")
        now = self._verify_row()
        if now["prepared"]:
            self.session.fetch(f"DEALLOCATE {PREPARED}")  # only when it exists: no ERROR
        changed = sorted(k for k in (*WATCHED, "current_user", "session_user")
                         if now[k] != self._expected[k])
        if changed or now["advisory_locks"]:
            self._stop("the session changed while planning: "
                       + (f"settings {', '.join(changed)} differ" if changed else
                          f"{now['advisory_locks']} advisory lock(s) were held (released)"))

    def _explain(self, text: str) -> Plan:
        # The extended protocol (the one-statement guard) makes `$1` in an EXPLAIN text
        # a bind parameter that then has no value, so GENERIC_PLAN serves only texts
        # without parameters; the others go through PREPARE, whose `$n` are its own.
        if self.generic_option and not PARAM.search(text):
            rows = self.session.fetch(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {text}",
                                      single=True)
        else:
            params = max((int(n) for n in PARAM.findall(text)), default=0)
            self.session.fetch(f"PREPARE {PREPARED} AS {text}", single=True)
            args = f"({', '.join(['NULL'] * params)})" if params else ""
            rows = self.session.fetch(f"EXPLAIN (FORMAT JSON) EXECUTE {PREPARED}{args}",
                                      single=True)
            self.session.fetch(f"DEALLOCATE {PREPARED}")
        top = rows[0]["QUERY PLAN"][0]["Plan"]
        return Plan(float(top["Total Cost"]), float(top.get("Plan Rows", 0)), top)
