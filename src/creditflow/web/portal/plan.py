"""The member's plan: what it is and gives, what cancelling keeps and loses, and changing it.

A change is shown before it is made. The preview is the real `change_plan` run in a transaction
that is never committed (`Portal.preview_plan_change`), so an upgrade's prorated charge and the
credits it grants are the ones the change will make; the confirmation carries them back, and the
change is refused if they no longer hold (time ran on across a rounding step) rather than
charging what the member did not see. Cancelling and resuming are confirmed on a page that says
what is kept and what is lost, in the catalog's own terms (rules 8, 9, 16 and 004's list).

Every subscription id a form sends is looked up and checked to be the session account's: another
account's is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from creditflow.domain.catalog import Catalog, Plan
from creditflow.domain.errors import Conflict, CreditflowError, InvalidRequest, PaymentDeclined
from creditflow.engine import Engine
from creditflow.services.views import (
    EntitlementsView,
    Money,
    OrderView,
    PlanChangeView,
    SubscriptionView,
)
from creditflow.web.fields import problems, text
from creditflow.web.layer import local, money, redirect
from creditflow.web.portal.forms import checked_form, show
from creditflow.web.portal.plan_terms import (
    allowances,
    consequences,
    count,
    offers,
    price_of,
)
from creditflow.web.portal.session import CustomerSession, Member, engine_of, owned

router = APIRouter()

DONE = {
    "subscribed": "Welcome aboard: your plan is active and its credits are in your balance.",
    "scheduled": "Done: the change is booked for the end of your period.",
    "cancelled": "Your plan is cancelled: it stays until the end of the period, then ends.",
    "resumed": "Your plan is back on: it renews as before.",
}
LIVE = ("active", "past_due")
INTERVALS = (("month", "Every month"), ("year", "Every year"))


def current_of(subscriptions: list[SubscriptionView]) -> SubscriptionView | None:
    """The subscription that has not ended (newest first, as the store lists them)."""
    return next((s for s in subscriptions if s.status != "ended"), None)


def _plan_page(
    request: Request,
    customer: CustomerSession,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: str | None = None,
    order_id: str | None = None,
) -> Response:
    engine = engine_of(request)
    catalog = engine.catalog
    account_id = customer.account.id
    current = current_of(engine.subscriptions(account_id))
    live = current if current is not None and current.status in LIVE else None
    plan = catalog.plan(live.plan) if live else None
    entitlements = engine.entitlements(account_id)
    ends = local(live.current_period_end, catalog.site.timezone, "date") if live else ""
    message = DONE.get(done or "")
    if done == "upgraded" and order_id:
        message = _upgraded(engine, customer, order_id)
    return show(
        request,
        "plan.html",
        current="plan",
        status=status,
        subscription=live,
        waiting=current if current is not None and current.status == "incomplete" else None,
        plan=plan,
        price=price_of(catalog, plan, live.interval) if plan and live else None,
        scheduled_plan=(
            catalog.plan(live.scheduled_change.plan) if live and live.scheduled_change else None
        ),
        scheduled_price=_scheduled_price(catalog, live),
        allowances=allowances(entitlements, catalog.site.timezone),
        consequences=consequences(catalog, plan, entitlements, ends) if plan else None,
        ends=ends,
        offers=offers(catalog),
        intervals=INTERVALS,
        downgrades=catalog.subscriptions.downgrade if catalog.subscriptions else "at_period_end",
        errors=errors or {},
        values=values or {},
        done=message,
    )


def _scheduled_price(catalog: Catalog, live: SubscriptionView | None) -> Money | None:
    change = live.scheduled_change if live else None
    target = catalog.plan(change.plan) if change else None
    return price_of(catalog, target, change.interval) if change and target else None


def _upgraded(engine: Engine, customer: CustomerSession, order_id: str) -> str:
    """The banner after an upgrade: what its order charged and granted, read from the order."""
    order = engine.order(order_id)
    owned(order.account_id, customer, "order")
    granted = sum(item.credits for item in order.items)
    paid = "charged" if order.status == "paid" else order.status.replace("_", " ")
    return f"Your plan is upgraded. Order {order.id}: {money(order.total)} {paid}" + (
        f", and {granted:,} credits added to your balance." if granted else "."
    )


@router.get("/plan")
async def plan_page(
    request: Request, customer: Member, done: str | None = None, order: str | None = None
) -> Response:
    return await run_in_threadpool(lambda: _plan_page(request, customer, done=done, order_id=order))


def _subscription(engine: Engine, customer: CustomerSession, form: FormData) -> SubscriptionView:
    """The form's subscription, if it is the session account's (404 otherwise)."""
    subscription_id = text(form, "subscription")
    if not subscription_id:
        raise InvalidRequest("The form names no subscription; reload the page.", field="form")
    found = engine.subscription(subscription_id)
    owned(found.account_id, customer, "subscription")
    return found


def _choice(form: FormData) -> dict[str, str]:
    return {"plan": text(form, "plan"), "interval": text(form, "interval")}


def _status(error: CreditflowError) -> int:
    if isinstance(error, InvalidRequest):
        return 422
    if isinstance(error, PaymentDeclined):
        return 402
    return 409


def _refused_page(
    request: Request,
    customer: CustomerSession,
    refused: CreditflowError,
    values: dict[str, str],
    form: str = "change",
) -> Response:
    """The plan page again, the refusal beside the field it concerns (above the form when it
    names none)."""
    found = {**problems(refused), **_in_words(refused, engine_of(request).catalog, values)}
    errors = {f"{form}_{k}" if k == "form" else k: v for k, v in found.items()}
    return _plan_page(request, customer, status=_status(refused), errors=errors, values=values)


def _in_words(refused: CreditflowError, catalog: Catalog, values: dict[str, str]) -> dict[str, str]:
    """The engine's refusals that name ids and codes, said to the member instead."""
    chosen = catalog.plan(values.get("plan", ""))
    if isinstance(refused, PaymentDeclined):
        charge = refused.details.get("charge")
        amount = f" of {money(charge)}" if isinstance(charge, Money) else ""
        return {"form": f"The payment{amount} was declined, so nothing has changed."}
    if refused.code == "same_plan":
        every = values.get("interval") or "month"
        name = chosen.name if chosen else "this plan"
        return {"form": f"You are on {name}, billed every {every}, already: choose another."}
    if refused.code == "already_subscribed":
        return {"form": "You have a plan already: change it from this page instead."}
    if refused.code == "subscription_not_active":
        return {"form": "Your plan is not active: pay the renewal before changing it."}
    field = refused.details.get("field") if isinstance(refused, InvalidRequest) else None
    if field == "plan" and values.get("plan"):
        return {"plan": f"There is no plan {values['plan']!r}: choose one of those shown."}
    if field == "interval" and values.get("interval") not in ("month", "year"):
        return {"interval": "Choose every month or every year."}
    return {}


