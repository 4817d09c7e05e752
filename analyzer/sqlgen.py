"""Generated SQL: identifiers and literals quoted by pglast, never by string formatting.

pglast's printer is the quoting PostgreSQL's own grammar implies (a name is double-quoted
when it is not lower case or is a reserved or type/function keyword), and it loads no
database driver, so the pure layers (model, rules) can generate SQL without one.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping, Sequence, Set

from pglast import ast
from pglast.stream import RawStream, maybe_double_quote_name

MAX_IDENTIFIER_BYTES = 63
"""NAMEDATALEN - 1: PostgreSQL silently truncates longer names, so generated ones never are."""


def ident(*names: str) -> str:
    """A (possibly schema-qualified) identifier, quoted as PostgreSQL needs it."""
    return ".".join(maybe_double_quote_name(name) for name in names)


def literal(value: str | int | float | bool) -> str:
    """A constant as PostgreSQL reads it (strings in standard-conforming quotes)."""
    node: ast.Node
    if isinstance(value, bool):
        node = ast.Boolean(boolval=value)
    elif isinstance(value, int):
        node = ast.Integer(ival=value)
    elif isinstance(value, float):
        node = ast.Float(fval=repr(value))
    else:
        node = ast.String(sval=str(value))
    return str(RawStream()(ast.A_Const(val=node)))


def drop_index(schema: str, name: str, concurrently: bool = True) -> str:
    """DROP INDEX [CONCURRENTLY] IF EXISTS (a partitioned index cannot drop concurrently)."""
    how = " CONCURRENTLY" if concurrently else ""
    return f"DROP INDEX{how} IF EXISTS {ident(schema, name)};"


def reindex(schema: str, name: str) -> str:
    return f"REINDEX INDEX CONCURRENTLY {ident(schema, name)};"


def _truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` that fits in `max_bytes` without splitting a character."""
    return text.encode()[:max_bytes].decode(errors="ignore")


def index_name(table: str, columns: Sequence[str], suffix: str = "idx") -> str:
    """A deterministic index or constraint name `<table>_<col>_<col>_<suffix>` (`_fkey`,
    `_not_null`...) of at most 63 bytes.

    PostgreSQL's own convention (what `CREATE INDEX ON t (a, b)` would pick), except that a
    name too long is cut and given a short hash of the full name, so two long names that
    share a prefix stay distinct and the same input always gives the same name.
    """
    full = "_".join([table, *columns, suffix])
    if len(full.encode()) <= MAX_IDENTIFIER_BYTES:
        return full
    digest = hashlib.sha1(full.encode()).hexdigest()[:8]
    tail = f"_{digest}_{suffix}"
    head = _truncate_utf8("_".join([table, *columns]), MAX_IDENTIFIER_BYTES - len(tail.encode()))
    return head + tail


def unique_name(name: str, taken: Set[str]) -> str:
    """`name`, or `name_2`, `name_3`... (cut to fit 63 bytes), the first not in `taken`.

    Relations of one schema share a namespace (an index cannot take a table's or a
    sequence's name), so `taken` holds every relation name of the schema and the names the
    same plan has already given.
    """
    if name not in taken:
        return name
    for n in itertools.count(2):
        tail = f"_{n}"
        candidate = _truncate_utf8(name, MAX_IDENTIFIER_BYTES - len(tail)) + tail
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")


def create_index(schema: str, table: str, name: str, columns: Sequence[str],
                 method: str = "btree", concurrently: bool = True, only: bool = False) -> str:
    """`CREATE INDEX [CONCURRENTLY] name ON [ONLY] schema.table USING method (cols);`"""
    cols = ", ".join(ident(c) for c in columns)
    how = " CONCURRENTLY" if concurrently else ""
    on = "ONLY " if only else ""
    return (f"CREATE INDEX{how} {ident(name)} ON {on}{ident(schema, table)} "
            f"USING {_keyword_or_ident(method)} ({cols});")


def _keyword_or_ident(name: str) -> str:
    """Access methods print bare when they are plain lower-case words (btree, hash)."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else ident(name)


def attach_index(schema: str, parent_index: str, partition_schema: str,
                 partition_index: str) -> str:
    return (f"ALTER INDEX {ident(schema, parent_index)} "
            f"ATTACH PARTITION {ident(partition_schema, partition_index)};")


_CREATE = re.compile(r"^CREATE (UNIQUE )?INDEX (?!CONCURRENTLY )")


def concurrent_definition(definition: str, if_not_exists: bool = False) -> str:
    """A `pg_get_indexdef()` text made CONCURRENTLY and terminated, ready to run.

    pg_get_indexdef quotes the names it prints, so the definition is already safe SQL; only
    keywords are added (`IF NOT EXISTS` for an undo that restores an index the action may
    not have dropped yet). Indexes of partitioned tables (`ON ONLY`) cannot be built
    concurrently and get no CONCURRENTLY.
    """
    text = definition.strip().rstrip(";")
    how = "" if " ON ONLY " in text else "CONCURRENTLY "
    if if_not_exists:
        how += "IF NOT EXISTS "
    text = _CREATE.sub(lambda m: f"CREATE {m.group(1) or ''}INDEX {how}", text, 1)
    return text + ";"


def alter_column_types(schema: str, table: str, changes: Sequence[tuple[str, str]]) -> str:
    """One ALTER TABLE changing the types of (column, type) pairs: the table is rewritten
    once, however many columns change."""
    parts = ", ".join(f"ALTER COLUMN {ident(col)} TYPE {type_name}" for col, type_name in changes)
    return f"ALTER TABLE {ident(schema, table)} {parts};"


_STORAGE_OPTION = re.compile(r"^[a-z_][a-z0-9_.]*$")


def _storage_keys(keys: Sequence[str]) -> str:
    for key in keys:
        if not _STORAGE_OPTION.match(key):
            raise ValueError(f"not a storage option: {key!r}")
    return ", ".join(keys)


def _storage_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"storage option values are numbers or booleans, not {value!r}")


def set_storage(schema: str, table: str, options: Mapping[str, object]) -> str:
    """`ALTER TABLE t SET (autovacuum_vacuum_scale_factor = 0.01, ...);`"""
    _storage_keys(list(options))
    body = ", ".join(f"{k} = {_storage_value(v)}" for k, v in options.items())
    return f"ALTER TABLE {ident(schema, table)} SET ({body});"


def reset_storage(schema: str, table: str, keys: Sequence[str]) -> str:
    return f"ALTER TABLE {ident(schema, table)} RESET ({_storage_keys(keys)});"


def vacuum(schema: str, table: str, *options: str) -> str:
    """`VACUUM (VERBOSE, ANALYZE) t;` (options are fixed keywords chosen by the caller)."""
    opts = ", ".join(options or ("VERBOSE", "ANALYZE"))
    return f"VACUUM ({opts}) {ident(schema, table)};"


def alter_sequence_type(schema: str, name: str, type_name: str, bound: str | None = None,
                        value: int | None = None) -> str:
    """`ALTER SEQUENCE s AS type [NO MAXVALUE | MAXVALUE n]` (bound: MAXVALUE or MINVALUE)."""
    extra = ""
    if bound is not None:
        if bound not in ("MAXVALUE", "MINVALUE"):
            raise ValueError(f"bound must be MAXVALUE or MINVALUE, not {bound!r}")
        extra = f" NO {bound}" if value is None else f" {bound} {int(value)}"
    return f"ALTER SEQUENCE {ident(schema, name)} AS {type_name}{extra};"
