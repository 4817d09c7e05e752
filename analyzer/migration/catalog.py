"""A schema as the catalog states it, in the normalised text PostgreSQL prints it in.

Both sides of `migration plan` (the live database and the target schema loaded into a
throwaway server) are read with the same queries, so equal objects compare equal: types from
format_type(), defaults from pg_get_expr(), constraints from pg_get_constraintdef(), indexes
from pg_get_indexdef(), views from pg_get_viewdef(), functions from pg_get_functiondef().
Objects are keyed by qualified name; columns by name (their order is not compared).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str = ""
    """pg_attribute.attidentity: '' none, 'a' ALWAYS, 'd' BY DEFAULT."""
    generated: str = ""
    """pg_attribute.attgenerated: '' none, 's' stored, 'v' virtual (18)."""
    generation: str | None = None
    """The generation expression, when generated."""


@dataclass(frozen=True)
class Constraint:
    name: str
    kind: str
    """pg_constraint.contype: p, u, f, c, x."""
    definition: str
    columns: tuple[str, ...]
    validated: bool = True
    references: str | None = None
    """The referenced table of a foreign key (qualified)."""


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    definition: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Sequence:
    name: str
    definition: str
    """AS type ... as CREATE SEQUENCE takes it."""


@dataclass(frozen=True)
class View:
    name: str
    definition: str
    tables: tuple[str, ...] = ()
    """Tables the view reads (qualified), from pg_depend."""


@dataclass(frozen=True)
class Function:
    name: str
    signature: str
    definition: str


@dataclass
class Table:
    name: str
    """Qualified: schema.table."""
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    unlogged: bool = False


@dataclass
class Catalog:
    tables: dict[str, Table] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    """Indexes that back no constraint, by qualified name."""
    sequences: dict[str, Sequence] = field(default_factory=dict)
    """Sequences not owned by an identity column."""
    views: dict[str, View] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    """By qualified name and identity arguments."""
    schemas: tuple[str, ...] = ()

    def differences(self, other: Catalog) -> list[str]:
        """Human-readable differences from `other` (empty when the catalogs match)."""
        out: list[str] = []
        for kind, mine, theirs in (("sequence", self.sequences, other.sequences),
                                   ("index", self.indexes, other.indexes),
                                   ("view", self.views, other.views),
                                   ("function", self.functions, other.functions)):
            for name in sorted(set(mine) | set(theirs)):
                a, b = mine.get(name), theirs.get(name)
                if a != b and not (kind == "view" and a and b
                                   and a.definition == b.definition):
                    out.append(f"{kind} {name}: {a} != {b}")
        for name in sorted(set(self.tables) | set(other.tables)):
            a_t, b_t = self.tables.get(name), other.tables.get(name)
            if a_t is None or b_t is None:
                out.append(f"table {name}: only on one side")
                continue
            if a_t.columns != b_t.columns:
                out.append(f"table {name} columns: {a_t.columns} != {b_t.columns}")
            if a_t.constraints != b_t.constraints:
                out.append(f"table {name} constraints: {a_t.constraints} != "
                           f"{b_t.constraints}")
        return out
