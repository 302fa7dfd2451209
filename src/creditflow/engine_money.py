"""The Python API for the money path: provider webhooks, refunds, documents for accountants.

A mixin of `creditflow.Engine`. Calls to a provider's API happen between transactions, never
inside one: a refund is recorded `pending` first, then asked for, then settled.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from creditflow.documents.export import write_documents_csv
from creditflow.domain.errors import (
    InvalidRequest,
    InvalidSignature,
    NotFound,
    ProviderUnavailable,
)
from creditflow.engine_parts import EngineParts
from creditflow.payments.errors import ProviderError
from creditflow.payments.events import (
    CheckoutRequest,
    RefundRequest,
    RefundResult,
    WebhookRejected,
)
from creditflow.services import documents, money_back, webhooks
from creditflow.services.idempotency import IdempotencyKey, fingerprint, recall, remember
from creditflow.services.mail import deliver_due_mail
from creditflow.services.views import OrderView, RefundView, WebhookOutcomeView
from creditflow.store.outbox import OutboxMessage
from creditflow.store.webhooks import WebhookEventRecord

if TYPE_CHECKING:
    from creditflow.jobs.files import FileStore
    from creditflow.mail.transports import MailTransport
    from creditflow.payments.base import ProviderAdapter

log = logging.getLogger(__name__)
DEFAULT_SENDER = "creditflow@localhost"


class MoneyMethods(EngineParts):
    adapters: dict[str, ProviderAdapter]
    mail_transport: MailTransport
    files: FileStore

    def receive_webhook(
        self, provider: str, *, headers: Mapping[str, str], body: bytes
    ) -> WebhookOutcomeView:
        """Verify a provider's delivery against its raw body, then apply each event once."""
        adapter = self.adapters.get(provider)
        if adapter is None:
            raise NotFound(
                f"No webhooks are taken for {provider!r}; configured: "
                f"{', '.join(sorted(self.adapters)) or 'none'}.",
                provider=provider,
            )
        try:
            events = adapter.parse_webhook(headers, body, now=time.time())
        except WebhookRejected as rejected:
            log.warning(
                "rejected %s webhook (event %s): %s", provider, rejected.event_id, rejected.message
            )
            raise InvalidSignature(rejected.message, event_id=rejected.event_id) from None
        payload = body.decode("utf-8", errors="replace")
        outcomes = []
        for event in events:
            outcomes.append(
                self.context.run_plain(
                    lambda uow, event=event: webhooks.receive_event(  # type: ignore[misc]
                        uow,
                        catalog=self.catalog,
                        providers=self.context.providers,
                        event=event,
                        payload=payload,
                        now=self.context.clock.now(),
                    )
                )
            )
        return WebhookOutcomeView(received=[e.event_id for e in events], outcomes=outcomes)

    def unmatched_webhooks(self, provider: str | None = None) -> list[WebhookEventRecord]:
        with self.context.reading() as uow:
            return uow.webhook_events.unmatched(provider)

    def refund_order(
        self,
        order_id: str,
        *,
        amount: int | None = None,
        reason: str = "requested",
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> RefundView:
        """Give money back through the order's provider (all that is left when no amount).

        The refund spans two transactions and a provider call, so its idempotency key is
        checked before and stored after, as the test clock's advance does.
        """
        key = (
            IdempotencyKey(
                key=idempotency_key,
                fingerprint=fingerprint(
                    "refund_order", {"order_id": order_id, "amount": amount, "reason": reason}
                ),
            )
            if isinstance(idempotency_key, str)
            else idempotency_key
        )
        if key is not None:
            with self.context.reading() as uow:
                replay = recall(uow, key, RefundView)
            if replay is not None:
                return replay
        view = self._refund(order_id, amount=amount, reason=reason)
        if key is not None:
            with self.context.writing() as uow:
                remember(uow, key, view, now=self.context.clock.now())
                uow.commit()
        return view

    def _refund(self, order_id: str, *, amount: int | None, reason: str) -> RefundView:
        record = self.context.run_plain(
            lambda uow: money_back.start_refund(
                uow, order_id=order_id, amount=amount, reason=reason, now=self.context.clock.now()
            )
        )
        return self._send_refund(record.id)

    def _send_refund(self, refund_id: str) -> RefundView:
        """Ask the provider for a refund recorded `pending`, then record its answer."""
        with self.context.reading() as uow:
            record = uow.refunds.get(refund_id)
        assert record is not None
        request = RefundRequest(
            order_id=record.order_id,
            payment_id=record.provider_payment_id or "",
            amount=record.amount,
            currency=self.catalog.site.currency,
            reason=record.reason or "requested",
            idempotency_key=f"refund-{record.id}",
        )
        if record.provider == "test":
            result = RefundResult(provider_refund_id=f"test_{record.id}", status="succeeded")
        else:
            adapter = self.adapters.get(record.provider)
            if adapter is None:
                raise InvalidRequest(f"The {record.provider} provider is not configured here.")
            try:
                result = adapter.refund(request)
            except ProviderError as error:
                # Stays pending: asking again with the same refund id cannot refund twice.
                raise ProviderUnavailable(str(error), refund_id=record.id) from None
        finished = self.context.run_plain(
            lambda uow: money_back.finish_refund(
                uow,
                catalog=self.catalog,
                refund_id=record.id,
                provider_refund_id=result.provider_refund_id,
                status=result.status,
                now=self.context.clock.now(),
            )
        )
        return RefundView(
            id=finished.id,
            order_id=finished.order_id,
            amount=finished.amount,
            status=finished.status,
            provider=finished.provider,
            provider_refund_id=finished.provider_refund_id,
        )

    def deliver_mail(self, *, limit: int = 100) -> int:
        """Send the mail that is due (invoices attached); the mail loop calls this."""
        now = self.context.clock.now()
        self.context.run_plain(
            lambda uow: documents.attach_invoices(uow, files=self.files, now=now, limit=limit)
        )
        return deliver_due_mail(
            self.context,
            transport=self.mail_transport,
            files=self.files,
            sender=self.catalog.site.email or DEFAULT_SENDER,
            site_name=self.catalog.site.name,
            now=now,
            limit=limit,
        )

    def outbox(self, account_id: str | None = None) -> list[OutboxMessage]:
        with self.context.reading() as uow:
            return uow.outbox.list(account_id)

    def export_documents(self, start: datetime, end: datetime, out: TextIO) -> int:
        """Invoices and credit notes issued in [start, end) as CSV for an accountant."""
        with self.context.reading() as uow:
            documents = uow.documents.between(start, end)
        return write_documents_csv(documents, out)

    def _open_checkout(self, order: OrderView, *, email: str, interval: str | None) -> None:
        """After the order's transaction: the provider's hosted checkout, kept on the order."""
        adapter = self.adapters.get(order.provider)
        if adapter is None or order.status != "pending" or order.checkout_url:
            return
        request = CheckoutRequest(
            order_id=order.id,
            account_id=order.account_id,
            email=email,
            amount=order.total.amount,
            currency=order.total.currency,
            description=", ".join(item.description for item in order.items),
            mode="subscription" if order.kind == "subscription" else "payment",
            product_ref=order.items[0].product if order.items else order.kind,
            interval=interval,
        )
        try:
            session = adapter.create_checkout(request)
        except ProviderError as error:
            raise ProviderUnavailable(
                f"{error} The order {order.id} is kept pending; retry with the same "
                "Idempotency-Key to open its checkout.",
                order_id=order.id,
            ) from None

        def keep(uow):  # type: ignore[no-untyped-def]
            uow.orders.set_checkout(order.id, provider_ref=session.provider_ref, url=session.url)

        self.context.run_plain(keep)


def webhook_summary(record: WebhookEventRecord) -> str:
    """One line for `creditflow webhooks unmatched`: when, whose, and what it names."""
    detail = json.loads(record.detail or "{}")
    names = ("order_id", "payment_id", "subscription_ref", "customer_ref")
    refs = " ".join(f"{k}={detail[k]}" for k in names if detail.get(k))
    when = record.received_at.isoformat()
    return f"{when} {record.provider} {record.event_id} {record.type} {refs}".rstrip()