def _review_page(
    request: Request,
    customer: CustomerSession,
    before: SubscriptionView,
    choice: dict[str, str],
    *,
    outdated: bool = False,
) -> Response:
    """The preview of a change, or the catalog's refusal of a downgrade explained."""
    engine = engine_of(request)
    catalog = engine.catalog
    zone = catalog.site.timezone
    current = catalog.plan(before.plan)
    target = catalog.plan(choice["plan"] or before.plan)
    interval = choice["interval"] or before.interval
    context: dict[str, Any] = {
        "before": before,
        "current_plan": current,
        "target": target,
        "interval": interval,
        "current_price": price_of(catalog, current, before.interval) if current else None,
        "target_price": price_of(catalog, target, interval) if target else None,
        "ends": local(before.current_period_end, zone, "date"),
        "outdated": outdated,
        "choice": choice,
    }
    try:
        change = engine.portal.preview_plan_change(
            before.id, plan=choice["plan"] or None, interval=choice["interval"] or None
        )
    except Conflict as refused:
        if refused.code != "downgrade_not_allowed":
            raise
        return show(
            request,
            "confirm_plan.html",
            current="plan",
            status=409,
            change=None,
            refusal=refused.message,
            **context,
        )
    charged = catalog.plan(change.subscription.plan)
    return show(
        request,
        "confirm_plan.html",
        current="plan",
        change=change,
        charged_price=price_of(catalog, charged, change.subscription.interval) if charged else None,
        refusal=None,
        gains=_gains(catalog, current, target, engine.entitlements(customer.account.id))
        if change.proration
        else [],
        **context,
    )


