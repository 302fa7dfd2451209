"""The Python API of the money path: provider webhooks, refunds and mail.

A refund is recorded `pending` with its provider call, asked for after the commit, and asked
again from the due-work queue while the provider cannot take it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from creditflow.domain.errors import InvalidSignature, NotFound
from creditflow.engine.parts import IdempotencyArg, Part, key_for
from creditflow.mail.transports import MailTransport
from creditflow.payments.events import WebhookRejected
from creditflow.services import (
    documents,
    money_back,
    provider_calls,
    webhooks,
)
from creditflow.services.context import ServiceContext
from creditflow.services.idempotency import run_in_steps
from creditflow.services.mail import deliver_due_mail
from creditflow.services.views import (
    RefundView,
    WebhookOutcomeView,
)
from creditflow.store.outbox import OutboxMessage
from creditflow.store.webhooks import WebhookEventRecord

DEFAULT_SENDER = "creditflow@localhost"


class Payments(Part):
    def __init__(
        self, context: ServiceContext, *, mail_transport: MailTransport, portal_url: str = ""
    ) -> None:
        super().__init__(context)
        self.adapters = context.adapters
        self.mail_transport = mail_transport
        self.portal_url = portal_url

    # Provider webhooks, refunds and mail

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
            webhooks.log.warning(
                "rejected %s webhook (event %s): %s", provider, rejected.event_id, rejected.message
            )
            raise InvalidSignature(rejected.message, event_id=rejected.event_id) from None
        payload = body.decode("utf-8", errors="replace")
        outcomes = [
            self._plain(
                lambda uow, event=event: webhooks.receive_event(  # type: ignore[misc]
                    uow,
                    catalog=self.catalog,
                    providers=self.context.providers,
                    event=event,
                    payload=payload,
                    now=self.clock.now(),
                )
            )
            for event in events
        ]
        return WebhookOutcomeView(received=[e.event_id for e in events], outcomes=outcomes)

    def unmatched_webhooks(
        self, provider: str | None = None, *, newest_first: bool = False, limit: int = 500
    ) -> list[WebhookEventRecord]:
        """Provider webhooks that matched no order, oldest first (the order they are retried
        in) unless `newest_first` (support's page)."""
        return self._read(
            lambda uow: uow.webhook_events.unmatched(provider, limit, newest_first=newest_first)
        )

    def refund_order(
        self,
        order_id: str,
        *,
        amount: int | None = None,
        reason: str = "requested",
        idempotency_key: IdempotencyArg = None,
    ) -> RefundView:
        """Give money back through the order's provider (all that is left when no amount).

        The refund is recorded `pending` with its provider call, then asked for; if the
        provider cannot take it now, it is asked again from the due-work queue, and a retry
        with the same key waits for that same refund rather than making another.
        """
        return run_in_steps(
            self.context,
            key_for(idempotency_key, "refund_order", order_id, amount, reason),
            RefundView,
            begin=lambda uow, now: (
                money_back.start_refund(
                    uow, order_id=order_id, amount=amount, reason=reason, now=now
                ).id
            ),
            proceed=self._send_refund,
            finish=money_back.refund_view,
        )

    def _send_refund(self, refund_id: str) -> None:
        outcome = provider_calls.send_call_of(self.context, "refund", refund_id)
        if outcome is not None:
            outcome.raise_unless_succeeded(f"Refund {refund_id}", refund_id=refund_id)

    def refund(self, refund_id: str) -> RefundView:
        return self._read(lambda uow: money_back.refund_view(uow, refund_id))

    def deliver_mail(self, *, limit: int = 100) -> int:
        """Send the mail that is due (invoices attached); the mail loop calls this."""
        now = self.clock.now()
        self._plain(
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
            portal_url=self.portal_url,
        )

    def outbox(self, account_id: str | None = None) -> list[OutboxMessage]:
        return self._read(lambda uow: uow.outbox.list(account_id))
