from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import HoldCapture, HoldCreate

router = APIRouter(prefix="/v1")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Spender = Annotated[Principal, Depends(allow("service"))]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.post("/accounts/{account_id}/holds", status_code=201)
def place_hold(
    request: Request, account_id: str, body: HoldCreate, principal: Spender, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    hold = engine_of(request).hold(
        account_id,
        credits=body.credits,
        channel=body.channel,
        reason=body.reason,
        reference=body.reference,
        expires_in_seconds=body.expires_in_seconds,
        idempotency_key=key,
    )
    return answer(hold, status=201, key=key)


@router.get("/holds/{hold_id}")
def get_hold(request: Request, hold_id: str, _: Reader) -> Response:
    return answer(engine_of(request).get_hold(hold_id), status=200)


@router.post("/holds/{hold_id}/capture")
def capture_hold(
    request: Request,
    hold_id: str,
    principal: Spender,
    raw: RawBody,
    body: HoldCapture | None = None,
) -> Response:
    key = idempotency_key(request, principal, raw)
    credits = body.credits if body else None
    hold = engine_of(request).capture(hold_id, credits=credits, idempotency_key=key)
    return answer(hold, status=200, key=key)


@router.post("/holds/{hold_id}/release")
def release_hold(request: Request, hold_id: str, principal: Spender, raw: RawBody) -> Response:
    key = idempotency_key(request, principal, raw)
    hold = engine_of(request).release(hold_id, idempotency_key=key)
    return answer(hold, status=200, key=key)
