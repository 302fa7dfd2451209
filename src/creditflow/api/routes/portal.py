"""Links into the customer portal, minted by the site's backend for one member."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from creditflow.api.auth import Principal, allow
from creditflow.api.idempotency import answer
from creditflow.api.openapi import problems
from creditflow.api.routes.accounts import engine_of
from creditflow.api.schemas import PortalSessionCreate
from creditflow.services.views import View

router = APIRouter(prefix="/v1")

Site = Annotated[Principal, Depends(allow("service"))]


class PortalSessionView(View):
    id: str
    url: str
    """Opens the portal for the account, once, before `expires_at`."""
    expires_at: datetime


@router.post(
    "/portal-sessions",
    status_code=201,
    summary="Mint a portal link",
    response_model=PortalSessionView,
    responses=problems({403: ["account_suspended"], 404: ["not_found"]}),
)
def create_portal_session(request: Request, body: PortalSessionCreate, _: Site) -> Response:
    """A one-time link (10 minutes) that opens the customer portal for one account, as Stripe's
    billing portal session does: send the member's browser to `url`. Each call makes a new
    link; an `Idempotency-Key` is not kept, because a replayed answer would have to store the
    link's secret, which is kept only as a hash."""
    engine = engine_of(request)
    link = engine.portal.mint_link(body.account_id, return_url=body.return_url)
    base = engine.public_url or str(request.base_url).rstrip("/")
    view = PortalSessionView(
        id=link.id, url=f"{base}/portal/open/{link.token}", expires_at=link.expires_at
    )
    return answer(view, status=201)
