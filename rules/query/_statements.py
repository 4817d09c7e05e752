"""Statements worth fixing, from pg_stat_statements counters over the window.

QY001 top statements, QY002 temp spills, QY003 N+1 loops, QY012 regressions against a
baseline, QY013 planning time, QY014 JIT on short statements.
"""

from __future__ import annotations

from pgsage.analyzer.model.findings import Action, ObjectRef
from pgsage.analyzer.model.workload import Statement
from pgsage.analyzer.sqlgen import literal
from pgsage.rules._support.workload import short


def statement_object(statement: Statement | None) -> ObjectRef:
    """The statement's table when it reads one table, else nothing in particular."""
    if statement is not None and len(statement.tables) == 1:
        table = next(iter(statement.tables))
        return ObjectRef(table.schema, table.name)
    return ObjectRef()


def set_local(setting: str, value: str, queryid: int, text: str | None) -> Action:
    """A transaction that gives one statement a setting: SET LOCAL ends with it."""
    return Action(sql=(f"BEGIN;\nSET LOCAL {setting} = {literal(value)};\n"
                       f"-- run the statement here (queryid {queryid}): {short(text, 200)}\n"
                       "COMMIT;"))
