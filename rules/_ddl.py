"""SQL the architecture rules print: table storage options, VACUUM, ALTER COLUMN, names.

Identifiers go through `analyzer.sqlgen.ident` (psycopg.sql) and values through
`analyzer.sqlgen.literal`; nothing here formats a name into SQL by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pgsage.analyzer.sqlgen import ident

MAX_NAME_BYTES = 63
_OPTION = re.compile(r"^[a-z_][a-z0-9_.]*$")


def table(schema: str, name: str) -> str:
    return ident(schema, name)


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


