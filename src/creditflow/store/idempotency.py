"""Repository of idempotency keys and the responses they answered with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select

from creditflow.store.tables import idempotency_keys
from creditflow.store.upsert import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    response: str


class IdempotencyRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def find(self, *, scope: str, key: str) -> StoredResponse | None:
        row = self._connection.execute(
            select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
                idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
            )
        ).first()
        return StoredResponse(row.fingerprint, row.response) if row else None

    def remember(
        self, *, scope: str, key: str, fingerprint: str, response: str, now: datetime
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
                "created_at": now,
            },
            index_elements=["scope", "key"],
        )

    def forget_older_than(self, cutoff: datetime) -> int:
        result = self._connection.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)
        )
        return result.rowcount
