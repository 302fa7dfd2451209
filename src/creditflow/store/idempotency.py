"""Repository of idempotency keys, the work they started and the answers they got."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from creditflow.store.tables import idempotency_keys
from creditflow.store.upsert import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class StoredKey:
    fingerprint: str
    response: str | None
    """The answer the client got; None while the work the key started is under way."""
    subject_id: str | None
    """What that work started (an order, a refund), so a retry resumes it."""


class IdempotencyRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def find(self, *, scope: str, key: str) -> StoredKey | None:
        row = self._connection.execute(
            select(
                idempotency_keys.c.fingerprint,
                idempotency_keys.c.response,
                idempotency_keys.c.subject_id,
            ).where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        ).first()
        return StoredKey(row.fingerprint, row.response, row.subject_id) if row else None

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
        return insert_ignoring_duplicates(
            self._connection,
            idempotency_keys,
            {
                "scope": scope,
                "key": key,
                "fingerprint": fingerprint,
                "response": response,
                "subject_id": subject_id,
                "created_at": now,
            },
            index_elements=["scope", "key"],
        )

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
