from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer, idempotency_key, raw_body
from creditflow.api.openapi import problems
from creditflow.api.schemas import AccountCreate
from creditflow.engine import Engine
from creditflow.services.views import AccountView, Page

router = APIRouter(prefix="/v1/accounts")

Writer = Annotated[Principal, Depends(allow("service"))]
Reader = Annotated[Principal, Depends(allow("service", "support"))]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


@router.post(
    "",
    status_code=201,
    summary="Open an account",
    response_model=AccountView,
    responses=problems({409: ["account_exists"]}),
)
def create_account(
    request: Request,
    body: AccountCreate,
    principal: Writer,
    raw: Annotated[bytes, Depends(raw_body)],
) -> Response:
    """An account for one of the site's users, found again by its `external_id`."""
    key = idempotency_key(request, principal, raw)
    account = engine_of(request).create_account(
        external_id=body.external_id, email=body.email, country=body.country, idempotency_key=key
    )
    return answer(account, status=201, key=key)


@router.get("/{account_id}", summary="Get an account", response_model=AccountView)
def get_account(request: Request, account_id: str, _: Reader) -> Response:
    """The account, with its status (`active`, or `suspended` by a chargeback)."""
    return answer(engine_of(request).account(account_id), status=200)


@router.get("", summary="List accounts", response_model=Page[AccountView])
def list_accounts(
    request: Request,
    _: Reader,
    external_id: Annotated[str | None, Query(max_length=255)] = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Response:
    """Accounts, or the one with `?external_id=`."""
    engine = engine_of(request)
    if external_id is not None:
        found = engine.find_account(external_id)
        page = Page[AccountView](data=[found] if found else [], next_cursor=None)
    else:
        page = engine.accounts(limit=limit, cursor=cursor)
    return answer(page, status=200)
