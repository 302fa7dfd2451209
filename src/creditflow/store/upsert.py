"""`INSERT … ON CONFLICT DO NOTHING` on both databases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


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
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .values(dict(values))
        .on_conflict_do_nothing(index_elements=list(index_elements))
        .returning(table.c[index_elements[0]])
    )
    # RETURNING rather than rowcount: psycopg reports no row count for this statement.
    return connection.execute(statement).first() is not None
