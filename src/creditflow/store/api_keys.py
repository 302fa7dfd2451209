"""Repository of API keys; only a hash of each secret is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from creditflow.store.tables import api_keys


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    role: str
    label: str | None


@dataclass(frozen=True, slots=True)
class ListedApiKey:
    id: str
    role: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(
        self, *, id: str, role: str, secret_hash: str, label: str | None, now: datetime
    ) -> ApiKeyRecord:
        self._connection.execute(
            insert(api_keys).values(
                id=id, role=role, secret_hash=secret_hash, label=label, created_at=now
            )
        )
        return ApiKeyRecord(id, role, label)

    def any_active(self) -> bool:
        found = self._connection.execute(
            select(api_keys.c.id).where(api_keys.c.revoked_at.is_(None)).limit(1)
        ).first()
        return found is not None

    def find_by_hash(self, secret_hash: str) -> ApiKeyRecord | None:
        row = self._connection.execute(
            select(api_keys.c.id, api_keys.c.role, api_keys.c.label).where(
                api_keys.c.secret_hash == secret_hash, api_keys.c.revoked_at.is_(None)
            )
        ).first()
        return ApiKeyRecord(row.id, row.role, row.label) if row else None

    def listed(self) -> list[ListedApiKey]:
        rows = self._connection.execute(
            select(
                api_keys.c.id,
                api_keys.c.role,
                api_keys.c.label,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
            ).order_by(api_keys.c.created_at.desc(), api_keys.c.id)
        ).mappings()
        return [ListedApiKey(**row) for row in rows]

    def revoke(self, key_id: str, now: datetime) -> bool:
        """Whether a live key of that id was revoked now."""
        done = self._connection.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return done.rowcount == 1
