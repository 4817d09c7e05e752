"""IX005: invalid indexes left behind by a failed CREATE INDEX or REINDEX CONCURRENTLY."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import concurrent_definition, drop_index, ident
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.activity import Backend
from pgsage.collectors.indexes import IndexStats
from pgsage.rules.base import NoOptions, Rule, register
from pgsage.rules.index._duplicate import signature

REINDEX_LEFTOVER = re.compile(r"_cc(new|old)\d*$")
"""REINDEX CONCURRENTLY builds `<name>_ccnew` and swaps it with `<name>_ccold`."""


BUILDING = re.compile(r"\b(create\s+(unique\s+)?index|reindex)\b", re.IGNORECASE)


def running_builds(model: Model) -> list[str]:
    """Texts of statements building an index right now (as far as pg_stat_statements knows)."""
    texts = []
    for backend in model.snapshot.rows("activity", Backend):
        if backend.state != "active" or backend.query_id is None:
            continue
        text = model.statement_text(backend.query_id)
        if text is not None and BUILDING.search(text):
            texts.append(text)
    return texts


def mentions(text: str, name: str) -> bool:
    """Whether a statement text names an object (as a whole word, quoted or not)."""
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", text, re.IGNORECASE) is not None


def duplicates_query(ix: IndexStats) -> str | None:
    """SQL listing the key values that stop a unique index (plain columns only)."""
    keys = ix.columns[: ix.key_count]
    if not keys or any(k is None for k in keys):
        return None
    cols = ", ".join(ident(k) for k in keys if k is not None)
    return (f"SELECT {cols}, count(*) FROM {ident(ix.schema, ix.table)} "
            f"GROUP BY {cols} HAVING count(*) > 1;")


@register
class InvalidIndex(Rule[NoOptions]):
    """An invalid index: not used by queries, possibly still updated by every write.

    What it detects:
        Indexes with pg_index.indisvalid = false. CREATE INDEX CONCURRENTLY and REINDEX
        CONCURRENTLY leave one behind when they fail or are cancelled: a deadlock, a
        statement_timeout, a cancelled session, or duplicate values for a unique index.
        REINDEX CONCURRENTLY leftovers are named `<index>_ccnew` (or `_ccold`).

    Why it matters:
        The planner never uses an invalid index, yet once it is "ready" it is updated on
        every INSERT and non-HOT UPDATE, takes space, and can block HOT updates. It also
        hides a missing index: the one that was meant to exist does not.

    Example:
        CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
        -- ERROR:  could not create unique index "users_email_key"
        -- DETAIL:  Key (email)=(a@example.com) is duplicated.
        -- users_email_key stays, marked INVALID (\\d users shows it)

    What to do:
        Drop it CONCURRENTLY and build it again CONCURRENTLY from its definition; run the
        two statements one at a time (not in one transaction or one `psql -c` string).
        For a unique index, first remove the duplicate values the finding shows how to
        list, or the build fails again. A REINDEX leftover whose original index is intact
        is only dropped. An index being built right now is also invalid until the build
        ends: check pg_stat_progress_create_index before dropping; when pgsage sees such a
        build running, the finding is lowered to info.

        An invalid index of a partitioned table means a partition has no index attached
        to it yet: create the partition's index and ALTER INDEX ... ATTACH PARTITION.
    References:
        https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
    """

    code: ClassVar[str] = "IX005"
    name: ClassVar[str] = "index.invalid"
    category: ClassVar[Category] = Category.INDEX
    severity: ClassVar[Severity] = Severity.HIGH
    Options = NoOptions

    def check(self, model: Model, options: NoOptions) -> Iterator[Recommendation]:
        builds = running_builds(model)
        before = model.baseline_indexes
        for ix in model.indexes:
            if ix.is_valid or ix.definition is None:  # valid, or locked when read: unknown
                continue
            table = model.tables.get(ix.relid)
            obj = ObjectRef(ix.schema, ix.table, ix.name,
                            tuple(c or "(expression)" for c in ix.columns))
            if table is not None and table.relkind == "p":
                yield self.finding(
                    severity=Severity.MEDIUM,
                    title=f"Partitioned index {ix.name} on {ix.table} is invalid",
                    detail=f"{ix.name} on the partitioned table {ix.schema}.{ix.table} is "
                           "invalid: at least one partition has no index attached to it, so "
                           "the index is not complete. Create the missing index on each such "
                           "partition (CONCURRENTLY) and attach it with ALTER INDEX "
                           f"{ident(ix.schema, ix.name)} ATTACH PARTITION <partition index>.",
                    object=obj,
                    evidence={"definition": ix.definition, "partitioned": True},
                    benefit=float(ix.bytes or 0),
                )
                continue
            yield self._finding(model, ix, obj, builds, ix.indexrelid in before)

    def _finding(self, model: Model, ix: IndexStats, obj: ObjectRef, builds: list[str],
                 in_baseline: bool) -> Recommendation:
        size = format_bytes(ix.bytes)
        original = self._original(model, ix)
        parts = [f"{ix.name} on {ix.schema}.{ix.table} ({size}) is marked invalid: queries "
                 "never use it."]
        if ix.is_ready:
            parts.append("It is still updated on every insert and non-HOT update"
                         + (", and being unique it may reject new duplicate values."
                            if ix.is_unique else "."))
        else:
            parts.append("It is not even maintained (indisready is false): it only takes "
                         "space and hides the index that was meant to exist.")
        if original is not None:
            parts.append(f"It is what a failed REINDEX CONCURRENTLY of {original.name} left "
                         f"behind; {original.name} is valid and unchanged, so dropping this "
                         "copy is all there is to do.")
            action = Action(sql=drop_index(ix.schema, ix.name))
        else:
            parts.append("Drop it and build it again, running the two statements one at a "
                         "time (CONCURRENTLY cannot run inside a transaction block).")
            if ix.is_unique:
                query = duplicates_query(ix)
                parts.append("Being unique, it most likely failed on duplicate values: "
                             + (f"list them with {query} and remove them first, "
                                if query else "remove the duplicates of its key first, ")
                             + "or the build fails again.")
            action = Action(sql=drop_index(ix.schema, ix.name) + "\n"
                            + concurrent_definition(ix.known_definition),
                            undo_sql=drop_index(ix.schema, ix.name))
        severity = self.severity
        names = {ix.name, REINDEX_LEFTOVER.sub("", ix.name), ix.table}
        building = [t for t in builds if any(mentions(t, n) for n in names)]
        if building:
            severity = Severity.INFO
            parts.append("A CREATE INDEX or REINDEX on this table is running right now: if "
                         "it is building this index, wait for it to finish "
                         "(pg_stat_progress_create_index).")
        elif model.baseline is not None and not in_baseline:
            parts.append("It did not exist at the baseline snapshot: check "
                         "pg_stat_progress_create_index in case it is still being built.")
        else:
            parts.append("Check pg_stat_progress_create_index first in case a build is "
                         "still running.")
        return self.finding(
            severity=severity,
            title=f"Rebuild or drop invalid index {ix.name} on {ix.table}"
                  if original is None else
                  f"Drop {ix.name} on {ix.table}, left by a failed REINDEX CONCURRENTLY",
            detail=" ".join(parts),
            object=obj,
            action=action,
            impact={"index_bytes_saved": ix.bytes} if original is not None else {},
            evidence={"is_ready": ix.is_ready, "is_unique": ix.is_unique,
                      "index_bytes": ix.bytes, "definition": ix.definition,
                      "reindex_leftover_of": original.name if original else None,
                      "build_running": bool(building)},
            benefit=float(ix.bytes or 0),
        )

    @staticmethod
    def _original(model: Model, ix: IndexStats) -> IndexStats | None:
        """The valid index a `_ccnew`/`_ccold` leftover is a copy of, if it is there."""
        if not REINDEX_LEFTOVER.search(ix.name):
            return None
        same = signature(ix)
        for other in model.indexes_by_table.get(ix.relid, []):
            if other.indexrelid != ix.indexrelid and other.is_valid and (
                    signature(other) == same):
                return other
        return None
