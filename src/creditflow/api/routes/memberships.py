"""Daily claims, entitlements and resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import ResourceCreate

router = APIRouter(prefix="/v1/accounts/{account_id}")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Writer = Annotated[Principal, Depends(allow("service"))]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.post("/daily-claims", status_code=201)
def claim_daily_credits(
    request: Request, account_id: str, principal: Writer, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    claim = engine_of(request).claim_daily_credits(account_id, idempotency_key=key)
    return answer(claim, status=201, key=key)


@router.get("/entitlements")
def get_entitlements(request: Request, account_id: str, _: Reader) -> Response:
    return answer(engine_of(request).entitlements(account_id), status=200)


@router.post("/resources", status_code=201)
def create_resource(
    request: Request, account_id: str, body: ResourceCreate, principal: Writer, raw: RawBody
) -> Response:
    key = idempotency_key(request, principal, raw)
    resource = engine_of(request).create_resource(
        account_id, type=body.type, name=body.name, idempotency_key=key
    )
    return answer(resource, status=201, key=key)
