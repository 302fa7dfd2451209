"""Repository of events: what happened, as the API answered it then, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from creditflow.store.raw_sql import Driver, Statement
from creditflow.store.tables import events


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str
    type: str
    account_id: str | None
    created_at: datetime
    data: str
    """`{"object": …}` as JSON text, frozen when the event was written."""


_COLUMNS = [c for c in events.c if c.name != "seq"]
_ADD = Statement(
    "INSERT INTO events (id, type, account_id, created_at, data)"
    " VALUES (:id, :type, :account_id, :created_at, :data)"
)
"""Straight through the driver (store.raw_sql): a batch of due work writes thousands of events,
and built by SQLAlchemy per call the statement cost more than running it."""


class EventRepository:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._connection = connection
        self._driver = driver

    def add(self, record: EventRecord) -> None:
        self._driver.execute(
            _ADD,
            {
                "id": record.id,
                "type": record.type,
                "account_id": record.account_id,
                "created_at": self._driver.bind_time(record.created_at),
                "data": record.data,
            },
        )

    def get(self, event_id: str) -> EventRecord | None:
        row = (
            self._connection.execute(select(*_COLUMNS).where(events.c.id == event_id))
            .mappings()
            .first()
        )
        return EventRecord(**row) if row else None

    def many(self, event_ids: Iterable[str]) -> dict[str, EventRecord]:
        wanted = list(event_ids)
        if not wanted:
            return {}
        rows = self._connection.execute(select(*_COLUMNS).where(events.c.id.in_(wanted)))
        return {row.id: EventRecord(**row) for row in rows.mappings()}

    def page(
        self,
        *,
        type: str | None,
        account_id: str | None,
        before_seq: int | None,
        limit: int,
    ) -> list[tuple[int, EventRecord]]:
        query = select(events.c.seq, *_COLUMNS).order_by(events.c.seq.desc()).limit(limit)
        if type is not None:
            query = query.where(events.c.type == type)
        if account_id is not None:
            query = query.where(events.c.account_id == account_id)
        if before_seq is not None:
            query = query.where(events.c.seq < before_seq)
        result = []
        for row in self._connection.execute(query).mappings():
            values = dict(row)
            result.append((values.pop("seq"), EventRecord(**values)))
        return result

    def types_of(self, account_id: str) -> list[str]:
        """The account's event types, oldest first (for tests and the console's timeline)."""
        rows = self._connection.execute(
            select(events.c.type).where(events.c.account_id == account_id).order_by(events.c.seq)
        )
        return [row.type for row in rows]
