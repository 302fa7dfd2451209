"""The test clock's endpoints; mounted only when the service runs with `--test-clock`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import ClockAdvance
from creditflow.services.views import ClockView

router = APIRouter(prefix="/v1/test-clock")

Driver = Annotated[Principal, Depends(allow("service", "support"))]


@router.get("")
def read_clock(request: Request, _: Driver) -> Response:
    return answer(ClockView(now=engine_of(request).clock.now()), status=200)


@router.post("/advance")
def advance_clock(
    request: Request,
    body: ClockAdvance,
    principal: Driver,
    raw: Annotated[bytes, Depends(raw_body)],
) -> Response:
    key = idempotency_key(request, principal, raw)
    view = engine_of(request).advance_clock(seconds=body.seconds, to=body.to, idempotency_key=key)
    return answer(view, status=200, key=key)
