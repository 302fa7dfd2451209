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

from sqlalchemy import Boolean, Connection, Table

from creditflow.store.types import UTCDateTime


class Statement:
    def __init__(self, text: str) -> None:
        self.sqlite = text
        self.postgresql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", text)


class _RowInsert:
    """An INSERT of some of a table's columns, written once for each set of columns."""

    def __init__(self, table: Table, names: tuple[str, ...], unless: tuple[str, ...]) -> None:
        columns = ", ".join(f'"{name}"' for name in names)  # "plan" and "interval" are keywords
        values = ", ".join(f":{name}" for name in names)
        text = f"INSERT INTO {table.name} ({columns}) VALUES ({values})"
        if unless:
            text += f" ON CONFLICT ({', '.join(unless)}) DO NOTHING RETURNING {unless[0]}"
        self.statement = Statement(text)
        self.times = frozenset(
            name for name in names if isinstance(table.c[name].type, UTCDateTime)
        )


_ROW_INSERTS: dict[tuple[Table, tuple[str, ...], tuple[str, ...]], _RowInsert] = {}


class _RowSelect:
    """A SELECT of a table's rows by equal values, written once for each shape."""

    def __init__(
        self,
        table: Table,
        columns: tuple[str, ...],
        where: tuple[str, ...],
        order_by: tuple[str, ...],
        limit: int | None,
    ) -> None:
        quoted = ", ".join(f'"{name}"' for name in columns)
        text = f"SELECT {quoted} FROM {table.name}"
        text += " WHERE " + " AND ".join(f'"{name}" = :{name}' for name in where)
        if order_by:
            text += " ORDER BY " + ", ".join(order_by)
        if limit is not None:
            text += f" LIMIT {int(limit)}"
        self.statement = Statement(text)
        self.columns = columns
        self.times = tuple(
            i for i, name in enumerate(columns) if isinstance(table.c[name].type, UTCDateTime)
        )
        self.flags = tuple(
            i for i, name in enumerate(columns) if isinstance(table.c[name].type, Boolean)
        )


_ROW_SELECTS: dict[tuple[object, ...], _RowSelect] = {}


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

    def insert(
        self, table: Table, values: Mapping[str, Any], *, unless: Sequence[str] = ()
    ) -> bool:
        """Insert one row, its times stored as `UTCDateTime` stores them; with `unless`, only
        when no row has the same values in those (uniquely indexed) columns. True when the row
        was inserted.

        For rows that due work writes by the thousand (orders, payments, invoices, mail):
        SQLAlchemy's `insert(table)` cost several times what the database did.
        """
        key = (table, tuple(values), tuple(unless))
        row_insert = _ROW_INSERTS.get(key)
        if row_insert is None:
            row_insert = _ROW_INSERTS[key] = _RowInsert(table, key[1], key[2])
        params = dict(values)
        for name in row_insert.times:
            params[name] = self.bind_time(params[name])
        if unless:
            return self.one(row_insert.statement, params) is not None
        self.execute(row_insert.statement, params)
        return True

    def select(
        self,
        table: Table,
        *,
        where: Mapping[str, Any],
        columns: Sequence[str] | None = None,
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows whose columns equal `where`'s values, as SQLAlchemy would give them: aware UTC
        times and real booleans. `columns` defaults to all the table's; `order_by` entries are
        SQL (`"seq DESC"`).

        For the reads due work does by the thousand (an order's payments, refunds and credit
        notes, for the views of a renewal's events), like `insert`.
        """
        names = tuple(columns) if columns is not None else tuple(c.name for c in table.c)
        key = (table, names, tuple(where), tuple(order_by), limit)
        row_select = _ROW_SELECTS.get(key)
        if row_select is None:
            row_select = _ROW_SELECTS[key] = _RowSelect(table, names, key[2], key[3], limit)
        params = {
            name: self.bind_time(value) if isinstance(value, datetime) else value
            for name, value in where.items()
        }
        rows = self.all(row_select.statement, params)
        found = []
        for row in rows:
            values = list(row)
            for i in row_select.times:
                values[i] = self.read_time(values[i])
            for i in row_select.flags:
                if values[i] is not None:
                    values[i] = bool(values[i])
            found.append(dict(zip(row_select.columns, values, strict=True)))
        return found

    def bind_time(self, instant: datetime | None) -> Any:
        if instant is None:
            return None
        if instant.tzinfo is None:
            raise ValueError(f"expected an aware datetime, got {instant!r}")
        if self.postgresql:
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
