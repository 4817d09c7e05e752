"""IX006: foreign keys without an index on the referencing columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.sqlgen import attach_index, create_index, drop_index, index_name
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.constraints import Constraint
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._stats import describe
from pgsage.rules._support.catalog import table_rows
from pgsage.rules.base import Rule, register

ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
           "d": "SET DEFAULT"}


def covers(ix: IndexStats, columns: Sequence[str]) -> bool:
    """Whether an index can find the rows of one foreign-key value.

    A valid, non-partial btree whose first len(columns) keys are the key's columns in any
    order; or a hash index on the single column of a one-column key.
    """
    if not ix.is_valid or ix.predicate is not None:
        return False
    keys = ix.columns[: ix.key_count]
    if ix.method == "btree":
        return len(keys) >= len(columns) and set(keys[: len(columns)]) == set(columns)
    return ix.method == "hash" and len(columns) == 1 and keys[:1] == (columns[0],)


def planned_by_advisor(model: Model, relid: int, columns: Sequence[str]) -> bool:
    """Whether the index advisor's plan already creates an index leading with these columns."""
    for choice in model.index_plan.choices:
        keys = [k.column for k in choice.candidate.keys if not k.expression]
        if choice.candidate.table.relid == relid and choice.candidate.method == "btree" \
                and choice.candidate.predicate is None \
                and set(keys[: len(columns)]) == set(columns):
            return True
    return False


def partitions(model: Model, relid: int) -> list[TableStats]:
    return [t for t in model.tables.values() if t.parent_relid == relid and t.is_partition]


def leaves(model: Model, relid: int) -> list[int]:
    """The relids holding the rows of a table: itself, or its leaf partitions."""
    table = model.tables.get(relid)
    if table is None or table.relkind != "p":
        return [relid]
    return [leaf for p in partitions(model, relid) for leaf in leaves(model, p.relid)]


def summed(model: Model, relid: int, counter: str) -> int:
    return sum(model.table_counter(r, counter) or 0 for r in leaves(model, relid))


def estimated_index_bytes(rows: float, ncols: int) -> int:
    """A rough btree size: ~12 bytes of tuple header and pointer plus 8 per key, 90% full."""
    return int(rows * (12 + 8 * ncols) / 0.9)


