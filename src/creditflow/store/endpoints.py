"""Repository of webhook endpoints, their deliveries and each delivery's attempts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, and_, insert, or_, select, update

from creditflow.store.tables import webhook_attempts, webhook_deliveries, webhook_endpoints


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: str
    url: str
    events: str
    """JSON list of event types, or `["*"]`."""
    description: str | None
    status: str
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    failing_since: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @property
    def event_types(self) -> list[str]:
        types: list[str] = json.loads(self.events)
        return types

    def wants(self, event_type: str) -> bool:
        types = self.event_types
        return "*" in types or event_type in types

    def evolve(self, **changes: object) -> EndpointRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: str
    event_id: str
    endpoint_id: str
    status: str
    """`pending`, `delivered`, or `failed` (given up, or its endpoint deleted)."""
    attempts: int
    next_attempt_at: datetime | None
    """Wall-clock time of the next try; None: at once."""
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    delivery_id: str
    at: datetime
    status_code: int | None
    error: str | None
    response: str | None
    duration_ms: int


_ENDPOINT = [c for c in webhook_endpoints.c if c.name != "seq"]
_DELIVERY = [c for c in webhook_deliveries.c if c.name != "seq"]
_ATTEMPT = [c for c in webhook_attempts.c if c.name != "seq"]
_ENABLED = "creditflow_enabled_endpoints"
"""Where `enabled` keeps what it read, in the connection's `info`, with the transaction it read
it in."""


class EndpointRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # Endpoints

    def add(self, record: EndpointRecord) -> None:
        self._written()
        self._connection.execute(insert(webhook_endpoints).values(**asdict(record)))

    def get(self, endpoint_id: str, *, for_update: bool = False) -> EndpointRecord | None:
        query = select(*_ENDPOINT).where(
            webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.deleted_at.is_(None)
        )
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).mappings().first()
        return EndpointRecord(**row) if row else None

    def save(self, record: EndpointRecord) -> None:
        self._written()
        values = asdict(record)
        del values["id"]
        self._connection.execute(
            update(webhook_endpoints).where(webhook_endpoints.c.id == record.id).values(**values)
        )

    def listed(self) -> list[EndpointRecord]:
        """Every endpoint not deleted, oldest first."""
        rows = self._connection.execute(
            select(*_ENDPOINT)
            .where(webhook_endpoints.c.deleted_at.is_(None))
            .order_by(webhook_endpoints.c.seq)
        ).mappings()
        return [EndpointRecord(**row) for row in rows]

    def enabled(self) -> list[EndpointRecord]:
        """Read once per transaction: every event asks, and a batch of due work emits
        thousands. A change in another transaction is then as if it committed after this one;
        once this transaction changes an endpoint, every call reads afresh (a savepoint's
        change may yet be rolled back)."""
        transaction = self._connection.get_transaction()
        seen_in, kept = self._connection.info.get(_ENABLED, (None, None))
        this_transaction = transaction is not None and seen_in is transaction
        if this_transaction and kept is not None:
            records: list[EndpointRecord] = kept
            return records
        records = [e for e in self.listed() if e.status == "enabled"]
        if not this_transaction:  # the first reading in this transaction: kept for the rest
            self._connection.info[_ENABLED] = (transaction, records)
        return records

    def _written(self) -> None:
        self._connection.info[_ENABLED] = (self._connection.get_transaction(), None)

    # Deliveries

    def add_deliveries(self, deliveries: Sequence[DeliveryRecord]) -> None:
        if deliveries:
            self._connection.execute(
                insert(webhook_deliveries), [asdict(delivery) for delivery in deliveries]
            )

    def delivery(self, delivery_id: str) -> DeliveryRecord | None:
        row = (
            self._connection.execute(
                select(*_DELIVERY).where(webhook_deliveries.c.id == delivery_id)
            )
            .mappings()
            .first()
        )
        return DeliveryRecord(**row) if row else None

    def due(self, now: datetime, limit: int) -> list[DeliveryRecord]:
        """Pending deliveries whose time has come, oldest first; rows another server has
        locked are skipped (PostgreSQL), as SQLite's one writer serialises deliverers."""
        query = (
            select(*_DELIVERY)
            .where(
                webhook_deliveries.c.status == "pending",
                or_(
                    webhook_deliveries.c.next_attempt_at.is_(None),
                    webhook_deliveries.c.next_attempt_at <= now,
                ),
            )
            .order_by(webhook_deliveries.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [DeliveryRecord(**row) for row in self._connection.execute(query).mappings()]

    def lease(self, delivery_ids: Sequence[str], until: datetime) -> None:
        """Hide deliveries from other servers while this one sends them; if it dies, they are
        due again at `until`."""
        if delivery_ids:
            self._connection.execute(
                update(webhook_deliveries)
                .where(
                    webhook_deliveries.c.id.in_(list(delivery_ids)),
                    webhook_deliveries.c.status == "pending",
                )
                .values(next_attempt_at=until)
            )

    def settle(
        self,
        delivery_id: str,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None,
        finished_at: datetime | None,
    ) -> bool:
        """Record an attempt's outcome once; False if the delivery was settled meanwhile."""
        done = self._connection.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.status == "pending")
            .values(
                status=status,
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                finished_at=finished_at,
            )
        )
        return done.rowcount == 1

    def give_up_pending_of(self, endpoint_id: str, now: datetime) -> None:
        """A deleted endpoint receives nothing more."""
        self._connection.execute(
            update(webhook_deliveries)
            .where(
                and_(
                    webhook_deliveries.c.endpoint_id == endpoint_id,
                    webhook_deliveries.c.status == "pending",
                )
            )
            .values(status="failed", finished_at=now)
        )

    def deliveries_of(
        self, endpoint_id: str, *, before_seq: int | None, limit: int
    ) -> list[tuple[int, DeliveryRecord]]:
        query = (
            select(webhook_deliveries.c.seq, *_DELIVERY)
            .where(webhook_deliveries.c.endpoint_id == endpoint_id)
            .order_by(webhook_deliveries.c.seq.desc())
            .limit(limit)
        )
        if before_seq is not None:
            query = query.where(webhook_deliveries.c.seq < before_seq)
        result = []
        for row in self._connection.execute(query).mappings():
            values = dict(row)
            result.append((values.pop("seq"), DeliveryRecord(**values)))
        return result

    def deliveries_of_event(self, event_id: str) -> list[DeliveryRecord]:
        rows = self._connection.execute(
            select(*_DELIVERY)
            .where(webhook_deliveries.c.event_id == event_id)
            .order_by(webhook_deliveries.c.seq)
        ).mappings()
        return [DeliveryRecord(**row) for row in rows]

    # Attempts

    def add_attempt(self, attempt: AttemptRecord) -> None:
        self._connection.execute(insert(webhook_attempts).values(**asdict(attempt)))

    def attempts_of(self, delivery_ids: Sequence[str]) -> dict[str, list[AttemptRecord]]:
        found: dict[str, list[AttemptRecord]] = {d: [] for d in delivery_ids}
        if delivery_ids:
            rows = self._connection.execute(
                select(*_ATTEMPT)
                .where(webhook_attempts.c.delivery_id.in_(list(delivery_ids)))
                .order_by(webhook_attempts.c.seq)
            ).mappings()
            for row in rows:
                found[row["delivery_id"]].append(AttemptRecord(**row))
        return found
