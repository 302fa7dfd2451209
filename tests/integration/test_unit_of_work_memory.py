"""What a unit of work keeps in memory instead of reading again reads as the database would.

A renewal reads its subscription, and its new order's payments, refunds, invoice and credit
notes, several times in one transaction; the repositories answer those from what the
transaction itself wrote. These tests compare each answer with a read of the committed rows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from creditflow.domain.documents import Document, Party, TaxBreakdown
from creditflow.engine import Engine
from creditflow.ids import new_id
from creditflow.services.credits import grant_credits, grant_view
from creditflow.store.documents import StoredDocument
from creditflow.store.orders import OrderRecord, PaymentRecord
from creditflow.store.refunds import RefundRecord
from creditflow.store.uow import UnitOfWork
from tests.factories import make_account

AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _order(account_id: str) -> OrderRecord:
    return OrderRecord(
        id=new_id("ord"),
        account_id=account_id,
        kind="pack",
        status="pending",
        currency="USD",
        total=900,
        provider="test",
        provider_ref=None,
        checkout_url=None,
        subscription_id=None,
        channel=None,
        created_at=AT,
        paid_at=None,
    )


def _payment(order_id: str, n: int) -> PaymentRecord:
    return PaymentRecord(
        id=new_id("pay"),
        order_id=order_id,
        provider="test",
        provider_payment_id=f"pi_{order_id}_{n}",
        amount=900,
        status="succeeded",
        duplicate=n > 0,
        created_at=AT + timedelta(seconds=n),
    )


def _refund(order_id: str, status: str) -> RefundRecord:
    return RefundRecord(
        id=new_id("ref"),
        order_id=order_id,
        provider="test",
        provider_refund_id=None,
        provider_payment_id=None,
        amount=300,
        status=status,
        reason="asked",
        created_at=AT,
        updated_at=AT,
    )


def _an_order_and_its_refund(engine: Engine) -> tuple[OrderRecord, RefundRecord]:
    order = _order(make_account(engine).id)
    return order, _refund(order.id, "pending")


def _credit_note(order_id: str) -> Document:
    return Document(
        kind="credit_note",
        number=f"CN-{order_id}",
        issued_at=AT,
        currency="USD",
        currency_exponent=2,
        seller=Party(name="Site"),
        buyer=Party(name="Member"),
        lines=(),
        tax=TaxBreakdown(net=300, tax=0, total=300, rate=Decimal("0"), inclusive=True),
        order_id=order_id,
        payment_provider="test",
    )


def _children(uow: UnitOfWork, order_id: str) -> tuple[object, ...]:
    return (
        uow.orders.payments(order_id),
        uow.refunds.of_order(order_id),
        uow.documents.invoice_of_order(order_id),
        [(d.number, d.order_id, d.issued_at, d.pdf_sha256) for d in _notes(uow, order_id)],
    )


def _notes(uow: UnitOfWork, order_id: str) -> list[StoredDocument]:
    return uow.documents.credit_notes_of_order(order_id)


def test_a_new_orders_payments_refunds_and_documents_read_in_its_transaction_as_committed(
    engine: Engine,
) -> None:
    order, refund = _an_order_and_its_refund(engine)
    with engine.context.writing() as uow:
        uow.orders.add(order, [])
        assert _children(uow, order.id) == ([], [], None, [])
        uow.orders.add_payment(_payment(order.id, 1))
        uow.orders.add_payment(_payment(order.id, 0))  # earlier, written later
        assert not uow.orders.add_payment(_payment(order.id, 0))  # the same payment again
        uow.refunds.add(refund)
        uow.documents.add_credit_note(_credit_note(order.id), refund_id=refund.id, amount=300)
        seen = _children(uow, order.id)
        uow.commit()
    with engine.context.reading() as uow:
        assert _children(uow, order.id) == seen
    payments, refunds, _, notes = seen
    assert [p.duplicate for p in payments] == [False, True]  # type: ignore[attr-defined]
    assert refunds == [refund]
    assert notes == [(f"CN-{order.id}", order.id, AT, None)]


def test_a_refund_changed_in_the_transaction_that_made_its_order_reads_changed(
    engine: Engine,
) -> None:
    order, refund = _an_order_and_its_refund(engine)
    with engine.context.writing() as uow:
        uow.orders.add(order, [])
        uow.refunds.add(refund)
        uow.refunds.update(refund.id, now=AT + timedelta(minutes=1), status="succeeded")
        assert [r.status for r in uow.refunds.of_order(order.id)] == ["succeeded"]
        uow.documents.add_credit_note(_credit_note(order.id), refund_id=refund.id, amount=300)
        uow.documents.keep_pdf("credit_note", f"CN-{order.id}", "ab" * 32)
        assert [d.pdf_sha256 for d in _notes(uow, order.id)] == ["ab" * 32]
        uow.commit()


def test_a_subscription_saved_in_a_transaction_reads_back_as_saved_in_it(
    engine: Engine,
) -> None:
    account = make_account(engine)
    plan = engine.catalog.plans[0].code
    subscription = engine.subscribe(account.id, plan=plan, interval="month")
    with engine.context.writing() as uow:
        record = uow.subscriptions.get(subscription.id)
        assert record is not None
        changed = replace(record, cancel_at_period_end=True, retries=2)
        uow.subscriptions.save(changed)
        assert uow.subscriptions.get(subscription.id) == changed
        uow.commit()
    with engine.context.reading() as uow:
        assert uow.subscriptions.get(subscription.id) == changed


def test_invoice_numbers_count_on_from_one_in_each_new_year(engine: Engine) -> None:
    with engine.context.writing() as uow:
        numbers = [uow.documents.next_number("invoice", 2031) for _ in range(3)]
        other_year = uow.documents.next_number("invoice", 2032)
        uow.commit()
    assert numbers == [1, 2, 3]
    assert other_year == 1


def test_a_grants_view_is_what_its_row_reads_back_as(engine: Engine) -> None:
    account = make_account(engine)
    paris = datetime(2027, 1, 1, 9, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    with engine.context.writing() as uow:
        made = grant_credits(
            uow,
            catalog=engine.catalog,
            now=engine.clock.now(),
            account_id=account.id,
            credits=700,
            kind="promo",
            reason="bonus",
            expires_at=paris,
            source_type="order",
            source_id="ord_x",
        )
        uow.commit()
    with engine.context.reading() as uow:
        stored = uow.ledger.grant(made.id)
    assert stored is not None
    assert made == grant_view(stored)
    assert made.model_dump_json() == grant_view(stored).model_dump_json()
