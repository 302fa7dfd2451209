"""`INSERT … ON CONFLICT DO NOTHING` on both databases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

_BUILT: dict[tuple[str, str, tuple[str, ...]], Insert] = {}
"""Each statement built once: due work schedules thousands of items per batch, and building
the statement per call cost more than running it."""


def insert_ignoring_duplicates(
    connection: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    index_elements: Sequence[str],
) -> bool:
    """Insert one row unless its key exists; True when this call inserted it.

    On PostgreSQL a concurrent, uncommitted insert of the same key makes this wait for that
    transaction, then report the row as existing: never a unique violation mid-transaction.
    """
    name = connection.dialect.name
    built = (name, table.name, tuple(index_elements))
    statement = _BUILT.get(built)
    if statement is None:
        dialect = postgresql if name == "postgresql" else sqlite
        statement = _BUILT[built] = (
            dialect.insert(table)
            .on_conflict_do_nothing(index_elements=list(index_elements))
            .returning(table.c[index_elements[0]])
        )
    # RETURNING rather than rowcount: psycopg reports no row count for this statement.
    return connection.execute(statement, dict(values)).first() is not None
