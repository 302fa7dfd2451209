"""Repository of calls to payment providers: recorded before they are made, then settled."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from creditflow.store.tables import provider_calls


@dataclass(frozen=True, slots=True)
class ProviderCallRecord:
    id: str
    kind: str
    """`checkout` (subject: an order) or `refund` (subject: a refund)."""
    subject_id: str
    provider: str
    request: str
    """The request as JSON; its idempotency key is derived from the subject's id."""
    status: str
    """`pending` until the provider answers; `succeeded`, or `failed` for good."""
    attempts: int
    last_error: str | None
    response: str | None
    created_at: datetime
    updated_at: datetime

    def evolve(self, **changes: object) -> ProviderCallRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


class ProviderCallRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: ProviderCallRecord) -> None:
        self._connection.execute(insert(provider_calls).values(**asdict(record)))

    def get(self, call_id: str, *, for_update: bool = False) -> ProviderCallRecord | None:
        query = select(provider_calls).where(provider_calls.c.id == call_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).mappings().first()
        return ProviderCallRecord(**row) if row else None

    def of_subject(self, kind: str, subject_id: str) -> ProviderCallRecord | None:
        row = (
            self._connection.execute(
                select(provider_calls).where(
                    provider_calls.c.kind == kind, provider_calls.c.subject_id == subject_id
                )
            )
            .mappings()
            .first()
        )
        return ProviderCallRecord(**row) if row else None

    def save(self, record: ProviderCallRecord) -> None:
        values = asdict(record)
        del values["id"]
        self._connection.execute(
            update(provider_calls).where(provider_calls.c.id == record.id).values(**values)
        )
