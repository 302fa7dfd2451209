"""Statements of the spend path, issued straight through the driver's cursor.

A spend is a handful of short statements; built and compiled by SQLAlchemy on every call they
cost several times what the database does (see benchmarks/ledger.py). These are written once,
with `:name` parameters, and turned into each driver's parameter style at import. They run on
the unit of work's own connection, inside its transaction. Everything off the spend path uses
SQLAlchemy Core.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection


class Statement:
    def __init__(self, text: str) -> None:
        self.sqlite = text
        self.postgresql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", text)


Step = tuple[Statement, Mapping[str, Any] | list[Mapping[str, Any]]]
"""A statement with its parameters, or with a list of parameter sets to run it for each."""


class Driver:
    """The unit of work's DBAPI cursor, with times converted as `UTCDateTime` converts them."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.postgresql = connection.dialect.name == "postgresql"
        self._cursor: Any = None

    def _ready(self) -> Any:
        if self._cursor is None:
            self._cursor = self._connection.connection.cursor()
        return self._cursor

    def _text(self, statement: Statement) -> str:
        return statement.postgresql if self.postgresql else statement.sqlite

    def execute(self, statement: Statement, params: Mapping[str, Any]) -> int:
        cursor = self._ready()
        cursor.execute(self._text(statement), params)
        return int(cursor.rowcount)

    def one(self, statement: Statement, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        cursor = self._ready()
        cursor.execute(self._text(statement), params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row

    def all(self, statement: Statement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        cursor = self._ready()
        cursor.execute(self._text(statement), params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows

    def many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        self._ready().executemany(self._text(statement), rows)

    def together(self, steps: Sequence[Step]) -> list[Any]:
        """Run statements in order, sent in one round trip on PostgreSQL (psycopg's pipeline
        mode), and give each one's cursor, for its rows and row count.

        A spend's statements are short and the server answers each in microseconds: waiting
        for each answer before sending the next was most of a spend's time. A step with a
        list of parameter sets runs once for each. An error in any step is raised once all
        were sent; the ones after it did nothing, and the transaction must be rolled back.
        """
        if not self.postgresql:
            return [self._step(self._connection.connection.cursor(), step) for step in steps]
        connection = self._connection.connection.dbapi_connection
        assert connection is not None
        with connection.pipeline():
            return [self._step(connection.cursor(), step) for step in steps]

    def _step(self, cursor: Any, step: Step) -> Any:
        statement, params = step
        if isinstance(params, list):
            cursor.executemany(self._text(statement), params)
        else:
            cursor.execute(self._text(statement), params)
        return cursor

    def bind_time(self, instant: datetime | None) -> Any:
        if instant is None or self.postgresql:
            return instant
        # SQLAlchemy's own SQLite storage format, "YYYY-MM-DD HH:MM:SS.ffffff".
        return instant.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def read_time(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
