"""Neither log_min_duration_statement nor auto_explain logs slow statements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import literal
from pgsage.rules._support.settings import evidence
from pgsage.rules.base import Rule, register


@register
class SlowStatementsNotLogged(Rule["SlowStatementsNotLogged.Options"]):
    """Neither log_min_duration_statement nor auto_explain logs slow statements.

    What it detects:
        log_min_duration_statement = -1 and auto_explain not loaded (or with
        auto_explain.log_min_duration = -1).

    Why it matters:
        pg_stat_statements gives averages; the log is where one slow execution, its
        parameters and (with auto_explain) its actual plan are kept. Without either, a
        query that was slow once at 3 a.m. leaves no trace of why.

    Example:
        log_min_duration_statement = -1, shared_preload_libraries = 'pg_stat_statements'

    What to do:
        Log statements slower than `threshold` and their plans: the action sets
        log_min_duration_statement and loads auto_explain for new sessions through
        session_preload_libraries (no restart), with log_analyze off so it adds no
        per-row timing overhead.
    """

    code: ClassVar[str] = "CF022"
    name: ClassVar[str] = "config.slow_statement_logging"
    category: ClassVar[Category] = Category.CONFIG
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        threshold: str = field(default="1s", metadata={
            "help": "the duration from which statements are logged."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        logged = model.setting("log_min_duration_statement")
        explain = model.setting("auto_explain.log_min_duration")
        if logged is None or logged != "-1" or (explain is not None and explain != "-1"):
            return
        session = [p.strip() for p in (model.setting("session_preload_libraries") or "")
                   .split(",") if p.strip()]
        libraries = ", ".join([*session, "auto_explain"]) if "auto_explain" not in session \
            else ", ".join(session)
        lines = ["LOAD 'auto_explain';  -- lets ALTER SYSTEM accept auto_explain.* settings",
                 f"ALTER SYSTEM SET log_min_duration_statement = {literal(options.threshold)};",
                 f"ALTER SYSTEM SET session_preload_libraries = {literal(libraries)};",
                 f"ALTER SYSTEM SET auto_explain.log_min_duration = {literal(options.threshold)};",
                 "ALTER SYSTEM SET auto_explain.log_analyze = off;",
                 "SELECT pg_reload_conf();"]
        undo = ("ALTER SYSTEM RESET log_min_duration_statement; "
                "ALTER SYSTEM RESET session_preload_libraries; "
                "ALTER SYSTEM RESET auto_explain.log_min_duration; "
                "ALTER SYSTEM RESET auto_explain.log_analyze; SELECT pg_reload_conf();")
        yield self.finding(
            title=f"Log slow statements and their plans (over {options.threshold})",
            detail=("log_min_duration_statement is -1 and auto_explain is not active: a "
                    "statement that is slow once leaves no trace of its parameters or plan. "
                    f"Log statements over {options.threshold}, with their plans through "
                    "auto_explain for new sessions; both take effect on reload, no restart."),
            object=ObjectRef(),
            action=Action(sql="\n".join(lines), undo_sql=undo),
            evidence=evidence(model, "log_min_duration_statement", options.threshold,
                              auto_explain_loaded=explain is not None,
                              session_preload_libraries=session),
        )
