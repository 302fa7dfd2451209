"""The Python API of events and outgoing webhooks: what a site is told, and where."""

from __future__ import annotations

from collections.abc import Sequence

from creditflow.clock import Clock
from creditflow.engine.parts import IdempotencyArg, Part, key_for
from creditflow.services import events, webhook_delivery, webhook_endpoints
from creditflow.services.context import ServiceContext
from creditflow.services.views import (
    EventView,
    Page,
    WebhookDeliveryView,
    WebhookEndpointView,
)
from creditflow.webhooks.sender import WebhookSender


class Events(Part):
    def __init__(
        self,
        context: ServiceContext,
        *,
        wall_clock: Clock,
        allow_private: bool,
        operator: str | None,
    ) -> None:
        super().__init__(context)
        self.wall_clock = wall_clock
        """Deliveries live in real time, even when the engine runs on a test clock."""
        self.allow_private = allow_private
        self._operator = operator
        self._sender = WebhookSender(allow_private=allow_private)

    def close(self) -> None:
        self._sender.close()

    # Events

    def events(
        self,
        *,
        type: str | None = None,
        account_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[EventView]:
        """Newest first; kept at least 30 days, so a site can replay what it missed."""
        return self._read(
            lambda uow: events.list_events(
                uow, type=type, account_id=account_id, limit=limit, cursor=cursor
            )
        )

    def event(self, event_id: str) -> EventView:
        return self._read(lambda uow: events.get_event(uow, event_id=event_id))

    def redeliver_event(
        self,
        event_id: str,
        *,
        endpoint_id: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> EventView:
        """Send an event again, to one endpoint or to every enabled one that takes its type."""
        return self._once(
            key_for(idempotency_key, "redeliver_event", event_id, endpoint_id),
            EventView,
            lambda uow, now: events.redeliver(
                uow, event_id=event_id, endpoint_id=endpoint_id, now=now
            ),
        )

    # Webhook endpoints

    def create_webhook_endpoint(
        self,
        *,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> WebhookEndpointView:
        """The answer carries the signing secret: it is shown here and on rotation only."""
        return self._once(
            key_for(idempotency_key, "create_webhook_endpoint", url, list(events), description),
            WebhookEndpointView,
            lambda uow, now: webhook_endpoints.create_endpoint(
                uow,
                url=url,
                events=events,
                description=description,
                allow_private=self.allow_private,
                now=now,
            ),
        )

    def webhook_endpoints(self) -> list[WebhookEndpointView]:
        return self._read(webhook_endpoints.list_endpoints)

    def webhook_endpoint(self, endpoint_id: str) -> WebhookEndpointView:
        return self._read(lambda uow: webhook_endpoints.get_endpoint(uow, endpoint_id=endpoint_id))

    def update_webhook_endpoint(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        status: str | None = None,
        description: str | None = None,
    ) -> WebhookEndpointView:
        """Change what is given: `status` is `enabled` or `disabled`; "" clears the
        description."""
        return self._plain(
            lambda uow: webhook_endpoints.update_endpoint(
                uow,
                endpoint_id=endpoint_id,
                url=url,
                events=events,
                status=status,
                description=description,
                allow_private=self.allow_private,
                now=self.clock.now(),
            )
        )

    def delete_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpointView:
        return self._plain(
            lambda uow: webhook_endpoints.delete_endpoint(
                uow, endpoint_id=endpoint_id, now=self.clock.now()
            )
        )

    def rotate_webhook_secret(
        self, endpoint_id: str, *, idempotency_key: IdempotencyArg = None
    ) -> WebhookEndpointView:
        """A new secret, shown once; the old one keeps signing beside it for 24 hours."""
        return self._once(
            key_for(idempotency_key, "rotate_webhook_secret", endpoint_id),
            WebhookEndpointView,
            lambda uow, now: webhook_endpoints.rotate_secret(
                uow, endpoint_id=endpoint_id, now=self.wall_clock.now()
            ),
        )

    def webhook_deliveries(
        self, endpoint_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[WebhookDeliveryView]:
        return self._read(
            lambda uow: webhook_endpoints.list_deliveries(
                uow, endpoint_id=endpoint_id, limit=limit, cursor=cursor
            )
        )

    def deliver_webhooks(self, *, limit: int = 100) -> int:
        """Send the deliveries that are due (the webhook loop calls this)."""
        return webhook_delivery.deliver_due(
            self.context,
            sender=self._sender,
            wall_clock=self.wall_clock,
            operator=self._operator,
            limit=limit,
        )
