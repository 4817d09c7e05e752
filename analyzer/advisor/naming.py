"""Names for the indexes a plan proposes: new in their schema and within the plan.

An index shares its schema's namespace with tables, sequences, views and other indexes. A
proposed name that is taken makes the CREATE fail, and worse, makes its undo
(`DROP INDEX ... IF EXISTS`) drop the object that was there before; two proposals with one
name make the second CREATE fail. Names are therefore made unique against every relation
name of the snapshot's catalog and the names the plan has already given. An index on a
partitioned table also names one index per partition (see `IndexChoice.create_sql`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from pgsage.analyzer.advisor.inputs import partitions
from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import Candidate, IndexChoice, PartitionIndex
from pgsage.analyzer.model.workload import TableRef
from pgsage.analyzer.sqlgen import unique_name


def taken_names(model: Model) -> dict[str, set[str]]:
    """Relation names per schema: the relations collector's, plus the tables' and indexes'
    (a snapshot taken before that collector existed still knows those)."""
    taken: dict[str, set[str]] = {}
    for rel in model.relations:
        taken.setdefault(rel.schema, set()).add(rel.name)
    for table in model.tables.values():
        taken.setdefault(table.schema, set()).add(table.name)
    for ix in model.indexes:
        taken.setdefault(ix.schema, set()).add(ix.name)
    return taken


def _name(candidate: Candidate, taken: dict[str, set[str]]) -> str:
    names = taken.setdefault(candidate.table.schema, set())
    name = unique_name(candidate.name(), names)
    names.add(name)
    return name


def _partition_indexes(model: Model, candidate: Candidate, attach_to: str,
                       taken: dict[str, set[str]]) -> list[PartitionIndex]:
    """Each partition's index, named like the parent's would be on that partition."""
    out = []
    for part in partitions(model, candidate.table.relid):
        table = TableRef(part.relid, part.schema, part.name)
        on_part = dataclasses.replace(candidate, table=table)
        name = _name(on_part, taken)
        out.append(PartitionIndex(table, name, attach_to, part.relkind == "p"))
        if part.relkind == "p":
            out += _partition_indexes(model, on_part, name, taken)
    return out


def name_choices(choices: Iterable[IndexChoice], model: Model) -> None:
    """Give each choice, and each partition index of a choice on a partitioned table, a
    name unique in its schema and in the plan (in place)."""
    taken = taken_names(model)
    for choice in choices:
        choice.name = _name(choice.candidate, taken)
        table = model.tables.get(choice.candidate.table.relid)
        if table is not None and table.relkind == "p":
            choice.partitions = _partition_indexes(model, choice.candidate, choice.name,
                                                   taken)
