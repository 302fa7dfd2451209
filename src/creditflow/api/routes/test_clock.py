"""The test clock's endpoints; mounted only when the service runs with `--test-clock`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import ClockAdvance, TestPayment, TestPaymentBehavior
from creditflow.services.views import ClockView, OrderView, TestBehaviorView

router = APIRouter(prefix="/v1")

Driver = Annotated[Principal, Depends(allow("service", "support"))]


@router.get("/test-clock", summary="Read the test clock", response_model=ClockView)
def read_clock(request: Request, _: Driver) -> Response:
    """Where the test clock stands (only with `--test-clock`)."""
    return answer(ClockView(now=engine_of(request).clock.now()), status=200)


@router.post("/test-clock/advance", summary="Move the test clock", response_model=ClockView)
def advance_clock(
    request: Request,
    body: ClockAdvance,
    principal: Driver,
    raw: Annotated[bytes, Depends(raw_body)],
) -> Response:
    """Work every piece of due work in time order (renewals, expiries, time-outs), then stand at the
    new time."""
    key = idempotency_key(request, principal, raw)
    view = engine_of(request).advance_clock(seconds=body.seconds, to=body.to, idempotency_key=key)
    return answer(view, status=200, key=key)


@router.post(
    "/accounts/{account_id}/test-payment-behavior",
    summary="Make the test provider decline",
    response_model=TestBehaviorView,
)
def set_test_payment_behavior(
    request: Request,
    account_id: str,
    body: TestPaymentBehavior,
    principal: Driver,
    raw: Annotated[bytes, Depends(raw_body)],
) -> Response:
    """How the `test` provider treats this account's next charges."""
    key = idempotency_key(request, principal, raw)
    view = engine_of(request).set_test_payment_behavior(
        account_id, body.behavior, idempotency_key=key
    )
    return answer(view, status=200, key=key)


@router.post(
    "/orders/{order_id}/test-payments",
    status_code=201,
    summary="Pay an order again (test)",
    response_model=OrderView,
)
def add_test_payment(
    request: Request,
    order_id: str,
    principal: Driver,
    raw: Annotated[bytes, Depends(raw_body)],
    body: TestPayment | None = None,
) -> Response:
    """Another successful payment of an order, as if the customer paid twice (rule 22)."""
    engine = engine_of(request)
    order = engine.order(order_id)
    key = idempotency_key(request, principal, raw)
    payment_id = f"test_extra_{key.key if key else len(order.payments) + 1}"
    amount = body.amount if body and body.amount is not None else order.total.amount
    view = engine.record_payment(
        order_id, provider="test", provider_payment_id=payment_id, amount=amount
    )
    return answer(view, status=201)
