"""Partitioned tables as they are: pruning, partition counts, the default partition, indexes.

PT003 statements that never filter on the partition key, PT004 too many or too few
partitions, PT005 a default partition that keeps growing, PT006 indexes missing on some
partitions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action, Category, ObjectRef, Recommendation, Severity
from pgsage.analyzer.model.workload import Use
from pgsage.analyzer.sqlgen import attach_index, create_index, ident, index_name
from pgsage.analyzer.units import format_bytes
from pgsage.collectors.indexes import IndexStats
from pgsage.collectors.tables import TableStats
from pgsage.rules._catalog import bytes_with_partitions, rows_with_partitions
from pgsage.rules._stats import table_counter
from pgsage.rules._workload import short, statements_on, table_rows, totals, workload_ms
from pgsage.rules.base import Rule, register

GB = 1024**3
PRUNING_USES = {Use.EQ, Use.IN, Use.RANGE, Use.NULL, Use.JOIN, Use.LIKE_PREFIX}


def partitioned(model: Model) -> Iterator[TableStats]:
    """Top-level partitioned tables (a sub-partitioned partition is judged with its root)."""
    for t in model.tables.values():
        if t.relkind == "p" and not t.is_partition:
            yield t


def children(model: Model, parent: TableStats) -> list[TableStats]:
    return sorted((t for t in model.tables.values()
                   if t.parent_relid == parent.relid and t.is_partition),
                  key=lambda t: t.name)


def key_columns(table: TableStats) -> list[str]:
    """Columns of `RANGE (created_at)` / `HASH (tenant_id, region)`; expressions are left out."""
    if not table.partition_key:
        return []
    inner = table.partition_key[table.partition_key.find("(") + 1: table.partition_key.rfind(")")]
    out = []
    for part in inner.split(","):
        name = part.strip()
        if re.fullmatch(r'"[^"]+"', name):
            out.append(name[1:-1])
        elif re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
            out.append(name)
    return out


@register
class NoPartitionPruning(Rule):
    """Statements on a partitioned table that never filter on its partition key.

    What it detects:
        Statements called at least `min_calls` times on a partitioned table with at least
        `min_partitions` partitions whose conditions (WHERE or joins) never mention a
        partition key column: every call plans and scans every partition. Medium when
        such statements take at least `medium_share` of statement time.

    Why it matters:
        Partitioning pays off through pruning; a statement that cannot prune does the
        work of all partitions (and their index lookups one by one), plans for each and
        locks each.

    Example:
        events PARTITION BY RANGE (created_at), 365 partitions;
        SELECT * FROM events WHERE user_id = $1   -- 365 index scans

    What to do:
        Add a condition on the key where the application knows it (`AND created_at >=
        $2`); if most statements cannot, the key does not fit the workload: choose the
        column most statements filter on.

    Options:
        min_calls: calls of a statement over the window.
        min_partitions: partitions the table needs.
        medium_share: share of statement time for medium.
    """

    code: ClassVar[str] = "PT003"
    name: ClassVar[str] = "partitioning.no_pruning"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_calls: int = 10
        min_partitions: int = 4
        medium_share: float = 0.1

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        found = totals(model)
        total = workload_ms(found) or 1.0
        for parent in partitioned(model):
            keys = key_columns(parent)
            parts = children(model, parent)
            if not keys or len(parts) < options.min_partitions:
                continue
            misses = []
            for st in statements_on(model, parent.relid):
                t = found.get(st.queryid)
                if t is None or t.calls < options.min_calls:
                    continue
                ref = next(r for r in st.tables if r.relid == parent.relid)
                if any(u.column in keys and u.use in PRUNING_USES and not u.in_or
                       for u in st.uses_of(ref)):
                    continue
                misses.append((st, t))
            if not misses:
                continue
            spent = sum(t.total_ms for _, t in misses)
            listed = "\n".join(f"  - queryid {t.queryid} ({t.calls:,} calls, "
                               f"{t.mean_exec_ms:,.2f} ms mean): {short(st.text, 150)}"
                               for st, t in misses[:5])
            yield self.finding(
                severity=(Severity.MEDIUM if spent / total >= options.medium_share
                          else self.severity),
                title=f"{len(misses)} statement(s) on {parent.name} cannot prune its "
                      f"{len(parts)} partitions (no condition on {', '.join(keys)})",
                detail=(f"{parent.name} is partitioned by {parent.partition_key}, but these "
                        f"statements never filter or join on {', '.join(keys)}, so each call "
                        f"plans, locks and scans all {len(parts)} partitions "
                        f"({spent / 1000:,.1f} s over {model.window.describe()}). Add a "
                        "condition on the key where the application knows it; if most "
                        "statements cannot, partition by the column they do filter on.\n"
                        f"{listed}"),
                object=ObjectRef(parent.schema, parent.name, None, tuple(keys)),
                impact={"queryids": [t.queryid for _, t in misses]},
                evidence={"partition_key": parent.partition_key, "partitions": len(parts),
                          "statements": len(misses), "total_ms": round(spent, 1)},
                benefit=spent,
            )


@register
class PartitionCount(Rule):
    """A partitioned table with too many partitions, or with one partition holding most rows.

    What it detects:
        Partitioned tables with more than `max_partitions` partitions; and partitioned
        tables of at least `min_bytes` where one partition holds at least `max_share` of
        the data (or there is only one), so partitioning divides nothing.

    Why it matters:
        Every partition adds planning work, a lock per statement that cannot prune, and
        relation cache memory in every backend: thousands of small partitions slow down
        every statement. One partition holding everything keeps the problems
        partitioning was meant to solve (vacuum of a huge table, retention by DELETE).

    Example:
        metrics: 4,380 partitions (one per hour for six months)
        events: 3 partitions, events_p2024 holds 97% of 200 GB

    What to do:
        Too many: a coarser interval (day instead of hour) for new partitions, and merge
        old ones (detach, copy into one, attach). One partition with most data: split it
        (detach, create the finer partitions, move its rows in batches).

    Options:
        max_partitions: partitions above which a table has too many.
        min_bytes: size from which an uneven table is reported.
        max_share: share of the data in one partition from which it is uneven.
    """

    code: ClassVar[str] = "PT004"
    name: ClassVar[str] = "partitioning.partition_count"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        max_partitions: int = 1000
        min_bytes: int = 10 * GB
        max_share: float = 0.8

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for parent in partitioned(model):
            parts = children(model, parent)
            if not parts:
                continue
            size = bytes_with_partitions(model, parent)
            if len(parts) > options.max_partitions:
                yield self.finding(
                    title=f"{parent.name} has {len(parts):,} partitions",
                    detail=(f"{parent.name} ({format_bytes(size)}, partitioned by "
                            f"{parent.partition_key}) has {len(parts):,} partitions, "
                            f"{format_bytes(size / len(parts))} each on average. Each one adds "
                            "planning work and, for statements that cannot prune, a lock and a "
                            "scan. Create new partitions at a coarser interval and merge old "
                            "ones."),
                    object=ObjectRef(parent.schema, parent.name),
                    evidence={"partitions": len(parts), "bytes": size,
                              "partition_key": parent.partition_key},
                    benefit=float(len(parts)),
                )
                continue
            if size < options.min_bytes:
                continue
            biggest = max(parts, key=lambda p: bytes_with_partitions(model, p))
            share = bytes_with_partitions(model, biggest) / size if size else 0.0
            if len(parts) > 1 and share < options.max_share:
                continue
            yield self.finding(
                title=f"{biggest.name} holds {share:.0%} of {parent.name} "
                      f"({format_bytes(size)})",
                detail=(f"{parent.name} is partitioned by {parent.partition_key} into "
                        f"{len(parts)} partition(s), but {biggest.name} holds {share:.0%} of "
                        f"its {format_bytes(size)}: partitioning divides almost nothing. "
                        f"Split {biggest.name} (detach it, create finer partitions, move its "
                        "rows in batches)."),
                object=ObjectRef(biggest.schema, biggest.name),
                evidence={"partitions": len(parts), "bytes": size,
                          "largest_partition": biggest.name, "largest_share": round(share, 4)},
                benefit=float(size),
            )


@register
class DefaultPartitionGrowing(Rule):
    """Rows keep landing in the default partition: partitions for their keys are missing.

    What it detects:
        DEFAULT partitions that hold at least `min_rows` rows and received inserts over
        the window. Medium when the default holds at least `medium_share` of its parent's
        rows.

    Why it matters:
        Rows in the default partition are outside the scheme: no pruning to them, no
        retention by dropping a partition, and creating a partition for their range
        fails (or, on recent versions, has to scan the default under a lock) until they
        are moved out. It usually means future partitions are not being created.

    Example:
        events_default: 2.1M rows, 40,000 inserted since the last snapshot

    What to do:
        Find the key ranges the default holds (the action), create the missing
        partitions: detach the default, create them, move the rows from the old default
        in batches, attach it back. Then schedule partition creation ahead of time
        (pg_partman's run_maintenance, or a job).

    Options:
        min_rows: rows in the default partition from which it is reported.
        medium_share: share of the parent's rows for medium.
    """

    code: ClassVar[str] = "PT005"
    name: ClassVar[str] = "partitioning.default_growing"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_rows: int = 10_000
        medium_share: float = 0.2

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for part in model.tables.values():
            if not part.is_partition or (part.partition_bound or "").upper() != "DEFAULT":
                continue
            rows = table_rows(part)
            inserted = table_counter(model, part.relid, "n_tup_ins") or 0
            if rows < options.min_rows or inserted <= 0:
                continue
            parent = model.tables.get(part.parent_relid or -1)
            total = rows_with_partitions(model, parent) if parent else rows
            share = rows / total if total else 1.0
            keys = key_columns(parent) if parent else []
            probe = None
            if keys:
                k = ident(keys[0])
                probe = (f"SELECT min({k}), max({k}), count(*) FROM "
                         f"{ident(part.schema, part.name)};")
            yield self.finding(
                severity=Severity.MEDIUM if share >= options.medium_share else self.severity,
                title=f"Default partition {part.name} holds {rows:,.0f} rows "
                      f"({share:.0%} of {parent.name if parent else 'its parent'}) and grows",
                detail=(f"{part.name}, the DEFAULT partition of "
                        f"{parent.name if parent else '?'}, holds {rows:,.0f} rows and "
                        f"received {inserted:,} inserts over the window: partitions for "
                        "their keys are missing. Find the ranges (the action), create the "
                        "partitions (detach the default, create them, move its rows in "
                        "batches, attach it back) and create future partitions ahead of "
                        "time."),
                object=ObjectRef(part.schema, part.name, None, tuple(keys) or None),
                action=Action(sql=probe) if probe else None,
                evidence={"rows": rows, "inserted": inserted, "share_of_parent": round(share, 4),
                          "partition_key": parent.partition_key if parent else None},
                benefit=rows,
            )


def _signature(ix: IndexStats) -> tuple[object, ...] | None:
    keys = ix.columns[: ix.key_count]
    if ix.expressions is not None or ix.predicate is not None or None in keys:
        return None
    return (ix.method, tuple(keys), ix.options, ix.is_unique)


@register
class PartitionMissingIndex(Rule):
    """An index most partitions of a table have is missing on some of them.

    What it detects:
        For each partitioned table with at least two plain partitions, indexes (same
        method, columns, order, uniqueness; plain columns only) present on at least
        `min_share` of the partitions but missing on others. The action builds them
        CONCURRENTLY on the partitions that lack them, and attaches them to the parent's
        index when the parent has one.

    Why it matters:
        A statement that uses the index on one partition scans the partitions without it
        sequentially: the same query is fast for one month and slow for the next. An
        index created on a partitioned parent is only complete once every partition has
        a matching index.

    Example:
        events_p202410 and events_p202411 have (user_id); events_p202412 does not

    What to do:
        Create the missing indexes (the action, one partition at a time, without blocking
        writes) and attach them to the parent's index.

    Options:
        min_share: share of partitions that have the index for the others to count as
        missing it.
    """

    code: ClassVar[str] = "PT006"
    name: ClassVar[str] = "partitioning.missing_index"
    category: ClassVar[Category] = Category.PARTITIONING
    severity: ClassVar[Severity] = Severity.LOW

    @dataclass(frozen=True)
    class Options:
        min_share: float = 0.5

    def check(self, model: Model, options: Options) -> Iterator[Recommendation]:
        for parent in [t for t in model.tables.values() if t.relkind == "p"]:
            parts = [p for p in children(model, parent) if p.relkind == "r"]
            if len(parts) < 2:
                continue
            have: dict[int, set[tuple[object, ...]]] = {}
            example: dict[tuple[object, ...], IndexStats] = {}
            for p in parts:
                sigs = set()
                for ix in model.indexes_by_table.get(p.relid, []):
                    sig = _signature(ix)
                    if sig is not None and ix.is_valid:
                        sigs.add(sig)
                        example.setdefault(sig, ix)
                have[p.relid] = sigs
            counts: Counter[tuple[object, ...]] = Counter(s for sigs in have.values() for s in sigs)
            parent_ix = {_signature(ix): ix for ix in model.indexes_by_table.get(parent.relid, [])}
            for sig, n in counts.items():
                if n == len(parts) or n / len(parts) < options.min_share:
                    continue
                missing = [p for p in parts if sig not in have[p.relid]]
                yield self._finding(parent, parts, missing, example[sig], parent_ix.get(sig))

    def _finding(self, parent: TableStats, parts: list[TableStats], missing: list[TableStats],
                 like: IndexStats, parent_index: IndexStats | None) -> Recommendation:
        cols = [str(c) for c in like.columns[: like.key_count]]
        lines = []
        undo = []
        for p in missing:
            name = index_name(p.name, cols, "key" if like.is_unique else "idx")
            ddl = create_index(p.schema, p.name, name, cols, like.method)
            if like.is_unique:
                ddl = ddl.replace("CREATE INDEX", "CREATE UNIQUE INDEX", 1)
            if any(o & 1 for o in like.options):
                ddl = ddl.replace(f"({', '.join(ident(c) for c in cols)})", "(" + ", ".join(
                    ident(c) + (" DESC" if i < len(like.options) and like.options[i] & 1 else "")
                    for i, c in enumerate(cols)) + ")")
            lines.append(ddl)
            if parent_index is not None:
                lines.append(attach_index(parent_index.schema, parent_index.name, p.schema, name))
            undo.append(f"DROP INDEX CONCURRENTLY IF EXISTS {ident(p.schema, name)};")
        names = ", ".join(p.name for p in missing)
        return self.finding(
            title=f"Index ({', '.join(cols)}) missing on {len(missing)} of {len(parts)} "
                  f"partitions of {parent.name}",
            detail=(f"{len(parts) - len(missing)} partitions of {parent.name} have an index on "
                    f"({', '.join(cols)}) (e.g. {like.name}); {names} do not, so statements "
                    "that use it there scan those partitions instead. Create them (the "
                    "action, CONCURRENTLY, one partition at a time)"
                    + (f" and attach them to {parent_index.name}." if parent_index else ".")),
            object=ObjectRef(parent.schema, parent.name, like.name, tuple(cols)),
            action=Action(sql="\n".join(lines), undo_sql="\n".join(undo)),
            evidence={"partitions": len(parts), "missing_on": [p.name for p in missing],
                      "example_index": like.name,
                      "parent_index": parent_index.name if parent_index else None},
            benefit=float(sum(table_rows(p) for p in missing)),
        )
