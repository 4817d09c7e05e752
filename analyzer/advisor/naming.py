"""Names for the indexes a plan proposes: new in their schema and within the plan.

An index shares its schema's namespace with tables, sequences, views and other indexes. A
proposed name that is taken makes the CREATE fail, and worse, makes its undo
(`DROP INDEX ... IF EXISTS`) drop the object that was there before; two proposals with one
name make the second CREATE fail. Names are therefore made unique against every relation
name of the snapshot's catalog and the names the plan has already given.
"""

from __future__ import annotations

from collections.abc import Iterable

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.index_plan import IndexChoice
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


def name_choices(choices: Iterable[IndexChoice], model: Model) -> None:
    """Give each choice a name unique in its schema and in the plan (in place)."""
    taken = taken_names(model)
    for choice in choices:
        names = taken.setdefault(choice.candidate.table.schema, set())
        choice.name = unique_name(choice.candidate.name(), names)
        names.add(choice.name)
