"""Catalog, checkout, orders, invoices and subscriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import (
    CheckoutCreate,
    OrderRefundCreate,
    PlanChange,
    SubscriptionCreate,
)
from creditflow.services.views import Page, SubscriptionView

router = APIRouter(prefix="/v1")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Writer = Annotated[Principal, Depends(allow("service"))]
Support = Annotated[Principal, Depends(allow("support"))]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.get("/catalog")
def get_catalog(request: Request, _: Reader) -> JSONResponse:
    return JSONResponse(engine_of(request).catalog.to_json())


@router.post("/accounts/{account_id}/checkout", status_code=201)
def checkout(
    request: Request, account_id: str, body: CheckoutCreate, principal: Writer, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    order = engine_of(request).checkout(
        account_id,
        product=body.product,
        credits=body.credits,
        provider=body.provider,
        channel=body.channel,
        success_url=body.success_url,
        cancel_url=body.cancel_url,
        idempotency_key=key,
    )
    return answer(order, status=201, key=key)


@router.get("/orders/{order_id}")
def get_order(request: Request, order_id: str, _: Reader) -> Response:
    return answer(engine_of(request).order(order_id), status=200)


@router.get("/accounts/{account_id}/orders")
def list_orders(
    request: Request,
    account_id: str,
    _: Reader,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    return answer(engine_of(request).orders(account_id, limit=limit, cursor=cursor), status=200)


@router.get("/orders/{order_id}/invoice")
def get_invoice(request: Request, order_id: str, _: Reader) -> Response:
    return answer(engine_of(request).invoice(order_id), status=200)


@router.post("/orders/{order_id}/refunds", status_code=201)
def refund_order(
    request: Request, order_id: str, body: OrderRefundCreate, principal: Support, raw: RawBody
) -> Response:
    """Money back through the order's provider; support's refund decisions build on this."""
    key = idempotency_key(request, principal, raw)
    refund = engine_of(request).refund_order(
        order_id, amount=body.amount, reason=body.reason, idempotency_key=key
    )
    return answer(refund, status=201, key=key)


@router.get("/refunds/{refund_id}")
def get_refund(request: Request, refund_id: str, _: Reader) -> Response:
    return answer(engine_of(request).refund(refund_id), status=200)


@router.get("/invoices/{number}.pdf")
def get_invoice_pdf(request: Request, number: str, _: Reader) -> Response:
    pdf = engine_of(request).document_pdf("invoice", number)
    return Response(pdf, media_type="application/pdf", headers=_inline(number))


@router.get("/credit-notes/{number}.pdf")
def get_credit_note_pdf(request: Request, number: str, _: Reader) -> Response:
    pdf = engine_of(request).document_pdf("credit_note", number)
    return Response(pdf, media_type="application/pdf", headers=_inline(number))


def _inline(number: str) -> dict[str, str]:
    safe = "".join(c for c in number if c.isalnum() or c == "-")
    return {"Content-Disposition": f'inline; filename="{safe}.pdf"'}


@router.post("/accounts/{account_id}/subscriptions", status_code=201)
def subscribe(
    request: Request, account_id: str, body: SubscriptionCreate, principal: Writer, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    subscription = engine_of(request).subscribe(
        account_id,
        plan=body.plan,
        interval=body.interval,
        provider=body.provider,
        success_url=body.success_url,
        cancel_url=body.cancel_url,
        idempotency_key=key,
    )
    return answer(subscription, status=201, key=key)


@router.get("/accounts/{account_id}/subscriptions")
def list_subscriptions(request: Request, account_id: str, _: Reader) -> Response:
    found = engine_of(request).subscriptions(account_id)
    return answer(Page[SubscriptionView](data=found, next_cursor=None), status=200)


@router.get("/subscriptions/{subscription_id}")
def get_subscription(request: Request, subscription_id: str, _: Reader) -> Response:
    return answer(engine_of(request).subscription(subscription_id), status=200)


@router.post("/subscriptions/{subscription_id}/cancel")
def cancel_subscription(
    request: Request, subscription_id: str, principal: Writer, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    result = engine_of(request).cancel_subscription(subscription_id, idempotency_key=key)
    return answer(result, status=200, key=key)


@router.post("/subscriptions/{subscription_id}/resume")
def resume_subscription(
    request: Request, subscription_id: str, principal: Writer, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    result = engine_of(request).resume_subscription(subscription_id, idempotency_key=key)
    return answer(result, status=200, key=key)


@router.post("/subscriptions/{subscription_id}/change")
def change_plan(
    request: Request, subscription_id: str, body: PlanChange, principal: Writer, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    result = engine_of(request).change_plan(
        subscription_id, plan=body.plan, interval=body.interval, idempotency_key=key
    )
    return answer(result, status=200, key=key)
