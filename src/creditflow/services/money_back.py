"""Money going back: refunds started by us or reported by a provider, and what they change.

The refunded amount of an order is recomputed from its refund records every time, never added
up event by event, so a refund reported twice, or reported before its payment, or as Stripe's
running total beside its single refunds, counts once. Every increase gets a credit note.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import Conflict, InvalidRequest, NotFound
from creditflow.domain.events import EventType
from creditflow.ids import new_id
from creditflow.payments.events import RefundRequest
from creditflow.services import notices, provider_calls
from creditflow.services.accounts import reinstate, suspend
from creditflow.services.credit_usage import order_grants
from creditflow.services.credits import revoke_grants
from creditflow.services.documents import issue_credit_note
from creditflow.services.events import emit
from creditflow.services.orders import order_view, refund_view_of
from creditflow.services.subscriptions import end_plan_now, undo_upgrade
from creditflow.services.views import RefundView
from creditflow.store.orders import OrderRecord
from creditflow.store.provider_calls import ProviderCallRecord
from creditflow.store.refunds import FINAL, RUNNING_TOTAL, RefundRecord
from creditflow.store.uow import UnitOfWork


def record_refund(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    order: OrderRecord,
    provider: str,
    provider_refund_id: str,
    provider_payment_id: str | None,
    amount: int,
    status: str,
    now: datetime,
) -> None:
    """One refund reported by a provider; its status only moves forward to a final one."""
    existing = uow.refunds.by_provider_ref(provider, provider_refund_id)
    if existing is None:
        uow.refunds.add(
            RefundRecord(
                id=new_id("rfn"),
                order_id=order.id,
                provider=provider,
                provider_refund_id=provider_refund_id,
                provider_payment_id=provider_payment_id,
                amount=amount,
                status=status,
                reason=None,
                created_at=now,
                updated_at=now,
            )
        )
    elif existing.status not in FINAL:
        uow.refunds.update(existing.id, now=now, status=status, amount=amount)
    settle_order_status(uow, catalog=catalog, order_id=order.id, now=now)


def record_refunded_total(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    order: OrderRecord,
    provider: str,
    provider_payment_id: str,
    total: int,
    now: datetime,
) -> None:
    """A running total of what a payment has had refunded (Stripe's `amount_refunded`)."""
    key = f"{RUNNING_TOTAL}{provider_payment_id}"
    existing = uow.refunds.by_provider_ref(provider, key)
    if existing is None and total > 0:
        uow.refunds.add(
            RefundRecord(
                id=new_id("rfn"),
                order_id=order.id,
                provider=provider,
                provider_refund_id=key,
                provider_payment_id=provider_payment_id,
                amount=total,
                status="succeeded",
                reason=None,
                created_at=now,
                updated_at=now,
            )
        )
    elif existing is not None and total > existing.amount:
        uow.refunds.update(existing.id, now=now, amount=total)
    settle_order_status(uow, catalog=catalog, order_id=order.id, now=now)


def refunded_amount(records: list[RefundRecord]) -> int:
    """What has gone back for an order: per payment, the larger of the provider's running
    total and the sum of its single succeeded refunds (the two describe the same money)."""
    totals: dict[str | None, int] = {}
    singles: dict[str | None, int] = {}
    for record in records:
        if record.status != "succeeded":
            continue
        if (record.provider_refund_id or "").startswith(RUNNING_TOTAL):
            totals[record.provider_payment_id] = max(
                totals.get(record.provider_payment_id, 0), record.amount
            )
        else:
            singles[record.provider_payment_id] = (
                singles.get(record.provider_payment_id, 0) + record.amount
            )
    payments = set(totals) | set(singles)
    return sum(max(totals.get(p, 0), singles.get(p, 0)) for p in payments)


def settle_order_status(
    uow: UnitOfWork, *, catalog: Catalog, order_id: str, now: datetime
) -> OrderRecord:
    """Bring an order, its credits and its account in line with everything known of it.

    A function of the facts, not of their order: disputed while a chargeback is open; refunded
    when everything went back (duplicate charges first) or a chargeback was lost;
    partially_refunded when some did; paid otherwise. An order disputed, or refunded, keeps no
    credits, and one refunded in full gives back what else it gave (`take_back_order`); an
    account with a chargeback open or lost is suspended. Every increase of the money given back
    gets a credit note.
    """
    order = uow.orders.get(order_id, for_update=True)
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.", order_id=order_id)
    records = uow.refunds.of_order(order.id)
    refunded = refunded_amount(records)
    money_went_back = _credit_note_for_new_refunds(uow, catalog, order, records, refunded, now)
    disputes = uow.disputes.of_order(order.id)
    paid = sum(p.amount for p in uow.orders.payments(order.id) if p.status == "succeeded")
    # Money back first covers duplicate charges (rule 22); only the rest un-pays the order.
    refunded = max(refunded - max(paid - order.total, 0), 0)
    open_dispute = next((d for d in disputes if d.status == "open"), None)
    if order.paid_at is None:
        status = order.status
    elif open_dispute is not None:
        status = "disputed"
    elif any(d.status == "lost" for d in disputes) or refunded >= order.total > 0:
        status = "refunded"
    elif refunded > 0:
        status = "partially_refunded"
    else:
        status = "paid"
    if status != order.status:
        uow.orders.set_status(order.id, status=status, paid_at=order.paid_at)
    if status == "refunded" and refunded >= order.total > 0:
        take_back_order(uow, order, catalog=catalog, reason=f"order {order.id} refunded", now=now)
    elif status in ("disputed", "refunded"):  # a chargeback open, or lost
        revoked = revoke_order_credits(uow, order, reason=f"order {order.id} {status}", now=now)
        if revoked and open_dispute is not None:
            uow.disputes.add_revoked(open_dispute.id, revoked)
    _settle_account(uow, order.account_id, now)
    settled = uow.orders.get(order.id)
    assert settled is not None
    if money_went_back:
        emit(
            uow,
            EventType.ORDER_REFUNDED,
            account_id=order.account_id,
            obj=order_view(uow, order.id),
            now=now,
        )
    return settled


def take_back_order(
    uow: UnitOfWork, order: OrderRecord, *, catalog: Catalog, reason: str, now: datetime
) -> None:
    """What a refunded order gave is taken back, whichever way the refund came (rule 24).

    A pack's or add-on's credits that are left; a plan's first or renewal order ends the plan
    at once with the period's credits (source 003); an upgrade's order puts the plan it came
    from back for the rest of the period and takes the upgrade's credits. Safe to repeat.
    """
    if order.kind == "upgrade":
        undo_upgrade(uow, catalog=catalog, order=order, reason=reason, now=now)
        return
    revoke_order_credits(uow, order, reason=reason, now=now)
    if order.kind in ("subscription", "renewal") and order.subscription_id:
        end_plan_now(uow, catalog=catalog, subscription_id=order.subscription_id, now=now)


def revoke_order_credits(uow: UnitOfWork, order: OrderRecord, *, reason: str, now: datetime) -> int:
    """What the order's grants still hold goes back: a pack's, or the period's plan credits."""
    return revoke_grants(
        uow,
        account_id=order.account_id,
        grant_ids={g.id for g in order_grants(uow, order)},
        reason=reason,
        reference=order.id,
        now=now,
    )


def _settle_account(uow: UnitOfWork, account_id: str, now: datetime) -> None:
    """Suspended while a chargeback of the account is open or was lost (source 001)."""
    account = uow.accounts.get(account_id)
    if account is None:
        return
    disputes = uow.disputes.of_account(account_id)
    charged_back = any(d.status in ("open", "lost") for d in disputes)
    if charged_back and account.status == "active":
        suspend(uow, account_id=account_id, why="chargeback", now=now)
        first = next(d for d in disputes if d.status in ("open", "lost"))
        notices.account_suspended(uow, account_id=account_id, order_id=first.order_id, now=now)
    elif (
        disputes
        and not charged_back
        and account.status == "suspended"
        and uow.accounts.suspension(account_id) == "chargeback"  # not one support decided
    ):
        reinstate(uow, account_id=account_id, now=now)


def _credit_note_for_new_refunds(
    uow: UnitOfWork,
    catalog: Catalog,
    order: OrderRecord,
    records: list[RefundRecord],
    refunded: int,
    now: datetime,
) -> bool:
    """A credit note for what went back since the last one; True if anything did."""
    credited = uow.documents.credited(order.id)
    if refunded <= credited or order.paid_at is None:
        return False
    latest = max((r for r in records if r.status == "succeeded"), key=lambda r: r.updated_at)
    issue_credit_note(
        uow,
        catalog=catalog,
        order=order,
        refund_id=f"{order.id}:{refunded}",
        amount=refunded - credited,
        now=now,
        payment_reference=latest.provider_refund_id,
        note=latest.reason,
    )
    return True


def start_refund(
    uow: UnitOfWork, *, order_id: str, amount: int | None, reason: str, now: datetime
) -> RefundRecord:
    """A refund we ask the provider for: recorded `pending`, with its provider call, in the
    caller's transaction; the call is made after the commit (services.provider_calls).

    The provider's idempotency key is derived from the refund's id, so no retry of the call can
    refund twice. No refund while a chargeback is open, nor after one was lost (rule 23).
    """
    order = uow.orders.get(order_id, for_update=True)
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.", order_id=order_id)
    if order.paid_at is None:
        raise Conflict(
            f"Order {order.id} is not paid; there is nothing to refund.", code="order_not_paid"
        )
    _refuse_if_charged_back(uow, order)
    records = uow.refunds.of_order(order.id)
    given = refunded_amount(records) + sum(r.amount for r in records if r.status == "pending")
    payments = [p for p in uow.orders.payments(order.id) if p.status == "succeeded"]
    paid = sum(p.amount for p in payments)
    refundable = paid - given
    amount = refundable if amount is None else amount
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= refundable:
        raise InvalidRequest(
            f"A refund of order {order.id} must be from 1 to {refundable} minor units "
            f"({paid} paid, {given} refunded or being refunded).",
            field="amount",
            refundable=refundable,
        )
    # Refund the most recent payment first: a duplicate charge is the one to give back.
    payment = payments[-1]
    record = RefundRecord(
        id=new_id("rfn"),
        order_id=order.id,
        provider=order.provider,
        provider_refund_id=None,
        provider_payment_id=payment.provider_payment_id,
        amount=amount,
        status="pending",
        reason=reason,
        created_at=now,
        updated_at=now,
    )
    uow.refunds.add(record)
    provider_calls.record_refund(
        uow,
        refund_id=record.id,
        provider=order.provider,
        request=RefundRequest(
            order_id=order.id,
            payment_id=payment.provider_payment_id,
            amount=amount,
            currency=order.currency,
            reason=reason,
            idempotency_key=f"refund-{record.id}",
        ),
        now=now,
    )
    return record


def _refuse_if_charged_back(uow: UnitOfWork, order: OrderRecord) -> None:
    """The chargeback already takes the money back (rule 23; Stripe: `charge_disputed`)."""
    for dispute in uow.disputes.of_order(order.id):
        if dispute.status == "open":
            raise Conflict(
                f"Order {order.id} has an open chargeback ({dispute.id}): the bank is already "
                "taking the money back, so it cannot be refunded until the dispute is closed.",
                code="order_disputed",
                dispute_id=dispute.id,
            )
        if dispute.status == "lost":
            raise Conflict(
                f"Order {order.id} lost its chargeback ({dispute.id}): the bank gave the money "
                "back, so nothing of that payment is left to refund.",
                code="order_disputed",
                dispute_id=dispute.id,
            )


def finish_refund(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    refund_id: str,
    provider_refund_id: str | None,
    status: str,
    now: datetime,
) -> RefundRecord:
    """The provider's answer to a refund we asked for."""
    record = uow.refunds.get(refund_id)
    if record is None:
        raise NotFound(f"No refund with id {refund_id!r}.", refund_id=refund_id)
    if provider_refund_id is not None:
        known = uow.refunds.by_provider_ref(record.provider, provider_refund_id)
        if known is not None and known.id != record.id:
            # Its webhook arrived first and made a record of its own: keep that one.
            uow.refunds.update(record.id, now=now, status="failed")
            settle_order_status(uow, catalog=catalog, order_id=record.order_id, now=now)
            return known
    if record.status not in FINAL:
        uow.refunds.update(record.id, now=now, status=status, provider_refund_id=provider_refund_id)
    settle_order_status(uow, catalog=catalog, order_id=record.order_id, now=now)
    finished = uow.refunds.get(record.id)
    assert finished is not None
    return finished


def refund_view(uow: UnitOfWork, refund_id: str) -> RefundView:
    record = uow.refunds.get(refund_id)
    if record is None:
        raise NotFound(f"No refund with id {refund_id!r}.", refund_id=refund_id)
    order = uow.orders.get(record.order_id)
    assert order is not None
    return refund_view_of(record, order.currency)


def _refund_answered(
    uow: UnitOfWork,
    catalog: Catalog,
    call: ProviderCallRecord,
    answer: provider_calls.Answer,
    now: datetime,
) -> None:
    finish_refund(
        uow,
        catalog=catalog,
        refund_id=call.subject_id,
        provider_refund_id=str(answer["provider_refund_id"]),
        status=str(answer["status"]),
        now=now,
    )


def _refund_failed(
    uow: UnitOfWork, catalog: Catalog, call: ProviderCallRecord, now: datetime
) -> None:
    finish_refund(
        uow,
        catalog=catalog,
        refund_id=call.subject_id,
        provider_refund_id=None,
        status="failed",
        now=now,
    )


provider_calls.on_outcome(
    "refund", provider_calls.OutcomeHandlers(succeeded=_refund_answered, failed=_refund_failed)
)
