"""Events: written in the transaction of the change they report, queued for every endpoint.

An event's object is the view the API's GET of that thing answers at that moment, frozen as
JSON. Each enabled webhook endpoint that wants the type gets a delivery row in the same
transaction, so an event is never sent for a change that rolled back, nor lost for one that
committed; the delivery loop sends them after the commit (services.webhook_delivery).
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel

from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.domain.events import EVENT_TYPES, EventType
from creditflow.ids import new_id
from creditflow.services.pagination import check_limit, decode_int_cursor, page_of
from creditflow.services.views import EventView, Page
from creditflow.store.endpoints import DeliveryRecord
from creditflow.store.events import EventRecord
from creditflow.store.uow import UnitOfWork


def emit(
    uow: UnitOfWork,
    event_type: EventType,
    *,
    account_id: str | None,
    obj: BaseModel,
    now: datetime,
) -> str:
    event_id = new_id("evt")
    uow.events.add(
        EventRecord(
            id=event_id,
            type=event_type.value,
            account_id=account_id,
            created_at=now,
            # Pydantic's own encoder: compact JSON, as json.dumps with these separators wrote.
            data=f'{{"object":{obj.model_dump_json()}}}',
        )
    )
    queue_deliveries(uow, event_id=event_id, event_type=event_type.value, now=now)
    return event_id


def queue_deliveries(
    uow: UnitOfWork,
    *,
    event_id: str,
    event_type: str,
    now: datetime,
    endpoint_id: str | None = None,
) -> int:
    """A delivery to each enabled endpoint that wants the type (or to the one named)."""
    wanted = [
        endpoint
        for endpoint in uow.endpoints.enabled()
        if endpoint.wants(event_type) and endpoint_id in (None, endpoint.id)
    ]
    uow.endpoints.add_deliveries(
        [
            DeliveryRecord(
                id=new_id("whd"),
                event_id=event_id,
                endpoint_id=endpoint.id,
                status="pending",
                attempts=0,
                next_attempt_at=None,
                created_at=now,
                finished_at=None,
            )
            for endpoint in wanted
        ]
    )
    return len(wanted)


def get_event(uow: UnitOfWork, *, event_id: str) -> EventView:
    record = uow.events.get(event_id)
    if record is None:
        raise NotFound(f"No event with id {event_id!r}.", event_id=event_id)
    return event_view(record)


def list_events(
    uow: UnitOfWork,
    *,
    type: str | None,
    account_id: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[EventView]:
    if type is not None and type not in EVENT_TYPES:
        raise InvalidRequest(
            f"Unknown event type {type!r}; the types are {', '.join(EVENT_TYPES)}.", field="type"
        )
    size = check_limit(limit)
    rows = uow.events.page(
        type=type,
        account_id=account_id,
        before_seq=decode_int_cursor(cursor, "events"),
        limit=size + 1,
    )
    return page_of(rows, size=size, kind="events", view=event_view)


def redeliver(
    uow: UnitOfWork, *, event_id: str, endpoint_id: str | None, now: datetime
) -> EventView:
    record = uow.events.get(event_id)
    if record is None:
        raise NotFound(f"No event with id {event_id!r}.", event_id=event_id)
    if endpoint_id is not None:
        endpoint = uow.endpoints.get(endpoint_id)
        if endpoint is None:
            raise NotFound(f"No webhook endpoint with id {endpoint_id!r}.", endpoint_id=endpoint_id)
        if endpoint.status != "enabled":
            raise InvalidRequest(
                f"Webhook endpoint {endpoint.id} is disabled; enable it first.",
                field="endpoint_id",
            )
    queued = queue_deliveries(
        uow, event_id=record.id, event_type=record.type, now=now, endpoint_id=endpoint_id
    )
    if queued == 0:
        raise InvalidRequest(
            f"No enabled webhook endpoint takes {record.type} events.", field="endpoint_id"
        )
    return event_view(record)


def event_view(record: EventRecord) -> EventView:
    return EventView(
        id=record.id,
        type=record.type,
        created_at=record.created_at,
        account_id=record.account_id,
        data=json.loads(record.data),
    )
