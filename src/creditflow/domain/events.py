"""The kinds of event a site can be told of, by webhook or by reading `GET /v1/events`.

Each event carries the object it is about as the API answered it at that moment.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_SUSPENDED = "account.suspended"
    """A chargeback was opened (or lost): spending is refused."""
    ACCOUNT_REINSTATED = "account.reinstated"
    CREDITS_GRANTED = "credits.granted"
    """A grant was made (a pack, a plan's cycle, a daily claim, support): the grant."""
    CREDITS_LOW = "credits.low"
    """Available credits fell below the low-balance threshold: the balance. Once per fall."""
    CREDITS_EXPIRING = "credits.expiring"
    """A grant with credits left expires within three days: the grant."""
    CREDITS_EXPIRED = "credits.expired"
    CREDITS_REVOKED = "credits.revoked"
    """A grant's credits were taken back (a refund, a chargeback): the grant."""
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_UPDATED = "subscription.updated"
    """Activated, cancelled or resumed, its plan or interval changed or scheduled to."""
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_PAST_DUE = "subscription.past_due"
    SUBSCRIPTION_ENDED = "subscription.ended"
    ENTITLEMENTS_CHANGED = "entitlements.changed"
    """The account's plan changed, so its limits and switches did: the entitlements."""
    ORDER_PAID = "order.paid"
    ORDER_REFUNDED = "order.refunded"
    """Money went back for the order, all or part of it: the order."""
    INVOICE_CREATED = "invoice.created"
    CREDIT_NOTE_CREATED = "credit_note.created"
    """A credit note was issued for money given back: the invoice, with its credit notes."""
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    REFUND_REQUEST_CREATED = "refund_request.created"
    REFUND_REQUEST_DECIDED = "refund_request.decided"
    DISPUTE_OPENED = "dispute.opened"
    DISPUTE_CLOSED = "dispute.closed"


EVENT_TYPES = tuple(t.value for t in EventType)
