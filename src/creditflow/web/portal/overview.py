"""The member's credits: the balance by kind with what expires when, the daily claim, and
"+ add credits" (packs, and add-ons within the plan's monthly limit).

Buying goes through the site's payment provider as the API's checkout does: the `test`
provider pays at once; a hosted one answers a checkout page, which the member continues to by
a plain link (a form may only post here, so the portal never redirects a form to another site).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from creditflow.domain.errors import Conflict, Forbidden, InvalidRequest
from creditflow.services.views import BalanceView
from creditflow.web.fields import problems, text, whole_number
from creditflow.web.layer import redirect
from creditflow.web.portal.forms import checked_form, show
from creditflow.web.portal.session import CustomerSession, Member, engine_of

router = APIRouter()

DONE = {
    "claimed": "Today's daily credits are yours.",
    "bought": "Thank you: the credits are in your balance.",
}
KIND_NAMES = {
    "purchased": "Bought credits",
    "subscription": "Plan credits",
    "addon": "Add-on credits",
    "daily": "Daily credits",
    "member_daily": "Members' daily extra",
    "promo": "Gift credits",
    "replacement": "Replacement credits",
}


@dataclass(frozen=True, slots=True)
class KindLine:
    kind: str
    name: str
    credits: int
    expiring: list[tuple[datetime, int]]
    """(when, how many) for the credits of this kind that lapse, soonest first."""
    never: int
    """Of this kind's credits, how many never expire."""


def by_kind(balance: BalanceView) -> list[KindLine]:
    """The balance in the draw-down order's kinds, each with its credits by expiry."""
    lines: dict[str, dict[datetime | None, int]] = defaultdict(lambda: defaultdict(int))
    for grant in balance.grants:
        left = grant.remaining - grant.held
        if left > 0:
            lines[grant.kind][grant.expires_at] += left
    return [
        KindLine(
            kind=kind,
            name=KIND_NAMES.get(kind, kind.replace("_", " ").capitalize()),
            credits=sum(amounts.values()),
            expiring=sorted((at, n) for at, n in amounts.items() if at is not None),
            never=amounts.get(None, 0),
        )
        for kind, amounts in lines.items()
    ]


def _overview(
    request: Request,
    customer: CustomerSession,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: str | None = None,
) -> Response:
    engine = engine_of(request)
    account_id = customer.account.id
    balance = engine.balance(account_id)
    return show(
        request,
        "overview.html",
        current="overview",
        status=status,
        balance=balance,
        lines=by_kind(balance),
        daily=engine.daily_claim_status(account_id),
        packs=engine.catalog.packs,
        addons=engine.addon_allowance(account_id),
        currency=engine.catalog.site.currency,
        minor_units=engine.catalog.minor_units,
        errors=errors or {},
        values=values or {},
        done=DONE.get(done or ""),
    )


@router.get("")
async def overview(request: Request, customer: Member, done: str | None = None) -> Response:
    return await run_in_threadpool(_overview, request, customer, done=done)


@router.post("/daily")
async def claim_daily(request: Request, customer: Member) -> Response:
    form = await checked_form(request, customer)
    engine = engine_of(request)
    form_id = text(form, "form_id")
    try:
        await run_in_threadpool(
            lambda: engine.claim_daily_credits(
                customer.account.id, idempotency_key=customer.idempotency_key(form_id)
            )
        )
    except Conflict as refused:
        errors = {"daily": refused.message}
        return await run_in_threadpool(
            lambda: _overview(request, customer, status=409, errors=errors)
        )
    return redirect("/portal?done=claimed")


@router.post("/buy")
async def buy(request: Request, customer: Member) -> Response:
    form = await checked_form(request, customer)
    engine = engine_of(request)
    product = text(form, "product")
    values = {"addon_credits": text(form, "addon_credits")}
    field = "addon_credits" if product == "addon" else "product"
    base = str(request.base_url).rstrip("/")
    try:
        credits = (
            whole_number(form, "addon_credits", label="Credits") if product == "addon" else None
        )
        if product != "addon" and product not in {p.code for p in engine.catalog.packs}:
            raise InvalidRequest("Choose one of the packs shown.", field="product")
        order = await run_in_threadpool(
            lambda: engine.checkout(
                customer.account.id,
                product=product,
                credits=credits,
                provider=engine.portal.provider,
                success_url=f"{base}/portal?done=bought",
                cancel_url=f"{base}/portal",
                idempotency_key=customer.idempotency_key(text(form, "form_id")),
            )
        )
    except (InvalidRequest, Conflict, Forbidden) as refused:
        errors: dict[str, Any] = problems(refused)
        if isinstance(refused, Forbidden) or "form" in errors or "credits" in errors:
            # Shown where the member can see it: a non-member has no add-on form.
            errors = {"product" if isinstance(refused, Forbidden) else field: refused.message}
        status = (
            422
            if isinstance(refused, InvalidRequest)
            else 403
            if isinstance(refused, Forbidden)
            else 409
        )
        return await run_in_threadpool(
            lambda: _overview(request, customer, status=status, errors=errors, values=values)
        )
    if order.status == "paid":
        return redirect("/portal?done=bought")
    return show(request, "pay.html", current="overview", order=order)
