"""The Python API for orders, subscriptions, daily credits and entitlements.

A mixin of `creditflow.Engine`, kept in its own module so each stays readable; it relies on the
engine's `_write`, `context`, `catalog` and `clock`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from creditflow.engine_parts import EngineParts
from creditflow.services import documents, memberships, orders, subscriptions
from creditflow.services.views import (
    DailyClaimView,
    EntitlementsView,
    InvoiceView,
    OrderView,
    Page,
    PlanChangeView,
    ResourceView,
    SubscriptionView,
    TestBehaviorView,
)

if TYPE_CHECKING:
    from creditflow.domain.documents import DocumentKind
    from creditflow.jobs.files import FileStore
    from creditflow.services.idempotency import IdempotencyKey
    from creditflow.store.uow import UnitOfWork


class BillingMethods(EngineParts):
    files: FileStore

    # Orders

    def checkout(
        self,
        account_id: str,
        *,
        product: str,
        credits: int | None = None,
        provider: str | None = None,
        channel: str | None = None,
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> OrderView:
        args: dict[str, Any] = {
            "account_id": account_id,
            "product": product,
            "credits": credits,
            "provider": provider,
            "channel": channel,
        }
        order = self._write(
            "checkout",
            args,
            idempotency_key,
            OrderView,
            lambda uow, now: orders.checkout(
                uow, catalog=self.catalog, providers=self.context.providers, now=now, **args
            ),
        )
        return self._hosted(order, account_id, interval=None)

    def _hosted(self, order: OrderView, account_id: str, *, interval: str | None) -> OrderView:
        """A pending order of a hosted provider gets its checkout once the order is committed."""
        if order.status != "pending" or order.checkout_url or order.provider == "test":
            return order
        self._open_checkout(order, email=self.account(account_id).email, interval=interval)
        return self.order(order.id)

    def record_payment(
        self, order_id: str, *, provider: str, provider_payment_id: str, amount: int
    ) -> OrderView:
        """A successful payment reported by a provider; a second one is a duplicate charge."""

        def use_case(uow: UnitOfWork, now: datetime) -> OrderView:
            orders.record_payment(
                uow,
                catalog=self.catalog,
                order_id=order_id,
                provider=provider,
                provider_payment_id=provider_payment_id,
                amount=amount,
                now=now,
            )
            return orders.order_view(uow, order_id)

        return self._write("record_payment", {}, None, OrderView, use_case)

    def order(self, order_id: str) -> OrderView:
        return self._read(lambda uow: orders.order_view(uow, order_id))

    def orders(
        self, account_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[OrderView]:
        return self._read(
            lambda uow: orders.list_orders(uow, account_id=account_id, limit=limit, cursor=cursor)
        )

    def invoice(self, order_id: str) -> InvoiceView:
        return self._read(lambda uow: documents.invoice_view(uow, order_id))

    def document_pdf(self, kind: DocumentKind, number: str) -> bytes:
        """An invoice's or credit note's PDF, rendered on first request and kept."""
        return self.context.run_plain(
            lambda uow: documents.document_pdf(uow, files=self.files, kind=kind, number=number)
        )

    def set_test_payment_behavior(
        self,
        account_id: str,
        behavior: str,
        *,
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> TestBehaviorView:
        def use_case(uow: UnitOfWork, _now: datetime) -> TestBehaviorView:
            orders.set_test_behavior(uow, account_id=account_id, behavior=behavior)
            return TestBehaviorView(account_id=account_id, behavior=behavior)

        return self._write(
            "test_payment_behavior",
            {"account_id": account_id, "behavior": behavior},
            idempotency_key,
            TestBehaviorView,
            use_case,
        )

    # Subscriptions

    def subscribe(
        self,
        account_id: str,
        *,
        plan: str,
        interval: str = "month",
        provider: str | None = None,
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> SubscriptionView:
        args: dict[str, Any] = {
            "account_id": account_id,
            "plan": plan,
            "interval": interval,
            "provider": provider,
        }
        subscription = self._write(
            "subscribe",
            args,
            idempotency_key,
            SubscriptionView,
            lambda uow, now: subscriptions.subscribe(
                uow, catalog=self.catalog, providers=self.context.providers, now=now, **args
            ),
        )
        if subscription.order_id is None or subscription.provider == "test":
            return subscription
        order = self._hosted(self.order(subscription.order_id), account_id, interval=interval)
        return subscription.model_copy(update={"checkout_url": order.checkout_url})

    def subscription(self, subscription_id: str) -> SubscriptionView:
        return self._read(
            lambda uow: subscriptions.get_subscription(uow, subscription_id=subscription_id)
        )

    def subscriptions(self, account_id: str) -> list[SubscriptionView]:
        with self.context.reading() as uow:
            return subscriptions.list_subscriptions(uow, account_id=account_id)

    def cancel_subscription(
        self, subscription_id: str, *, idempotency_key: str | IdempotencyKey | None = None
    ) -> SubscriptionView:
        return self._write(
            "cancel_subscription",
            {"subscription_id": subscription_id},
            idempotency_key,
            SubscriptionView,
            lambda uow, now: subscriptions.cancel_subscription(
                uow, catalog=self.catalog, now=now, subscription_id=subscription_id
            ),
        )

    def resume_subscription(
        self, subscription_id: str, *, idempotency_key: str | IdempotencyKey | None = None
    ) -> SubscriptionView:
        return self._write(
            "resume_subscription",
            {"subscription_id": subscription_id},
            idempotency_key,
            SubscriptionView,
            lambda uow, now: subscriptions.resume_subscription(
                uow, now=now, subscription_id=subscription_id
            ),
        )

    def change_plan(
        self,
        subscription_id: str,
        *,
        plan: str,
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> PlanChangeView:
        return self._write(
            "change_plan",
            {"subscription_id": subscription_id, "plan": plan},
            idempotency_key,
            PlanChangeView,
            lambda uow, now: subscriptions.change_plan(
                uow,
                catalog=self.catalog,
                providers=self.context.providers,
                now=now,
                subscription_id=subscription_id,
                plan=plan,
            ),
        )

    # Daily credits and entitlements

    def claim_daily_credits(
        self, account_id: str, *, idempotency_key: str | IdempotencyKey | None = None
    ) -> DailyClaimView:
        return self._write(
            "claim_daily_credits",
            {"account_id": account_id},
            idempotency_key,
            DailyClaimView,
            lambda uow, now: memberships.claim_daily_credits(
                uow, catalog=self.catalog, now=now, account_id=account_id
            ),
        )

    def entitlements(self, account_id: str) -> EntitlementsView:
        now = self.context.clock.now()
        return self._read(
            lambda uow: memberships.get_entitlements(
                uow, catalog=self.catalog, now=now, account_id=account_id
            )
        )

    def create_resource(
        self,
        account_id: str,
        *,
        type: str,
        name: str,
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> ResourceView:
        args: dict[str, Any] = {"account_id": account_id, "type": type, "name": name}
        return self._write(
            "create_resource",
            args,
            idempotency_key,
            ResourceView,
            lambda uow, now: memberships.create_resource(
                uow, catalog=self.catalog, now=now, **args
            ),
        )

    def check_loras(self, account_id: str, *, loras: int) -> None:
        """Raise `entitlement_exceeded` when a generation asks for more LoRAs than allowed."""
        with self.context.reading() as uow:
            memberships.check_loras(uow, catalog=self.catalog, account_id=account_id, loras=loras)

    def use_free_training(self, account_id: str) -> bool:
        """Take one of this cycle's free LoRA trainings; False when none is left."""
        return self.context.run_plain(
            lambda uow: memberships.use_free_training(
                uow, catalog=self.catalog, now=self.context.clock.now(), account_id=account_id
            )
        )
