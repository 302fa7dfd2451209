"""What a staff member does to an account from the console, each audited with their email.

A refund decision or an order's refund is audited by the use cases that make them; the actions
here are the console's own: credits given, an account suspended or reinstated, a subscription
cancelled or resumed on the customer's behalf.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import Conflict, InvalidRequest
from creditflow.domain.kinds import GrantKind
from creditflow.services.accounts import account_view, reinstate, require_account, suspend
from creditflow.services.credits import grant_credits
from creditflow.services.subscriptions import cancel_subscription, resume_subscription
from creditflow.services.views import AccountView, GrantView, SubscriptionView
from creditflow.store.uow import UnitOfWork

GIVABLE = (GrantKind.REPLACEMENT, GrantKind.PROMO)
"""What support gives by hand: replacement credits (a fault of ours) or promo credits."""


def give_credits(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    actor: str,
    account_id: str,
    credits: int,
    kind: str,
    reason: str,
) -> GrantView:
    if kind not in GIVABLE:
        raise InvalidRequest("Support gives replacement or promo credits.", field="kind")
    reason = reason_given(reason)
    grant = grant_credits(
        uow,
        catalog=catalog,
        now=now,
        account_id=account_id,
        credits=credits,
        kind=kind,
        reason=reason,
        source_type="support",
        source_id=actor,
    )
    _audit(uow, now, actor, "credits_given", account_id, kind=kind, credits=credits, reason=reason)
    return grant


def suspend_account(
    uow: UnitOfWork, *, now: datetime, actor: str, account_id: str, reason: str
) -> AccountView:
    account = require_account(uow, account_id, for_update=True)
    if account.status == "suspended":
        raise Conflict(f"Account {account.id} is suspended already.", code="account_suspended")
    reason = reason_given(reason)
    suspend(uow, account_id=account.id, why="support", now=now)
    _audit(uow, now, actor, "account_suspended", account.id, reason=reason)
    return account_view(require_account(uow, account.id))


def reinstate_account(
    uow: UnitOfWork, *, now: datetime, actor: str, account_id: str, reason: str
) -> AccountView:
    account = require_account(uow, account_id, for_update=True)
    if account.status != "suspended":
        raise Conflict(f"Account {account.id} is not suspended.", code="account_active")
    reason = reason_given(reason)
    reinstate(uow, account_id=account.id, now=now)
    _audit(uow, now, actor, "account_reinstated", account.id, reason=reason)
    return account_view(require_account(uow, account.id))


def cancel_for_customer(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, actor: str, subscription_id: str
) -> SubscriptionView:
    view = cancel_subscription(uow, catalog=catalog, now=now, subscription_id=subscription_id)
    _audit(uow, now, actor, "subscription_cancelled", view.account_id, subscription=view.id)
    return view


def resume_for_customer(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, actor: str, subscription_id: str
) -> SubscriptionView:
    view = resume_subscription(uow, catalog=catalog, now=now, subscription_id=subscription_id)
    _audit(uow, now, actor, "subscription_resumed", view.account_id, subscription=view.id)
    return view


def reason_given(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("Say why: the reason goes to the audit log.", field="reason")
    if len(reason) > 1000:
        raise InvalidRequest("A reason may be at most 1000 characters.", field="reason")
    return reason


def _audit(
    uow: UnitOfWork, now: datetime, actor: str, action: str, subject_id: str, **detail: Any
) -> None:
    uow.refund_requests.audit(
        at=now, actor=actor, action=action, subject_id=subject_id, detail=detail
    )
