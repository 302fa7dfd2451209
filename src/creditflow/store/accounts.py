"""Repository of customer accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from creditflow.domain.errors import AccountExists
from creditflow.store.records import AccountRecord
from creditflow.store.tables import accounts


class AccountRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

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
        return AccountRecord(**values)  # type: ignore[arg-type]

    def get(self, account_id: str, *, for_update: bool = False) -> AccountRecord | None:
        query = select(accounts).where(accounts.c.id == account_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).mappings().first()
        return AccountRecord(**row) if row else None

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

    def move_balance(self, account_id: str, *, available: int, held: int) -> tuple[int, int]:
        """Add to the cached sums; the CHECK constraints refuse a negative result."""
        row = self._connection.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(available=accounts.c.available + available, held=accounts.c.held + held)
            .returning(accounts.c.available, accounts.c.held)
        ).one()
        return int(row[0]), int(row[1])