def _gains(
    catalog: Catalog, current: Plan | None, target: Plan | None, now: EntitlementsView
) -> list[str]:
    """An upgrade's entitlements, which apply at once (rule 10): the ones that grow, and the free
    trainings left this month (rule 17: the new number less those already used)."""
    if current is None or target is None or current.code == target.code:
        return []
    old, new = current.entitlements, target.entitlements
    gains = []
    if new.max_loras_per_generation > old.max_loras_per_generation:
        gains.append(
            f"Up to {new.max_loras_per_generation:,} LoRAs per generation "
            f"(now {old.max_loras_per_generation:,})."
        )
    for limit, many in (("private_models", "private models"), ("private_loras", "private LoRAs")):
        if getattr(new, limit) > getattr(old, limit):
            gains.append(f"Room for {getattr(new, limit):,} {many} (now {getattr(old, limit):,}).")
    trainings = now.features.get("free_lora_trainings")
    if new.free_lora_trainings_per_month > old.free_lora_trainings_per_month:
        used = trainings.used or 0 if trainings else 0
        left = max(new.free_lora_trainings_per_month - used, 0)
        gains.append(
            f"{count(left, 'free LoRA training')} left this month"
            + (
                f" ({new.free_lora_trainings_per_month:,} a month, less the {used:,} used)."
                if used
                else "."
            )
        )
    for switch, words in (
        ("gif_avatar", "A GIF profile picture."),
        ("profile_banner", "A profile banner."),
        ("member_badge", "The member badge."),
    ):
        if getattr(new, switch) and not getattr(old, switch):
            gains.append(words)
    return gains


@router.post("/plan/review")
async def review_change(request: Request, customer: Member) -> Response:
    form = await checked_form(request, customer)
    engine = engine_of(request)
    choice = _choice(form)

    def review() -> Response:
        before = _subscription(engine, customer, form)
        try:
            if not choice["plan"] and not choice["interval"]:
                raise InvalidRequest("Choose the plan to change to.", field="plan")
            return _review_page(request, customer, before, choice)
        except (InvalidRequest, Conflict, PaymentDeclined) as refused:
            return _refused_page(request, customer, refused, choice)

    return await run_in_threadpool(review)


def _shown(form: FormData, name: str) -> int | None:
    """A number the preview put in its confirmation form (absent for a change that waits)."""
    value = text(form, name)
    if not value:
        return None
    if not value.isdecimal():
        raise InvalidRequest("This confirmation is damaged; review the change again.", field="form")
    return int(value)


@router.post("/plan/change")
async def change(request: Request, customer: Member) -> Response:
    form = await checked_form(request, customer)
    engine = engine_of(request)
    choice = _choice(form)

    def make() -> Response:
        before = _subscription(engine, customer, form)
        try:
            made = engine.portal.change_plan_as_shown(
                before.id,
                plan=choice["plan"] or None,
                interval=choice["interval"] or None,
                charge=_shown(form, "charge"),
                credits=_shown(form, "credits"),
                idempotency_key=customer.idempotency_key(text(form, "form_id")),
            )
        except Conflict as refused:
            if refused.code == "preview_outdated":
                return _review_page(request, customer, before, choice, outdated=True)
            return _refused_page(request, customer, refused, choice)
        except (InvalidRequest, PaymentDeclined) as refused:
            return _refused_page(request, customer, refused, choice)
        return _after_change(request, engine, made)

    return await run_in_threadpool(make)


def _after_change(request: Request, engine: Engine, made: PlanChangeView) -> Response:
    if made.order_id is None:
        return redirect("/portal/plan?done=scheduled")
    order = engine.order(made.order_id)
    if order.status == "paid":
        return redirect(f"/portal/plan?done=upgraded&order={order.id}")
    return _pay_page(request, order)


