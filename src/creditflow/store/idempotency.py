"""Repository of idempotency keys, the work they started and the answers they got.

Finding and storing a key runs on every keyed spend, so those two statements go straight
through the driver (store.raw_sql), like the spend's own: built by SQLAlchemy per call they
cost more than the spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, update

from creditflow.store.raw_sql import Driver, Statement
from creditflow.store.tables import idempotency_keys

FIND = Statement(
    "SELECT fingerprint, response, subject_id FROM idempotency_keys"
    " WHERE scope = :scope AND key = :key"
)
ADD = Statement(
    "INSERT INTO idempotency_keys (scope, key, fingerprint, response, subject_id, created_at)"
    " VALUES (:scope, :key, :fingerprint, :response, :subject_id, :created_at)"
    " ON CONFLICT (scope, key) DO NOTHING RETURNING scope"
)
"""On PostgreSQL a concurrent, uncommitted insert of the same key makes this wait for that
transaction, then report the row as existing: never a unique violation mid-transaction.
RETURNING rather than a row count: psycopg reports none for this statement."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    fingerprint: str
    response: str | None
    """The answer the client got; None while the work the key started is under way."""
    subject_id: str | None
    """What that work started (an order, a refund), so a retry resumes it."""


class IdempotencyRepository:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._connection = connection
        self._driver = driver

    def find(self, *, scope: str, key: str) -> StoredKey | None:
        row = self._driver.one(FIND, {"scope": scope, "key": key})
        return StoredKey(row[0], row[1], row[2]) if row else None

    def add(
        self,
        *,
        scope: str,
        key: str,
        fingerprint: str,
        now: datetime,
        response: str | None = None,
        subject_id: str | None = None,
    ) -> bool:
        """False when another transaction stored this key first (it then wins)."""
        row = self._driver.one(
            ADD,
            {
                "scope": scope,
                "key": key,
                "fingerprint": fingerprint,
                "response": response,
                "subject_id": subject_id,
                "created_at": self._driver.bind_time(now),
            },
        )
        return row is not None

    def answer(self, *, scope: str, key: str, response: str) -> bool:
        """The answer of work started earlier, stored once: False if one was stored already."""
        result = self._connection.execute(
            update(idempotency_keys)
            .where(
                idempotency_keys.c.scope == scope,
                idempotency_keys.c.key == key,
                idempotency_keys.c.response.is_(None),
            )
            .values(response=response)
        )
        return result.rowcount == 1

    def forget_older_than(self, cutoff: datetime) -> int:
        result = self._connection.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)
        )
        return result.rowcount
