"""Catalog, checkout, orders, invoices and subscriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.openapi import binary, problems
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import (
    CheckoutCreate,
    OrderRefundCreate,
    PlanChange,
    SubscriptionCreate,
)
from creditflow.services.views import (
    InvoiceView,
    OrderView,
    Page,
    PlanChangeView,
    RefundView,
    SubscriptionView,
)

router = APIRouter(prefix="/v1")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Writer = Annotated[Principal, Depends(allow("service"))]
Support = Annotated[Principal, Depends(allow("support"))]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.get(
    "/catalog",
    summary="Get the catalog",
    responses={
        200: {
            "description": "A JSON object.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def get_catalog(request: Request, _: Reader) -> JSONResponse:
    """The loaded catalog as JSON: plans, packs, operations and the rule switches, prices as
    strings."""
    return JSONResponse(engine_of(request).catalog.to_json())


@router.post(
    "/accounts/{account_id}/checkout",
    status_code=201,
    summary="Buy a pack or add-on credits",
    response_model=OrderView,
    responses=problems(
        {
            402: ["payment_declined"],
            403: ["members_only", "account_suspended"],
            409: ["addon_limit_reached"],
            502: ["provider_unavailable", "provider_refused"],
        }
    ),
)
def checkout(
    request: Request, account_id: str, body: CheckoutCreate, principal: Writer, raw: RawBody
) -> Response:
    """An order, paid at once by the `test` provider or at a hosted provider's checkout
    (`checkout_url`); credits are granted when it is paid."""
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


@router.get("/orders/{order_id}", summary="Get an order", response_model=OrderView)
def get_order(request: Request, order_id: str, _: Reader) -> Response:
    """The order with its items, payments and refunds."""
    return answer(engine_of(request).order(order_id), status=200)


@router.get(
    "/accounts/{account_id}/orders",
    summary="List an account's orders",
    response_model=Page[OrderView],
)
def list_orders(
    request: Request,
    account_id: str,
    _: Reader,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    """The account's orders, newest first."""
    return answer(engine_of(request).orders(account_id, limit=limit, cursor=cursor), status=200)


@router.get(
    "/orders/{order_id}/invoice", summary="Get an order's invoice", response_model=InvoiceView
)
def get_invoice(request: Request, order_id: str, _: Reader) -> Response:
    """The invoice of a paid order, with its credit notes."""
    return answer(engine_of(request).invoice(order_id), status=200)


@router.post(
    "/orders/{order_id}/refunds",
    status_code=201,
    summary="Refund an order",
    response_model=RefundView,
    responses=problems(
        {
            409: ["order_not_paid", "order_disputed"],
            502: ["provider_unavailable", "provider_refused"],
        }
    ),
)
def refund_order(
    request: Request, order_id: str, body: OrderRefundCreate, principal: Support, raw: RawBody
) -> Response:
    """Money back through the order's provider; support's refund decisions build on this."""
    key = idempotency_key(request, principal, raw)
    refund = engine_of(request).refund_order(
        order_id, amount=body.amount, reason=body.reason, idempotency_key=key
    )
    return answer(refund, status=201, key=key)


@router.get("/refunds/{refund_id}", summary="Get a refund", response_model=RefundView)
def get_refund(request: Request, refund_id: str, _: Reader) -> Response:
    """Money sent back through the provider: `pending` until it confirms, then `succeeded` or
    `failed`."""
    return answer(engine_of(request).refund(refund_id), status=200)


@router.get(
    "/invoices/{number}.pdf",
    summary="Download an invoice",
    responses=binary("application/pdf", "The PDF."),
)
def get_invoice_pdf(request: Request, number: str, _: Reader) -> Response:
    """The invoice as a PDF, rendered once and kept."""
    pdf = engine_of(request).document_pdf("invoice", number)
    return Response(pdf, media_type="application/pdf", headers=_inline(number))


@router.get(
    "/credit-notes/{number}.pdf",
    summary="Download a credit note",
    responses=binary("application/pdf", "The PDF."),
)
def get_credit_note_pdf(request: Request, number: str, _: Reader) -> Response:
    """The credit note as a PDF."""
    pdf = engine_of(request).document_pdf("credit_note", number)
    return Response(pdf, media_type="application/pdf", headers=_inline(number))


def _inline(number: str) -> dict[str, str]:
    safe = "".join(c for c in number if c.isalnum() or c == "-")
    return {"Content-Disposition": f'inline; filename="{safe}.pdf"'}


@router.post(
    "/accounts/{account_id}/subscriptions",
    status_code=201,
    summary="Subscribe to a plan",
    response_model=SubscriptionView,
    responses=problems(
        {409: ["already_subscribed"], 502: ["provider_unavailable", "provider_refused"]}
    ),
)
def subscribe(
    request: Request, account_id: str, body: SubscriptionCreate, principal: Writer, raw: RawBody
) -> Response:
    """A subscription, `active` once its first period is paid (at once with the `test` provider; at
    `checkout_url` with a hosted one)."""
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


@router.get(
    "/accounts/{account_id}/subscriptions",
    summary="List an account's subscriptions",
    response_model=Page[SubscriptionView],
)
def list_subscriptions(request: Request, account_id: str, _: Reader) -> Response:
    """The account's subscriptions, newest first."""
    found = engine_of(request).subscriptions(account_id)
    return answer(Page[SubscriptionView](data=found, next_cursor=None), status=200)


@router.get(
    "/subscriptions/{subscription_id}",
    summary="Get a subscription",
    response_model=SubscriptionView,
)
def get_subscription(request: Request, subscription_id: str, _: Reader) -> Response:
    """The subscription, its period and monthly cycle, and a change scheduled for the period
    end."""
    return answer(engine_of(request).subscription(subscription_id), status=200)


@router.post(
    "/subscriptions/{subscription_id}/cancel",
    summary="Cancel at the period end",
    response_model=SubscriptionView,
    responses=problems({409: ["subscription_not_active"]}),
)
def cancel_subscription(
    request: Request, subscription_id: str, principal: Writer, raw: RawBody
) -> Response:
    """No renewal: access, entitlements and credits last to the period end (rule 9)."""
    key = idempotency_key(request, principal, raw)
    result = engine_of(request).cancel_subscription(subscription_id, idempotency_key=key)
    return answer(result, status=200, key=key)


@router.post(
    "/subscriptions/{subscription_id}/resume",
    summary="Undo a cancellation",
    response_model=SubscriptionView,
    responses=problems({409: ["subscription_not_active"]}),
)
def resume_subscription(
    request: Request, subscription_id: str, principal: Writer, raw: RawBody
) -> Response:
    """Renew again at the period end."""
    key = idempotency_key(request, principal, raw)
    result = engine_of(request).resume_subscription(subscription_id, idempotency_key=key)
    return answer(result, status=200, key=key)


@router.post(
    "/subscriptions/{subscription_id}/change",
    summary="Change plan or interval",
    response_model=PlanChangeView,
    responses=problems(
        {
            402: ["payment_declined"],
            409: ["same_plan", "downgrade_not_allowed", "subscription_not_active"],
        }
    ),
)
def change_plan(
    request: Request, subscription_id: str, body: PlanChange, principal: Writer, raw: RawBody
) -> Response:
    """An upgrade (a higher rank, or month to year) takes effect at once, prorated; a downgrade, or
    year to month, waits for the period end or is refused where the catalog says so."""
    key = idempotency_key(request, principal, raw)
    result = engine_of(request).change_plan(
        subscription_id, plan=body.plan, interval=body.interval, idempotency_key=key
    )
    return answer(result, status=200, key=key)
