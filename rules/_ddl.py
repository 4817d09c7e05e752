"""SQL the architecture rules print: table storage options, VACUUM, ALTER COLUMN, names.

Identifiers go through `analyzer.sqlgen.ident` (psycopg.sql) and values through
`analyzer.sqlgen.literal`; nothing here formats a name into SQL by hand.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from pgsage.analyzer.sqlgen import ident

MAX_NAME_BYTES = 63
_OPTION = re.compile(r"^[a-z_][a-z0-9_.]*$")


def table(schema: str, name: str) -> str:
    return ident(schema, name)


def constraint_name(table_name: str, columns: Sequence[str], suffix: str) -> str:
    """PostgreSQL's naming (`orders_user_id_fkey`), cut with a hash beyond 63 bytes."""
    full = "_".join([table_name, *columns, suffix])
    if len(full.encode()) <= MAX_NAME_BYTES:
        return full
    digest = hashlib.sha1(full.encode()).hexdigest()[:8]
    head = full.encode()[:MAX_NAME_BYTES - len(digest) - len(suffix) - 2].decode(errors="ignore")
    return f"{head}_{digest}_{suffix}"


def _option_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"storage option values are numbers or booleans, not {value!r}")


def set_storage(schema: str, name: str, options: Mapping[str, object]) -> str:
    """`ALTER TABLE t SET (autovacuum_vacuum_scale_factor = 0.01, ...);`"""
    for key in options:
        if not _OPTION.match(key):
            raise ValueError(f"not a storage option: {key!r}")
    body = ", ".join(f"{k} = {_option_value(v)}" for k, v in options.items())
    return f"ALTER TABLE {table(schema, name)} SET ({body});"


def reset_storage(schema: str, name: str, keys: Sequence[str]) -> str:
    for key in keys:
        if not _OPTION.match(key):
            raise ValueError(f"not a storage option: {key!r}")
    return f"ALTER TABLE {table(schema, name)} RESET ({', '.join(keys)});"


def vacuum(schema: str, name: str, *options: str) -> str:
    """`VACUUM (VERBOSE, ANALYZE) t;` (options are fixed keywords chosen by the caller)."""
    opts = ", ".join(options or ("VERBOSE", "ANALYZE"))
    return f"VACUUM ({opts}) {table(schema, name)};"


def alter_columns_type(schema: str, name: str, changes: Sequence[tuple[str, str]]) -> str:
    """One ALTER TABLE changing several column types, so the table is rewritten once."""
    parts = ", ".join(f"ALTER COLUMN {ident(col)} TYPE {type_name}" for col, type_name in changes)
    return f"ALTER TABLE {table(schema, name)} {parts};"


def drop_index_sql(schema: str, name: str, concurrently: bool = True) -> str:
    """DROP INDEX [CONCURRENTLY] IF EXISTS (an index of a partitioned table cannot be
    dropped concurrently)."""
    how = " CONCURRENTLY" if concurrently else ""
    return f"DROP INDEX{how} IF EXISTS {ident(schema, name)};"
