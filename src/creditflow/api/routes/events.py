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
from creditflow.services.views import Page, WebhookEndpointView

router = APIRouter(prefix="/v1")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Site = Annotated[Principal, Depends(allow("service"))]
Admin = Annotated[Principal, Depends(allow())]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.get("/events")
def list_events(
    request: Request,
    _: Reader,
    type: str | None = None,
    account_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    page = engine_of(request).events(type=type, account_id=account_id, limit=limit, cursor=cursor)
    return answer(page, status=200)


@router.get("/events/{event_id}")
def get_event(request: Request, event_id: str, _: Reader) -> Response:
    return answer(engine_of(request).event(event_id), status=200)


@router.post("/events/{event_id}/redeliver", status_code=202)
def redeliver_event(
    request: Request,
    event_id: str,
    principal: Admin,
    raw: RawBody,
    body: Redelivery | None = None,
) -> Response:
    key = idempotency_key(request, principal, raw)
    event = engine_of(request).redeliver_event(
        event_id, endpoint_id=body.endpoint_id if body else None, idempotency_key=key
    )
    return answer(event, status=202, key=key)


@router.post("/webhook-endpoints", status_code=201)
def create_endpoint(
    request: Request, body: WebhookEndpointCreate, principal: Admin, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    endpoint = engine_of(request).create_webhook_endpoint(
        url=body.url, events=body.events, description=body.description, idempotency_key=key
    )
    return answer(endpoint, status=201, key=key)


@router.get("/webhook-endpoints")
def list_endpoints(request: Request, _: Admin) -> Response:
    found = engine_of(request).webhook_endpoints()
    return answer(Page[WebhookEndpointView](data=found, next_cursor=None), status=200)


@router.get("/webhook-endpoints/{endpoint_id}")
def get_endpoint(request: Request, endpoint_id: str, _: Admin) -> Response:
    return answer(engine_of(request).webhook_endpoint(endpoint_id), status=200)


@router.patch("/webhook-endpoints/{endpoint_id}")
def update_endpoint(
    request: Request, endpoint_id: str, body: WebhookEndpointUpdate, _: Admin
) -> Response:
    endpoint = engine_of(request).update_webhook_endpoint(
        endpoint_id,
        url=body.url,
        events=body.events,
        status=body.status,
        description=body.description,
    )
    return answer(endpoint, status=200)


@router.delete("/webhook-endpoints/{endpoint_id}")
def delete_endpoint(request: Request, endpoint_id: str, _: Admin) -> Response:
    return answer(engine_of(request).delete_webhook_endpoint(endpoint_id), status=200)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret")
def rotate_secret(request: Request, endpoint_id: str, principal: Admin, raw: RawBody) -> Response:
    key = idempotency_key(request, principal, raw)
    endpoint = engine_of(request).rotate_webhook_secret(endpoint_id, idempotency_key=key)
    return answer(endpoint, status=200, key=key)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries")
def list_deliveries(
    request: Request,
    endpoint_id: str,
    _: Admin,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    page = engine_of(request).webhook_deliveries(endpoint_id, limit=limit, cursor=cursor)
    return answer(page, status=200)


@router.get("/accounts/{account_id}/alerts")
def get_alerts(request: Request, account_id: str, _: Reader) -> Response:
    return answer(engine_of(request).alerts(account_id), status=200)


@router.put("/accounts/{account_id}/alerts")
def set_alerts(request: Request, account_id: str, body: AlertsUpdate, _: Site) -> Response:
    alerts = engine_of(request).set_alerts(account_id, low_balance=body.low_balance)
    return answer(alerts, status=200)
