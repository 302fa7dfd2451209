"""Accounts: search, an account's page, and what support does to one, each confirmed first.

Every action is two posts: the first checks the form and shows what will happen, the second
(carrying the form's id as its idempotency key) does it, so a double click does it once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from creditflow.domain.errors import Conflict, CreditflowError, InvalidRequest, NotFound
from creditflow.domain.kinds import EntryType
from creditflow.services.support_actions import GIVABLE, reason_given
from creditflow.web.console.forms import (
    checked_form,
    money_amount,
    problems,
    show,
    text,
    whole_number,
)
from creditflow.web.console.session import Agent, StaffSession, engine_of
from creditflow.web.layer import money, redirect

router = APIRouter()

DONE = {
    "credits_given": "The credits are in the account.",
    "suspended": "The account is suspended: it cannot spend or buy, and its portal sessions ended.",
    "reinstated": "The account is active again.",
    "cancelled": "The subscription ends at the close of its period.",
    "resumed": "The subscription renews again.",
    "refunded": "The refund is recorded; see its status in the order's refunds.",
}
MAX_GIVE = 1_000_000


@router.get("/accounts")
async def search(request: Request, agent: Agent, q: str = "") -> Response:
    found = await run_in_threadpool(engine_of(request).console.search_accounts, q) if q else []
    if len(found) == 1 and q:
        return redirect(f"/console/accounts/{found[0].id}")
    return show(request, "accounts.html", current="accounts", q=q, found=found)


@router.get("/accounts/{account_id}")
async def account_page(
    request: Request,
    account_id: str,
    agent: Agent,
    type: str = "",
    cursor: str = "",
    done: str = "",
) -> Response:
    return await _account_page(
        request, account_id, ledger_type=type, cursor=cursor, done=DONE.get(done)
    )


async def _account_page(
    request: Request,
    account_id: str,
    *,
    ledger_type: str = "",
    cursor: str = "",
    done: str | None = None,
    status: int = 200,
    opened: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    engine = engine_of(request)
    page = await run_in_threadpool(
        lambda: engine.console.account_page(
            account_id, ledger_type=ledger_type or None, ledger_cursor=cursor or None
        )
    )
    return show(
        request,
        "account.html",
        current="accounts",
        status=status,
        done=done,
        a=page,
        types=[("", "All types"), *((t.value, t.value) for t in EntryType)],
        order_choices=[
            (o.id, f"{o.id}: {', '.join(i.description for i in o.items)}, {money(o.total)}")
            for o in page.orders.data
            if o.status in ("paid", "partially_refunded")
        ],
        opened=opened,
        values=values or {},
        errors=errors or {},
        currency=engine.catalog.site.currency,
        plan_names={plan.code: plan.name for plan in engine.catalog.plans},
    )


# Each action: what the form asks (checked), what the confirmation says, and how it is done.


def _grant(form: FormData) -> dict[str, Any]:
    credits = whole_number(form, "grant_credits", label="Credits")
    assert credits is not None
    if not 0 < credits <= MAX_GIVE:
        raise InvalidRequest(
            f"Credits must be from 1 to {MAX_GIVE:,} at a time.", field="grant_credits"
        )
    kind = text(form, "grant_kind")
    if kind not in GIVABLE:
        raise InvalidRequest("Choose replacement or promo credits.", field="grant_kind")
    return {
        "credits": credits,
        "kind": kind,
        "reason": _reason(form, "grant_reason"),
    }


def _reason(form: FormData, name: str) -> str:
    try:
        return reason_given(text(form, name))
    except InvalidRequest as error:
        raise InvalidRequest(error.message, field=name) from None


async def _review(
    request: Request,
    agent: StaffSession,
    account_id: str,
    *,
    opened: str,
    read: Callable[[FormData], dict[str, Any]],
    describe: Callable[[dict[str, Any]], list[str] | dict[str, Any]],
    action: str,
    title: str,
    button: str,
    danger: bool = False,
) -> Response:
    """The confirmation page of an action, or the account page with the form's errors."""
    form = await checked_form(request, agent)
    values = {name: text(form, name) for name in form if name not in ("csrf", "form_id")}
    try:
        asked = read(form)
        described = await run_in_threadpool(describe, asked)
    except (InvalidRequest, Conflict) as refused:
        return await _account_page(
            request,
            account_id,
            status=409 if isinstance(refused, Conflict) else 422,
            opened=opened,
            values=values,
            errors=problems(refused),
        )
    return show(
        request,
        "confirm_action.html",
        current="accounts",
        title=title,
        account_id=account_id,
        lines=described if isinstance(described, list) else described.get("lines", []),
        effects=None if isinstance(described, list) else described.get("effects"),
        values=values,
        action=action,
        button=button,
        danger=danger,
    )


