"""Repository of provider webhook events: stored first, unique by the provider's event id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from creditflow.store.tables import webhook_events
from creditflow.store.upsert import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class WebhookEventRecord:
    provider: str
    event_id: str
    type: str
    received_at: datetime
    payload: str
    outcome: str
    order_id: str | None
    detail: str | None


class WebhookEventRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: WebhookEventRecord) -> bool:
        """False when this provider's event id is recorded already: a redelivery.

        On PostgreSQL a concurrent delivery of the same event waits here for the first one's
        transaction, then finds it: the effect happens once.
        """
        return insert_ignoring_duplicates(
            self._connection,
            webhook_events,
            {
                "provider": record.provider,
                "event_id": record.event_id,
                "type": record.type,
                "received_at": record.received_at,
                "payload": record.payload,
                "outcome": record.outcome,
                "order_id": record.order_id,
                "detail": record.detail,
            },
            index_elements=["provider", "event_id"],
        )

    def settle(self, provider: str, event_id: str, *, outcome: str, order_id: str | None) -> None:
        self._connection.execute(
            update(webhook_events)
            .where(webhook_events.c.provider == provider, webhook_events.c.event_id == event_id)
            .values(outcome=outcome, order_id=order_id)
        )

    def unmatched(
        self, provider: str | None = None, limit: int = 500, *, newest_first: bool = False
    ) -> list[WebhookEventRecord]:
        query = select(
            webhook_events.c.provider,
            webhook_events.c.event_id,
            webhook_events.c.type,
            webhook_events.c.received_at,
            webhook_events.c.payload,
            webhook_events.c.outcome,
            webhook_events.c.order_id,
            webhook_events.c.detail,
        ).where(webhook_events.c.outcome == "unmatched")
        if provider is not None:
            query = query.where(webhook_events.c.provider == provider)
        order = webhook_events.c.seq.desc() if newest_first else webhook_events.c.seq
        rows = self._connection.execute(query.order_by(order).limit(limit))
        return [WebhookEventRecord(**row) for row in rows.mappings()]

    def of_order(self, order_id: str) -> list[tuple[str, str, str]]:
        """(provider, event id, type) of the events applied to an order, oldest first."""
        rows = self._connection.execute(
            select(webhook_events.c.provider, webhook_events.c.event_id, webhook_events.c.type)
            .where(webhook_events.c.order_id == order_id)
            .order_by(webhook_events.c.seq)
        )
        return [(row[0], row[1], row[2]) for row in rows]