def _pay_page(request: Request, order: OrderView) -> Response:
    """A hosted provider's checkout, reached by a plain link: a form may only post here."""
    return show(request, "plan_pay.html", current="plan", order=order)


@router.post("/plan/subscribe")
async def subscribe(request: Request, customer: Member) -> Response:
    form = await checked_form(request, customer)
    engine = engine_of(request)
    choice = _choice(form)
    base = str(request.base_url).rstrip("/")

    def start() -> Response:
        try:
            if not choice["plan"]:
                raise InvalidRequest("Choose a plan.", field="plan")
            if not choice["interval"]:
                raise InvalidRequest("Choose how often to pay.", field="interval")
            made = engine.subscribe(
                customer.account.id,
                plan=choice["plan"],
                interval=choice["interval"],
                provider=engine.portal.provider,
                success_url=f"{base}/portal/plan?done=subscribed",
                cancel_url=f"{base}/portal/plan",
                idempotency_key=customer.idempotency_key(text(form, "form_id")),
            )
        except (InvalidRequest, Conflict, PaymentDeclined) as refused:
            return _refused_page(request, customer, refused, choice, form="subscribe")
        if made.status in LIVE:
            return redirect("/portal/plan?done=subscribed")
        if made.order_id is None:
            return redirect("/portal/plan")
        order = engine.order(made.order_id)
        if order.status == "failed":
            declined = PaymentDeclined("declined", charge=order.total)
            return _refused_page(request, customer, declined, choice, form="subscribe")
        return _pay_page(request, order)

    return await run_in_threadpool(start)


def _cancel_page(
    request: Request, customer: CustomerSession, subscription: SubscriptionView, action: str
) -> Response:
    engine = engine_of(request)
    catalog = engine.catalog
    plan = catalog.plan(subscription.plan)
    ends = local(subscription.current_period_end, catalog.site.timezone, "date")
    entitlements = engine.entitlements(customer.account.id)
    return show(
        request,
        "plan_cancel.html",
        current="plan",
        action=action,
        subscription=subscription,
        plan=plan,
        price=price_of(catalog, plan, subscription.interval) if plan else None,
        ends=ends,
        consequences=consequences(catalog, plan, entitlements, ends) if plan else None,
    )


def _live(subscription: SubscriptionView, verb: str) -> None:
    if subscription.status not in LIVE:
        raise Conflict(
            f"This subscription is {subscription.status.replace('_', ' ')}; it cannot be {verb}.",
            code="subscription_not_active",
        )


@router.post("/plan/cancel/review")
async def review_cancel(request: Request, customer: Member) -> Response:
    return await _review_action(request, customer, "cancel")


@router.post("/plan/resume/review")
async def review_resume(request: Request, customer: Member) -> Response:
    return await _review_action(request, customer, "resume")


async def _review_action(request: Request, customer: CustomerSession, action: str) -> Response:
    form = await checked_form(request, customer)
    engine = engine_of(request)

    def review() -> Response:
        subscription = _subscription(engine, customer, form)
        _live(subscription, "cancelled" if action == "cancel" else "resumed")
        if subscription.cancel_at_period_end == (action == "cancel"):
            return redirect("/portal/plan")  # already as asked: nothing to confirm
        return _cancel_page(request, customer, subscription, action)

    return await run_in_threadpool(review)


@router.post("/plan/cancel")
async def cancel(request: Request, customer: Member) -> Response:
    form = await checked_form(request, customer)
    engine = engine_of(request)

    def act() -> Response:
        subscription = _subscription(engine, customer, form)
        engine.cancel_subscription(
            subscription.id, idempotency_key=customer.idempotency_key(text(form, "form_id"))
        )
        return redirect("/portal/plan?done=cancelled")

    return await run_in_threadpool(act)


@router.post("/plan/resume")
async def resume(request: Request, customer: Member) -> Response:
    form = await checked_form(request, customer)
    engine = engine_of(request)

    def act() -> Response:
        subscription = _subscription(engine, customer, form)
        engine.resume_subscription(
            subscription.id, idempotency_key=customer.idempotency_key(text(form, "form_id"))
        )
        return redirect("/portal/plan?done=resumed")

    return await run_in_threadpool(act)