async def _do(
    request: Request,
    agent: StaffSession,
    account_id: str,
    *,
    opened: str,
    read: Callable[[FormData], dict[str, Any]],
    act: Callable[[dict[str, Any], str], object],
    done: str,
) -> Response:
    form = await checked_form(request, agent)
    values = {name: text(form, name) for name in form if name not in ("csrf", "form_id")}
    try:
        asked = read(form)
        form_id = text(form, "form_id", required=True, label="The form's id (reload the page)")
        await run_in_threadpool(act, asked, form_id)
    except (InvalidRequest, Conflict) as refused:
        return await _account_page(
            request,
            account_id,
            status=409 if isinstance(refused, Conflict) else 422,
            opened=opened,
            values=values,
            errors=problems(refused),
        )
    return redirect(f"/console/accounts/{account_id}?done={done}")


@router.post("/accounts/{account_id}/grant/review")
async def review_grant(request: Request, account_id: str, agent: Agent) -> Response:
    engine = engine_of(request)
    account = await run_in_threadpool(engine.account, account_id)

    def describe(asked: dict[str, Any]) -> list[str]:
        return [
            f"{asked['credits']:,} {asked['kind']} credits are granted to {account.email} "
            f"({account.id}), drawn down in the catalog's order for {asked['kind']} credits.",
            f"The audit log records your email and the reason: “{asked['reason']}”.",
        ]

    return await _review(
        request,
        agent,
        account_id,
        opened="grant",
        read=_grant,
        describe=describe,
        action=f"/console/accounts/{account_id}/grant",
        title="Give credits",
        button="Give the credits",
    )


@router.post("/accounts/{account_id}/grant")
async def grant(request: Request, account_id: str, agent: Agent) -> Response:
    console = engine_of(request).console
    return await _do(
        request,
        agent,
        account_id,
        opened="grant",
        read=_grant,
        act=lambda asked, form_id: console.give_credits(
            account_id, actor=agent.email, form_id=form_id, **asked
        ),
        done="credits_given",
    )


def _suspension(name: str) -> Callable[[FormData], dict[str, Any]]:
    return lambda form: {"reason": _reason(form, name)}


@router.post("/accounts/{account_id}/suspend/review")
async def review_suspend(request: Request, account_id: str, agent: Agent) -> Response:
    engine = engine_of(request)
    account = await run_in_threadpool(engine.account, account_id)

    def describe(asked: dict[str, Any]) -> list[str]:
        if account.status == "suspended":
            raise Conflict(f"Account {account.id} is suspended already.", field="suspend_reason")
        return [
            f"{account.email} ({account.id}) can no longer spend credits, start jobs or buy.",
            "Their portal sessions end; the site is told (account.suspended).",
            f"The audit log records your email and the reason: “{asked['reason']}”.",
        ]

    return await _review(
        request,
        agent,
        account_id,
        opened="suspend",
        read=_suspension("suspend_reason"),
        describe=describe,
        action=f"/console/accounts/{account_id}/suspend",
        title="Suspend the account",
        button="Suspend",
        danger=True,
    )


@router.post("/accounts/{account_id}/suspend")
async def suspend(request: Request, account_id: str, agent: Agent) -> Response:
    console = engine_of(request).console
    return await _do(
        request,
        agent,
        account_id,
        opened="suspend",
        read=_suspension("suspend_reason"),
        act=lambda asked, form_id: console.suspend_account(
            account_id, actor=agent.email, form_id=form_id, **asked
        ),
        done="suspended",
    )


@router.post("/accounts/{account_id}/reinstate/review")
async def review_reinstate(request: Request, account_id: str, agent: Agent) -> Response:
    engine = engine_of(request)
    account = await run_in_threadpool(engine.account, account_id)

    def describe(asked: dict[str, Any]) -> list[str]:
        if account.status != "suspended":
            raise Conflict(f"Account {account.id} is not suspended.", field="reinstate_reason")
        return [
            f"{account.email} ({account.id}) can spend and buy again.",
            "The site is told (account.reinstated).",
            f"The audit log records your email and the reason: “{asked['reason']}”.",
        ]

    return await _review(
        request,
        agent,
        account_id,
        opened="reinstate",
        read=_suspension("reinstate_reason"),
        describe=describe,
        action=f"/console/accounts/{account_id}/reinstate",
        title="Reinstate the account",
        button="Reinstate",
    )


@router.post("/accounts/{account_id}/reinstate")
async def reinstate(request: Request, account_id: str, agent: Agent) -> Response:
    console = engine_of(request).console
    return await _do(
        request,
        agent,
        account_id,
        opened="reinstate",
        read=_suspension("reinstate_reason"),
        act=lambda asked, form_id: console.reinstate_account(
            account_id, actor=agent.email, form_id=form_id, **asked
        ),
        done="reinstated",
    )


def _subscription_of(account_id: str) -> Callable[[FormData], dict[str, Any]]:
    def read(form: FormData) -> dict[str, Any]:
        subscription_id = text(form, "subscription_id", required=True, label="A subscription")
        return {"subscription_id": subscription_id}

    return read


