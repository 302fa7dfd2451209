from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.openapi import problems
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import ConsumeCreate, GrantCreate
from creditflow.services.views import BalanceView, GrantView, LedgerEntryView, Page, SpendView

router = APIRouter(prefix="/v1/accounts/{account_id}")

Reader = Annotated[Principal, Depends(allow("service", "support"))]
Spender = Annotated[Principal, Depends(allow("service"))]
Granter = Annotated[Principal, Depends(allow("support"))]
RawBody = Annotated[bytes, Depends(raw_body)]


@router.get("/balance", summary="Get the balance", response_model=BalanceView)
async def get_balance(
    request: Request, account_id: str, _: Reader, channel: str | None = None
) -> Response:
    """Available and held credits, by kind, with each grant that has credits left and its expiry;
    `?channel=` counts only what that channel may spend. Read from cached sums: never a scan of
    the ledger."""
    balance = await engine_of(request).balance_async(account_id, channel=channel)
    return answer(balance, status=200)


@router.post(
    "/grants",
    status_code=201,
    summary="Grant credits",
    response_model=GrantView,
    responses=problems({403: ["account_suspended"]}),
)
def grant_credits(
    request: Request, account_id: str, body: GrantCreate, principal: Granter, raw: RawBody
) -> Response:
    """Put credits into a new grant of a kind (`purchased`, `promo`, `replacement`, …), optionally
    expiring and scoped to a channel. Support and admin only."""
    key = idempotency_key(request, principal, raw)
    grant = engine_of(request).grant(
        account_id,
        credits=body.credits,
        kind=body.kind,
        reason=body.reason,
        expires_at=body.expires_at,
        priority=body.priority,
        channel=body.channel,
        source_type="manual",
        source_id=principal.key_id,
        idempotency_key=key,
    )
    return answer(grant, status=201, key=key)


@router.post(
    "/consume",
    summary="Spend credits",
    response_model=SpendView,
    responses=problems({402: ["insufficient_credits"], 403: ["account_suspended"]}),
)
async def consume_credits(
    request: Request, account_id: str, body: ConsumeCreate, principal: Spender, raw: RawBody
) -> Response:
    """Spend credits now, drawn down in the catalog's order (kind priority, then earliest expiry,
    then oldest). Never below zero under any concurrency; an `Idempotency-Key` makes a retry
    spend once."""
    key = idempotency_key(request, principal, raw)
    spend = await engine_of(request).consume_async(
        account_id,
        credits=body.credits,
        channel=body.channel,
        reason=body.reason,
        reference=body.reference,
        idempotency_key=key,
    )
    return answer(spend, status=200, key=key)


@router.get("/ledger", summary="Read the ledger", response_model=Page[LedgerEntryView])
def get_ledger(
    request: Request,
    account_id: str,
    _: Reader,
    limit: int | None = None,
    cursor: str | None = None,
    type: str | None = None,
) -> Response:
    """The account's ledger entries, newest first: their `credits` sum to `available` and their
    `held` to `held`."""
    page = engine_of(request).ledger(account_id, limit=limit, cursor=cursor, type=type)
    return answer(page, status=200)
