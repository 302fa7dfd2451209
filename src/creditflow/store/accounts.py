"""Repository of customer accounts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from creditflow.domain.errors import AccountExists
from creditflow.store.raw_sql import Driver, Statement
from creditflow.store.records import AccountRecord
from creditflow.store.tables import accounts

_COLUMNS = "id, external_id, email, country, status, available, held, created_at"
_GET = Statement(f"SELECT {_COLUMNS} FROM accounts WHERE id = :id")
_GET_FOR_UPDATE = Statement(f"SELECT {_COLUMNS} FROM accounts WHERE id = :id FOR UPDATE")
_MOVE = Statement(
    "UPDATE accounts SET available = available + :available, held = held + :held "
    "WHERE id = :id RETURNING available, held, low_balance"
)


class AccountRepository:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._connection = connection
        self._driver = driver
        self._held: dict[str, AccountRecord] = {}
        """Accounts no other transaction can change until this one ends: made in it, or read
        for update. Read again, they come from here, kept current by this repository's own
        changes: a renewal reads its account for the order, the grant, the invoice and the
        mail."""

    def add(
        self, *, id: str, external_id: str, email: str, country: str | None, now: datetime
    ) -> AccountRecord:
        values = {
            "id": id,
            "external_id": external_id,
            "email": email,
            "country": country,
            "status": "active",
            "available": 0,
            "held": 0,
            "created_at": now,
        }
        if self.find_by_external_id(external_id) is not None:
            raise AccountExists(
                f"An account with external_id {external_id!r} already exists.",
                external_id=external_id,
            )
        try:
            with self._connection.begin_nested():
                self._connection.execute(insert(accounts).values(values))
        except IntegrityError as error:  # a concurrent creation won the race
            raise AccountExists(
                f"An account with external_id {external_id!r} already exists.",
                external_id=external_id,
            ) from error
        record = AccountRecord(**values)  # type: ignore[arg-type]
        self._held[id] = record
        return record

    def get(self, account_id: str, *, for_update: bool = False) -> AccountRecord | None:
        """`for_update` locks the row on PostgreSQL; SQLite's BEGIN IMMEDIATE already has."""
        held = self._held.get(account_id)
        if held is not None:
            return held
        record = self.record(self._driver.one(*self.get_step(account_id, for_update=for_update)))
        if for_update:
            self.keep(record)
        return record

    def keep(self, record: AccountRecord | None) -> None:
        """Hold an account this transaction has locked (see `get`)."""
        if record is not None:
            self._held[record.id] = record

    def get_step(self, account_id: str, *, for_update: bool = False) -> tuple[Statement, Any]:
        """`get` as a step of `Driver.together`; `record` reads its row."""
        statement = _GET_FOR_UPDATE if for_update and self._driver.postgresql else _GET
        return statement, {"id": account_id}

    def record(self, row: tuple[Any, ...] | None) -> AccountRecord | None:
        if row is None:
            return None
        created_at = self._driver.read_time(row[7])
        assert created_at is not None
        return AccountRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], created_at)

    def find_by_external_id(self, external_id: str) -> AccountRecord | None:
        row = (
            self._connection.execute(select(accounts).where(accounts.c.external_id == external_id))
            .mappings()
            .first()
        )
        return AccountRecord(**row) if row else None

    def page(self, *, after_id: str | None, limit: int) -> list[AccountRecord]:
        query = select(accounts).order_by(accounts.c.id).limit(limit)
        if after_id is not None:
            query = query.where(accounts.c.id > after_id)
        return [AccountRecord(**row) for row in self._connection.execute(query).mappings()]

    def ids_with_email(self, email: str) -> list[str]:
        return list(
            self._connection.execute(
                select(accounts.c.id).where(func.lower(accounts.c.email) == email.lower())
            ).scalars()
        )

    def low_balance(self, account_id: str) -> int | None:
        value = self._connection.execute(
            select(accounts.c.low_balance).where(accounts.c.id == account_id)
        ).scalar_one_or_none()
        return None if value is None else int(value)

    def set_low_balance(self, account_id: str, low_balance: int | None) -> None:
        self._connection.execute(
            update(accounts).where(accounts.c.id == account_id).values(low_balance=low_balance)
        )

    def set_status(self, account_id: str, status: str, *, suspension: str | None = None) -> None:
        """`suspended` (with why: `chargeback` or `support`) or `active`."""
        self._connection.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(status=status, suspension=suspension if status == "suspended" else None)
        )
        self._held.pop(account_id, None)

    def suspension(self, account_id: str) -> str | None:
        value = self._connection.execute(
            select(accounts.c.suspension).where(accounts.c.id == account_id)
        ).scalar_one_or_none()
        return None if value is None else str(value)

    def move_step(self, account_id: str, *, available: int, held: int) -> tuple[Statement, Any]:
        """Add to the cached sums, as a step of `Driver.together`; the CHECK constraints refuse
        a negative result."""
        return _MOVE, {"id": account_id, "available": available, "held": held}

    def moved(self, account_id: str, cursor: Any) -> tuple[int, int, int | None]:
        """A move's answer: the new sums, and the account's own low-balance threshold, for the
        alert that a fall may set off."""
        row = cursor.fetchone()
        assert row is not None, f"account {account_id} vanished"
        held = self._held.get(account_id)
        if held is not None:
            self._held[account_id] = replace(held, available=int(row[0]), held=int(row[1]))
        return int(row[0]), int(row[1]), None if row[2] is None else int(row[2])