@router.post("/accounts/{account_id}/subscriptions/{change}/review")
async def review_subscription(
    request: Request, account_id: str, change: str, agent: Agent
) -> Response:
    if change not in ("cancel", "resume"):
        raise NotFound("There is no such change of a subscription.")
    engine = engine_of(request)

    def describe(asked: dict[str, Any]) -> list[str]:
        found = engine.subscription(asked["subscription_id"])
        if found.account_id != account_id:
            raise NotFound("That subscription is not this account's.")
        end = f"{found.current_period_end:%-d %b %Y}"
        if change == "cancel":
            if found.cancel_at_period_end or found.status == "ended":
                raise Conflict("This subscription is cancelled already.", field="subscription_id")
            return [
                f"The {found.plan} plan ({found.id}) does not renew: it ends on {end}, "
                "and its credits stay usable until then.",
                "The customer is mailed that it was cancelled.",
            ]
        if not found.cancel_at_period_end:
            raise Conflict("This subscription is not cancelled.", field="subscription_id")
        return [f"The {found.plan} plan ({found.id}) renews again on {end}."]

    return await _review(
        request,
        agent,
        account_id,
        opened="subscriptions",
        read=_subscription_of(account_id),
        describe=describe,
        action=f"/console/accounts/{account_id}/subscriptions/{change}",
        title="Cancel the subscription" if change == "cancel" else "Resume the subscription",
        button="Cancel at period end" if change == "cancel" else "Resume",
        danger=change == "cancel",
    )


@router.post("/accounts/{account_id}/subscriptions/{change}")
async def change_subscription(
    request: Request, account_id: str, change: str, agent: Agent
) -> Response:
    if change not in ("cancel", "resume"):
        raise NotFound("There is no such change of a subscription.")
    console = engine_of(request).console
    method = console.cancel_subscription if change == "cancel" else console.resume_subscription
    return await _do(
        request,
        agent,
        account_id,
        opened="subscriptions",
        read=_subscription_of(account_id),
        act=lambda asked, form_id: method(
            asked["subscription_id"], actor=agent.email, form_id=form_id
        ),
        done="cancelled" if change == "cancel" else "resumed",
    )


def _order_refund(currency: str) -> Callable[[FormData], dict[str, Any]]:
    def read(form: FormData) -> dict[str, Any]:
        order_id = text(form, "order_id", required=True, label="An order")
        amount = money_amount(
            form, "refund_amount", currency=currency, label="The amount", optional=True
        )
        if amount == 0:
            raise InvalidRequest("A refund gives back more than nothing.", field="refund_amount")
        return {"order_id": order_id, "amount": amount, "reason": _reason(form, "refund_reason")}

    return read


def _refund_in_words(error: CreditflowError, currency: str) -> CreditflowError:
    refundable = error.details.get("refundable")
    if error.details.get("field") == "amount" and isinstance(refundable, int):
        most = money({"amount": refundable, "currency": currency})
        return InvalidRequest(f"At most {most} can go back on this order.", field="refund_amount")
    return error


@router.post("/accounts/{account_id}/refund/review")
async def review_refund(request: Request, account_id: str, agent: Agent) -> Response:
    engine = engine_of(request)
    currency = engine.catalog.site.currency

    def describe(asked: dict[str, Any]) -> dict[str, Any]:
        order = engine.order(asked["order_id"])
        if order.account_id != account_id:
            raise NotFound("That order is not this account's.")
        try:
            effects = engine.console.preview_order_refund(
                order.id, amount=asked["amount"], reason=asked["reason"]
            )
        except InvalidRequest as refused:
            raise _refund_in_words(refused, currency) from None
        return {
            "lines": [
                f"Order {order.id} ({money(order.total)} paid through {order.provider}).",
                f"The audit log records your email and the reason: “{asked['reason']}”.",
            ],
            "effects": effects,
        }

    return await _review(
        request,
        agent,
        account_id,
        opened="refund",
        read=_order_refund(currency),
        describe=describe,
        action=f"/console/accounts/{account_id}/refund",
        title="Refund an order",
        button="Refund",
        danger=True,
    )


@router.post("/accounts/{account_id}/refund")
async def refund(request: Request, account_id: str, agent: Agent) -> Response:
    engine = engine_of(request)
    currency = engine.catalog.site.currency

    def act(asked: dict[str, Any], form_id: str) -> object:
        order = engine.order(asked["order_id"])
        if order.account_id != account_id:
            raise NotFound("That order is not this account's.")
        try:
            return engine.console.refund_order(
                order.id,
                amount=asked["amount"],
                reason=asked["reason"],
                actor=agent.email,
                form_id=form_id,
            )
        except InvalidRequest as refused:
            raise _refund_in_words(refused, currency) from None

    return await _do(
        request,
        agent,
        account_id,
        opened="refund",
        read=_order_refund(currency),
        act=act,
        done="refunded",
    )


@router.get("/documents/{kind}/{number}.pdf")
async def document(request: Request, kind: str, number: str, agent: Agent) -> Response:
    if kind not in ("invoice", "credit_note"):
        raise NotFound("There is no such kind of document.")
    pdf = await run_in_threadpool(
        engine_of(request).document_pdf,
        "invoice" if kind == "invoice" else "credit_note",
        number,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )
