"""What a refund decision, or an order's refund, will do, before anyone confirms it.

Found by doing it, in a transaction that is then rolled back: the same code as the real thing
(with the provider's confirmation supposed), so the confirmation page can say exactly how much
goes back through which provider, how many credits are taken back, and whether the plan ends,
and a request the real thing would refuse is refused here with the same error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditflow.domain.catalog import Catalog
from creditflow.domain.kinds import EntryType
from creditflow.services.money_back import finish_refund, start_refund
from creditflow.services.refund_requests import decide_request
from creditflow.services.views import Money
from creditflow.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Effects:
    refund: Money | None
    """Money that goes back, and through which provider."""
    provider: str | None
    credits_revoked: int
    """Credits the order still held that are taken back (held credits of running jobs stay)."""
    credits_granted: int
    """Replacement credits given."""
    plans_ended: list[str]
    """Plans that end at once."""
    plans_changed: list[tuple[str, str]]
    """Plans put back to the one an upgrade came from: (from, to)."""
    order_status: str | None
    """The order's status once the money is back."""


def decision_effects(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    request_id: str,
    outcome: str,
    note: str,
    amount: int | None,
    credits: int | None,
    decided_by: str,
) -> Effects:
    request = uow.refund_requests.get(request_id)
    account_id = request.account_id if request else ""
    before = _plans(uow, account_id)
    decided = decide_request(
        uow,
        catalog=catalog,
        now=now,
        request_id=request_id,
        outcome=outcome,
        note=note or "(preview)",
        decided_by=decided_by,
        amount=amount,
        credits=credits,
    )
    if decided.refund_id is not None:
        finish_refund(
            uow,
            catalog=catalog,
            refund_id=decided.refund_id,
            provider_refund_id=None,
            status="succeeded",
            now=now,
        )
    return _effects(uow, account_id, before, decided.refund_id, decided.order_id)


def refund_effects(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    order_id: str,
    amount: int | None,
    reason: str,
) -> Effects:
    order = uow.orders.get(order_id)
    account_id = order.account_id if order else ""
    before = _plans(uow, account_id)
    refund = start_refund(uow, order_id=order_id, amount=amount, reason=reason, now=now)
    finish_refund(
        uow,
        catalog=catalog,
        refund_id=refund.id,
        provider_refund_id=None,
        status="succeeded",
        now=now,
    )
    return _effects(uow, account_id, before, refund.id, order_id)


def _plans(uow: UnitOfWork, account_id: str) -> dict[str, tuple[str, str]]:
    return {s.id: (s.status, s.plan) for s in uow.subscriptions.of_account(account_id)}


def _effects(
    uow: UnitOfWork,
    account_id: str,
    before: dict[str, tuple[str, str]],
    refund_id: str | None,
    order_id: str,
) -> Effects:
    refund = uow.refunds.get(refund_id) if refund_id else None
    order = uow.orders.get(order_id)
    after = _plans(uow, account_id)
    ended = [s for s, (status, _) in after.items() if status == "ended" != before[s][0]]
    changed = [
        (before[s][1], plan)
        for s, (status, plan) in after.items()
        if status != "ended" and plan != before[s][1]
    ]
    return Effects(
        refund=Money(amount=refund.amount, currency=order.currency) if refund and order else None,
        provider=refund.provider if refund else None,
        credits_revoked=sum(t.amount for t in uow.posted if t.type is EntryType.REVOKE),
        credits_granted=sum(t.amount for t in uow.posted if t.type is EntryType.GRANT),
        plans_ended=ended,
        plans_changed=changed,
        order_status=order.status if order else None,
    )
