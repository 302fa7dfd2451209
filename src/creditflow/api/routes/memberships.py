"""Daily claims, entitlements and resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.openapi import problems
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import ResourceCreate
from creditflow.services.views import DailyClaimView, EntitlementsView, ResourceView

router = APIRouter(prefix="/v1/accounts/{account_id}")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Writer = Annotated[Principal, Depends(allow("service"))]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.post(
    "/daily-claims",
    status_code=201,
    summary="Claim today's daily credits",
    response_model=DailyClaimView,
    responses=problems({409: ["already_claimed", "daily_credits_not_offered"]}),
)
def claim_daily_credits(
    request: Request, account_id: str, principal: Writer, raw: RawBody
) -> Response:
    """Once per site day; members get their plan's extra credits on top. They lapse at the next
    local midnight."""
    key = idempotency_key(request, principal, raw)
    claim = engine_of(request).claim_daily_credits(account_id, idempotency_key=key)
    return answer(claim, status=201, key=key)


@router.get("/entitlements", summary="Get entitlements", response_model=EntitlementsView)
def get_entitlements(request: Request, account_id: str, _: Reader) -> Response:
    """LoRAs per generation, private model and LoRA slots, free trainings this cycle and the profile
    switches, from the plan or `[free]`."""
    return answer(engine_of(request).entitlements(account_id), status=200)


@router.post(
    "/resources",
    status_code=201,
    summary="Take a slot",
    response_model=ResourceView,
    responses=problems({403: ["entitlement_exceeded"]}),
)
def create_resource(
    request: Request, account_id: str, body: ResourceCreate, principal: Writer, raw: RawBody
) -> Response:
    """A private model or LoRA (or a profile perk) within the plan's limit; what was made stays
    after the membership ends."""
    key = idempotency_key(request, principal, raw)
    resource = engine_of(request).create_resource(
        account_id, type=body.type, name=body.name, idempotency_key=key
    )
    return answer(resource, status=201, key=key)
