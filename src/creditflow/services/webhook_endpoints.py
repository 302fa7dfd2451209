"""Webhook endpoints: where a site wants to be told, of what, and the secret that signs it.

The secret is shown once, when the endpoint is made and when it is rotated; after a rotation the
old secret keeps signing beside the new one for 24 hours, so the site can switch over without
dropping a delivery.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.domain.events import EVENT_TYPES
from creditflow.ids import new_id
from creditflow.services.pagination import check_limit, decode_int_cursor, encode_cursor
from creditflow.services.views import (
    Page,
    WebhookAttemptView,
    WebhookDeliveryView,
    WebhookEndpointView,
)
from creditflow.store.endpoints import AttemptRecord, DeliveryRecord, EndpointRecord
from creditflow.store.uow import UnitOfWork
from creditflow.webhooks.addresses import AddressRefused, check_url
from creditflow.webhooks.signing import new_secret

ROTATION_OVERLAP = timedelta(hours=24)
MAX_DESCRIPTION = 500


def create_endpoint(
    uow: UnitOfWork,
    *,
    url: str,
    events: Sequence[str],
    description: str | None,
    allow_private: bool,
    now: datetime,
) -> WebhookEndpointView:
    record = EndpointRecord(
        id=new_id("whe"),
        url=_url(url, allow_private),
        events=json.dumps(_event_types(events)),
        description=_description(description),
        status="enabled",
        secret=new_secret(),
        previous_secret=None,
        previous_secret_until=None,
        failing_since=None,
        disabled_reason=None,
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )
    uow.endpoints.add(record)
    return endpoint_view(record, with_secret=True)


def update_endpoint(
    uow: UnitOfWork,
    *,
    endpoint_id: str,
    url: str | None = None,
    events: Sequence[str] | None = None,
    status: str | None = None,
    description: str | None = None,
    allow_private: bool,
    now: datetime,
) -> WebhookEndpointView:
    """What is given changes (None: unchanged; an empty description clears it)."""
    record = _require(uow, endpoint_id, for_update=True)
    updated = record.evolve(updated_at=now)
    if url is not None:
        updated = updated.evolve(url=_url(url, allow_private))
    if events is not None:
        updated = updated.evolve(events=json.dumps(_event_types(events)))
    if description is not None:
        updated = updated.evolve(description=_description(description) or None)
    if status is not None:
        if status not in ("enabled", "disabled"):
            raise InvalidRequest("status must be 'enabled' or 'disabled'.", field="status")
        updated = updated.evolve(status=status)
        if status == "enabled":  # enabled again by hand: a fresh start
            updated = updated.evolve(failing_since=None, disabled_reason=None)
        elif record.status == "enabled":
            updated = updated.evolve(disabled_reason="disabled by hand")
    uow.endpoints.save(updated)
    return endpoint_view(updated)


def delete_endpoint(uow: UnitOfWork, *, endpoint_id: str, now: datetime) -> WebhookEndpointView:
    """Deleted endpoints receive nothing more, not even deliveries already queued."""
    record = _require(uow, endpoint_id, for_update=True)
    deleted = record.evolve(status="disabled", deleted_at=now, updated_at=now)
    uow.endpoints.save(deleted)
    uow.endpoints.give_up_pending_of(record.id, now)
    return endpoint_view(deleted)


def rotate_secret(uow: UnitOfWork, *, endpoint_id: str, now: datetime) -> WebhookEndpointView:
    record = _require(uow, endpoint_id, for_update=True)
    rotated = record.evolve(
        secret=new_secret(),
        previous_secret=record.secret,
        previous_secret_until=now + ROTATION_OVERLAP,
        updated_at=now,
    )
    uow.endpoints.save(rotated)
    return endpoint_view(rotated, with_secret=True)


def get_endpoint(uow: UnitOfWork, *, endpoint_id: str) -> WebhookEndpointView:
    return endpoint_view(_require(uow, endpoint_id))


def list_endpoints(uow: UnitOfWork) -> list[WebhookEndpointView]:
    return [endpoint_view(record) for record in uow.endpoints.listed()]


def list_deliveries(
    uow: UnitOfWork, *, endpoint_id: str, limit: int | None, cursor: str | None
) -> Page[WebhookDeliveryView]:
    _require(uow, endpoint_id)
    size = check_limit(limit)
    rows = uow.endpoints.deliveries_of(
        endpoint_id, before_seq=decode_int_cursor(cursor, "deliveries"), limit=size + 1
    )
    shown = rows[:size]
    attempts = uow.endpoints.attempts_of([d.id for _, d in shown])
    return Page[WebhookDeliveryView](
        data=[delivery_view(d, attempts[d.id]) for _, d in shown],
        next_cursor=encode_cursor("deliveries", shown[-1][0]) if len(rows) > size else None,
    )


def signing_secrets(record: EndpointRecord, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the rotated-out one
    for its 24 hours."""
    until = record.previous_secret_until
    if record.previous_secret and until is not None and now < until:
        return [record.secret, record.previous_secret]
    return [record.secret]


def endpoint_view(record: EndpointRecord, *, with_secret: bool = False) -> WebhookEndpointView:
    return WebhookEndpointView(
        id=record.id,
        url=record.url,
        events=record.event_types,
        description=record.description,
        status=record.status,
        disabled_reason=record.disabled_reason,
        created_at=record.created_at,
        secret=record.secret if with_secret else None,
    )


def delivery_view(record: DeliveryRecord, attempts: list[AttemptRecord]) -> WebhookDeliveryView:
    return WebhookDeliveryView(
        id=record.id,
        event_id=record.event_id,
        endpoint_id=record.endpoint_id,
        status=record.status,
        attempts=[
            WebhookAttemptView(
                at=a.at,
                status_code=a.status_code,
                error=a.error,
                response=a.response,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
        next_attempt_at=record.next_attempt_at if record.status == "pending" else None,
        created_at=record.created_at,
        finished_at=record.finished_at,
    )


def _require(uow: UnitOfWork, endpoint_id: str, *, for_update: bool = False) -> EndpointRecord:
    record = uow.endpoints.get(endpoint_id, for_update=for_update)
    if record is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id!r}.", endpoint_id=endpoint_id)
    return record


def _url(url: str, allow_private: bool) -> str:
    try:
        return str(check_url(url, allow_private=allow_private))
    except AddressRefused as refused:
        raise InvalidRequest(str(refused), field="url") from None


def _event_types(types: Sequence[object]) -> list[str]:
    if not types:
        raise InvalidRequest('events must name at least one event type, or "*".', field="events")
    chosen: list[str] = []
    for n, value in enumerate(types):
        if value != "*" and value not in EVENT_TYPES:
            raise InvalidRequest(
                f"events.{n} {value!r} is not an event type; the types are "
                f'{", ".join(EVENT_TYPES)}, or "*" for all.',
                field=f"events.{n}",
            )
        if value not in chosen:
            chosen.append(str(value))
    if "*" in chosen and len(chosen) > 1:
        raise InvalidRequest('"*" already means every type; list it alone.', field="events")
    return chosen


def _description(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_DESCRIPTION:
        raise InvalidRequest(
            f"description must be at most {MAX_DESCRIPTION} characters.", field="description"
        )
    return value
