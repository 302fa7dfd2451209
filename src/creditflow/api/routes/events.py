"""Events, webhook endpoints and their deliveries, and an account's low-balance alert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import (
    AlertsUpdate,
    Redelivery,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)
from creditflow.services.views import (
    AlertsView,
    EventView,
    Page,
    WebhookDeliveryView,
    WebhookEndpointView,
)

router = APIRouter(prefix="/v1")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Site = Annotated[Principal, Depends(allow("service"))]
Admin = Annotated[Principal, Depends(allow())]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.get("/events", summary="List events", response_model=Page[EventView])
def list_events(
    request: Request,
    _: Reader,
    type: str | None = None,
    account_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    """What happened, newest first, by `type` and `account_id`; each with its object as the API
    answered it then. Kept at least 30 days."""
    page = engine_of(request).events(type=type, account_id=account_id, limit=limit, cursor=cursor)
    return answer(page, status=200)


@router.get("/events/{event_id}", summary="Get an event", response_model=EventView)
def get_event(request: Request, event_id: str, _: Reader) -> Response:
    """One event."""
    return answer(engine_of(request).event(event_id), status=200)


@router.post(
    "/events/{event_id}/redeliver",
    status_code=202,
    summary="Send an event again",
    response_model=EventView,
)
def redeliver_event(
    request: Request,
    event_id: str,
    principal: Admin,
    raw: RawBody,
    body: Redelivery | None = None,
) -> Response:
    """To one endpoint, or to every enabled endpoint that takes its type."""
    key = idempotency_key(request, principal, raw)
    event = engine_of(request).redeliver_event(
        event_id, endpoint_id=body.endpoint_id if body else None, idempotency_key=key
    )
    return answer(event, status=202, key=key)


@router.post(
    "/webhook-endpoints",
    status_code=201,
    summary="Add a webhook endpoint",
    response_model=WebhookEndpointView,
)
def create_endpoint(
    request: Request, body: WebhookEndpointCreate, principal: Admin, raw: RawBody
) -> Response:
    """An https URL and the event types it wants (or `*`); the answer carries the signing secret,
    shown only here and on rotation."""
    key = idempotency_key(request, principal, raw)
    endpoint = engine_of(request).create_webhook_endpoint(
        url=body.url, events=body.events, description=body.description, idempotency_key=key
    )
    return answer(endpoint, status=201, key=key)


@router.get(
    "/webhook-endpoints", summary="List webhook endpoints", response_model=Page[WebhookEndpointView]
)
def list_endpoints(request: Request, _: Admin) -> Response:
    """Every endpoint, without secrets."""
    found = engine_of(request).webhook_endpoints()
    return answer(Page[WebhookEndpointView](data=found, next_cursor=None), status=200)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    summary="Get a webhook endpoint",
    response_model=WebhookEndpointView,
)
def get_endpoint(request: Request, endpoint_id: str, _: Admin) -> Response:
    """One endpoint, without its secret."""
    return answer(engine_of(request).webhook_endpoint(endpoint_id), status=200)


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    summary="Change a webhook endpoint",
    response_model=WebhookEndpointView,
)
def update_endpoint(
    request: Request, endpoint_id: str, body: WebhookEndpointUpdate, _: Admin
) -> Response:
    """Its `url`, `events`, `status` or `description`."""
    endpoint = engine_of(request).update_webhook_endpoint(
        endpoint_id,
        url=body.url,
        events=body.events,
        status=body.status,
        description=body.description,
    )
    return answer(endpoint, status=200)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    summary="Delete a webhook endpoint",
    response_model=WebhookEndpointView,
)
def delete_endpoint(request: Request, endpoint_id: str, _: Admin) -> Response:
    """It receives nothing more, not even what was queued."""
    return answer(engine_of(request).delete_webhook_endpoint(endpoint_id), status=200)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    summary="Rotate an endpoint's secret",
    response_model=WebhookEndpointView,
)
def rotate_secret(request: Request, endpoint_id: str, principal: Admin, raw: RawBody) -> Response:
    """A new secret, shown once; the old one keeps signing beside it for 24 hours."""
    key = idempotency_key(request, principal, raw)
    endpoint = engine_of(request).rotate_webhook_secret(endpoint_id, idempotency_key=key)
    return answer(endpoint, status=200, key=key)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    summary="List an endpoint's deliveries",
    response_model=Page[WebhookDeliveryView],
)
def list_deliveries(
    request: Request,
    endpoint_id: str,
    _: Admin,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    """Each delivery with its attempts: status, time and the answer's first bytes."""
    page = engine_of(request).webhook_deliveries(endpoint_id, limit=limit, cursor=cursor)
    return answer(page, status=200)


@router.get(
    "/accounts/{account_id}/alerts", summary="Get an account's alerts", response_model=AlertsView
)
def get_alerts(request: Request, account_id: str, _: Reader) -> Response:
    """The low-balance threshold in force, the account's own or the catalog's."""
    return answer(engine_of(request).alerts(account_id), status=200)


@router.put(
    "/accounts/{account_id}/alerts", summary="Set an account's alerts", response_model=AlertsView
)
def set_alerts(request: Request, account_id: str, body: AlertsUpdate, _: Site) -> Response:
    """The account's own low-balance threshold (0: none), or null for the catalog's."""
    alerts = engine_of(request).set_alerts(account_id, low_balance=body.low_balance)
    return answer(alerts, status=200)