@register
class ForeignKeyUnindexed(Rule["ForeignKeyUnindexed.Options"]):
    """A foreign key whose referencing columns have no index.

    What it detects:
        Foreign keys whose columns are not the leading columns (in any order) of a valid,
        non-partial btree index of the referencing table (or, for a one-column key, a hash
        index), on tables of at least `min_rows` rows. A key of a partitioned table is
        judged once, on the partitioned table.

    Why it matters:
        PostgreSQL indexes the referenced side (a primary key or unique constraint) but not
        the referencing side. Every DELETE of a referenced row, and every change of its key,
        must find the referencing rows: without an index that is a sequential scan of the
        whole referencing table per row, under a lock, and ON DELETE CASCADE deletes the
        same way. Joins from the parent to the child and queries filtering on the key scan
        the whole table too.

    Example:
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers);
        DELETE FROM customers WHERE id = 42;   -- seq-scans orders to check for references

    What to do:
        Create the index CONCURRENTLY (it blocks neither reads nor writes). The name is
        PostgreSQL's usual `<table>_<columns>_idx`, cut to 63 bytes with a short hash when
        too long. On a partitioned table, where CONCURRENTLY is not allowed, the index is
        created ON ONLY the parent, built CONCURRENTLY on each partition and attached.

        Severity: high when the table has at least `large_rows` rows and the window shows
        deletes on the referenced table or at least `min_seq_scans` sequential scans of the
        referencing one; medium when only one of the two holds; low when the table is
        mid-sized and nothing in the window needed the index (the index would then cost
        writes for no observed gain).
    References:
        https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK
    """

    code: ClassVar[str] = "IX006"
    name: ClassVar[str] = "index.foreign_key_unindexed"
    category: ClassVar[Category] = Category.INDEX
    severity: ClassVar[Severity] = Severity.MEDIUM
    reads: ClassVar[tuple[str, ...]] = ("indexes",)

    @dataclass(frozen=True)
    class Options:
        min_rows: int = field(default=1000, metadata={
            "help": "referencing tables with fewer rows are not reported (a scan is cheap)."})
        large_rows: int = field(default=100_000, metadata={
            "help": "from this many rows, a referencing table counts as large."})
        min_seq_scans: int = field(default=10, metadata={
            "help": "from this many sequential scans of the referencing table in the window, the "
                    "index counts as needed (building an index scans the table once, so one or two "
                    "scans prove nothing)."})

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        groups: dict[tuple[int, frozenset[str]], list[Constraint]] = {}
        for con in model.constraints:
            if con.type == "f" and con.columns and not self._judged_on_parent(model, con):
                groups.setdefault((con.relid, frozenset(con.columns)), []).append(con)
        taken = {(ix.schema, ix.name) for ix in model.indexes}
        taken |= {(t.schema, t.name) for t in model.tables.values()}
        for (relid, _), cons in sorted(groups.items(), key=lambda g: g[1][0].name):
            table = model.tables.get(relid)
            if table is None:
                continue
            columns = cons[0].columns
            if any(covers(ix, columns) for ix in model.indexes_by_table.get(relid, [])):
                continue
            if planned_by_advisor(model, relid, columns):
                continue  # IX001 creates an index that supports this key: one finding
            rows = sum(table_rows(model.tables.get(r)) for r in leaves(model, relid))
            if rows < options.min_rows:
                continue
            yield self._finding(model, table, cons, rows, taken, options)

    @staticmethod
    def _judged_on_parent(model: Model, con: Constraint) -> bool:
        """A partition's copy of its partitioned table's foreign key."""
        table = model.tables.get(con.relid)
        if table is None or not table.is_partition or table.parent_relid is None:
            return False
        return any(c.type == "f" and c.relid == table.parent_relid and c.columns == con.columns
                   for c in model.constraints)

    def _finding(self, model: Model, table: TableStats, cons: list[Constraint], rows: float,
                 taken: set[tuple[str, str]], options: Options) -> Recommendation:
        con = cons[0]
        columns = con.columns
        window = describe(model.counter_window)
        deletes = summed(model, con.ref_relid, "n_tup_del") if con.ref_relid else 0
        updates = summed(model, con.ref_relid, "n_tup_upd") if con.ref_relid else 0
        seq_scans = summed(model, table.relid, "seq_scan")
        large = rows >= options.large_rows
        needed = deletes > 0 or seq_scans >= options.min_seq_scans
        severity = (Severity.HIGH if large and needed else
                    Severity.MEDIUM if large or needed else Severity.LOW)
        name = self._free_name(table.schema, table.name, columns, taken)
        action, note = self._action(model, table, name, columns, taken)
        ref = f"{con.ref_schema}.{con.ref_table}"
        cols = ", ".join(columns)
        names = ", ".join(c.name for c in cons)
        on_delete = ACTIONS.get(con.on_delete or "a", "NO ACTION")
        child_bytes = sum((model.tables[r].table_bytes or 0) for r in leaves(model, table.relid)
                          if r in model.tables)
        parts = [f"Foreign key {names} on {table.schema}.{table.name} ({cols}) references "
                 f"{ref}, but no index of {table.name} starts with ({cols}).",
                 f"Each DELETE on {con.ref_table}, and each change of its key, scans all "
                 f"{rows:,.0f} rows ({format_bytes(child_bytes)}) of {table.name} to find "
                 "the rows that reference it"
                 + (f", and ON DELETE {on_delete} then changes them the same way."
                    if on_delete not in ("NO ACTION", "RESTRICT") else "."),
                 f"Over {window}, {con.ref_table} had {deletes} deletes and {updates} updates "
                 f"(some of which may change the key), and {table.name} was read by "
                 f"{seq_scans} sequential scans."]
        if not needed:
            parts.append("Nothing in that window needed the index yet: it would mostly "
                         "protect future deletes of referenced rows.")
        if note:
            parts.append(note)
        return self.finding(
            severity=severity,
            title=f"Index {table.name} ({cols}) for foreign key {con.name} to {con.ref_table}",
            detail=" ".join(parts),
            object=ObjectRef(table.schema, table.name, None, tuple(columns)),
            action=action,
            impact={"est_index_bytes": estimated_index_bytes(rows, len(columns))},
            evidence={"constraints": [c.name for c in cons], "child_rows": round(rows),
                      "child_bytes": child_bytes, "child_seq_scan": seq_scans,
                      "parent_deletes": deletes, "parent_updates": updates,
                      "on_delete": on_delete, "referenced_table": ref},
            benefit=float(max(child_bytes, rows) * (deletes + seq_scans + 1)),
        )

    @staticmethod
    def _free_name(schema: str, table: str, columns: Sequence[str],
                   taken: set[tuple[str, str]]) -> str:
        """The conventional name, or `..._idx1`, `..._idx2`: relation names share a schema."""
        name, n = index_name(table, columns), 0
        while (schema, name) in taken:
            n += 1
            name = index_name(table, columns, f"idx{n}")
        taken.add((schema, name))
        return name

    def _action(self, model: Model, table: TableStats, name: str, columns: Sequence[str],
                taken: set[tuple[str, str]]) -> tuple[Action, str | None]:
        if table.relkind != "p":
            return (Action(sql=create_index(table.schema, table.name, name, columns),
                           undo_sql=drop_index(table.schema, name)), None)
        parts = partitions(model, table.relid)
        undo = drop_index(table.schema, name, concurrently=False)
        if any(p.relkind == "p" for p in parts):
            return (Action(sql=create_index(table.schema, table.name, name, columns,
                                            concurrently=False), undo_sql=undo),
                    f"{table.name} has sub-partitions, so this CREATE INDEX is not concurrent: "
                    "it blocks writes to every partition while it builds; run it in a quiet "
                    "period, or build each leaf partition's index CONCURRENTLY and attach it.")
        lines = [create_index(table.schema, table.name, name, columns, concurrently=False,
                              only=True)]
        for p in sorted(parts, key=lambda t: t.name):
            existing = [ix for ix in model.indexes_by_table.get(p.relid, [])
                        if ix.columns == tuple(columns) and covers(ix, columns)
                        and ix.method == "btree" and not ix.is_unique]
            if existing:  # the partition has it already: attach it instead of a copy
                child = min(existing, key=lambda ix: ix.name).name
            else:
                child = self._free_name(p.schema, p.name, columns, taken)
                lines.append(create_index(p.schema, p.name, child, columns))
            lines.append(attach_index(table.schema, name, p.schema, child))
        return (Action(sql="\n".join(lines), undo_sql=undo),
                f"{table.name} is partitioned: the index is created ON ONLY it, built "
                "CONCURRENTLY on each partition and attached, so no partition is locked "
                "against writes; run the statements one at a time.")
