"""What a unit of work knows in full about the orders it made.

An order made in this transaction had no payments, refunds, invoices or credit notes before
it; every one written since went through a repository that noted it here. So their lists are
known without a read: a renewal's order, invoice and mail views read an order's payments,
refunds, invoice and credit notes four times, for rows the renewal itself has just written.
Any change other than an insert (a refund's status, a document's PDF) makes every list read
from the database again: those are rare, and not worth following here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from creditflow.store.documents import StoredDocument
    from creditflow.store.orders import PaymentRecord
    from creditflow.store.refunds import RefundRecord


@dataclass
class _Children:
    payments: list[PaymentRecord] = field(default_factory=list)
    refunds: list[RefundRecord] = field(default_factory=list)
    credit_notes: list[StoredDocument] = field(default_factory=list)


class FreshOrders:
    def __init__(self) -> None:
        self._orders: dict[str, _Children] = {}

    def made(self, order_id: str) -> None:
        self._orders[order_id] = _Children()

    def forget(self) -> None:
        """After an update this does not follow: read everything afresh from now on."""
        self._orders.clear()

    def knows(self, order_id: str) -> bool:
        return order_id in self._orders

    def payments(self, order_id: str) -> list[PaymentRecord] | None:
        """In `created_at` order, as the repository reads them; None when not known."""
        children = self._orders.get(order_id)
        if children is None:
            return None
        return sorted(children.payments, key=lambda p: p.created_at)

    def refunds(self, order_id: str) -> list[RefundRecord] | None:
        children = self._orders.get(order_id)
        if children is None:
            return None
        return sorted(children.refunds, key=lambda r: (r.created_at, r.id))

    def credit_notes(self, order_id: str) -> list[StoredDocument] | None:
        """In issue order; None when not known."""
        children = self._orders.get(order_id)
        return None if children is None else list(children.credit_notes)

    def add_payment(self, payment: PaymentRecord) -> None:
        children = self._orders.get(payment.order_id)
        if children is not None:
            children.payments.append(payment)

    def add_refund(self, refund: RefundRecord) -> None:
        children = self._orders.get(refund.order_id)
        if children is not None:
            children.refunds.append(refund)

    def add_credit_note(self, note: StoredDocument) -> None:
        children = self._orders.get(note.order_id)
        if children is not None:
            children.credit_notes.append(note)
