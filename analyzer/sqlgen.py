"""Generated SQL: identifiers always quoted by psycopg.sql, never by string formatting."""

from __future__ import annotations

from psycopg import sql


def ident(*names: str) -> str:
    """A (possibly schema-qualified) identifier, quoted as PostgreSQL needs it."""
    return sql.Identifier(*names).as_string()


def literal(value: object) -> str:
    return sql.Literal(value).as_string()


def drop_index(schema: str, name: str) -> str:
    return f"DROP INDEX CONCURRENTLY IF EXISTS {ident(schema, name)};"


def reindex(schema: str, name: str) -> str:
    return f"REINDEX INDEX CONCURRENTLY {ident(schema, name)};"
