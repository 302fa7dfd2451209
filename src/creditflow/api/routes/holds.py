from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.openapi import problems
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import HoldCapture, HoldCreate
from creditflow.services.views import HoldView

router = APIRouter(prefix="/v1")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Spender = Annotated[Principal, Depends(allow("service"))]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.post(
    "/accounts/{account_id}/holds",
    status_code=201,
    summary="Hold credits",
    response_model=HoldView,
    responses=problems({402: ["insufficient_credits"], 403: ["account_suspended"]}),
)
async def place_hold(
    request: Request, account_id: str, body: HoldCreate, principal: Spender, raw: RawBody
) -> Response:
    """Move credits out of `available` for a job in flight; captured on success, released on failure
    or time-out."""
    key = idempotency_key(request, principal, raw)
    hold = await engine_of(request).hold_async(
        account_id,
        credits=body.credits,
        channel=body.channel,
        reason=body.reason,
        reference=body.reference,
        expires_in_seconds=body.expires_in_seconds,
        idempotency_key=key,
    )
    return answer(hold, status=201, key=key)


@router.get("/holds/{hold_id}", summary="Get a hold", response_model=HoldView)
def get_hold(request: Request, hold_id: str, _: Reader) -> Response:
    """A hold and what became of it."""
    return answer(engine_of(request).get_hold(hold_id), status=200)


@router.post(
    "/holds/{hold_id}/capture",
    summary="Capture a hold",
    response_model=HoldView,
    responses=problems({409: ["hold_not_active"]}),
)
async def capture_hold(
    request: Request,
    hold_id: str,
    principal: Spender,
    raw: RawBody,
    body: HoldCapture | None = None,
) -> Response:
    """Spend all or part of a hold; the rest goes back to the grants it came from."""
    key = idempotency_key(request, principal, raw)
    credits = body.credits if body else None
    hold = await engine_of(request).capture_async(hold_id, credits=credits, idempotency_key=key)
    return answer(hold, status=200, key=key)


@router.post(
    "/holds/{hold_id}/release",
    summary="Release a hold",
    response_model=HoldView,
    responses=problems({409: ["hold_not_active"]}),
)
async def release_hold(
    request: Request, hold_id: str, principal: Spender, raw: RawBody
) -> Response:
    """Give every held credit back to the grant it came from."""
    key = idempotency_key(request, principal, raw)
    hold = await engine_of(request).release_async(hold_id, idempotency_key=key)
    return answer(hold, status=200, key=key)
