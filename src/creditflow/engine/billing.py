"""The Python API of orders, invoices, subscriptions, daily credits and entitlements.

A hosted provider's checkout is a provider call recorded with the order and made after the
commit (`services.provider_calls`), so a retry with the same key resumes the same order.
"""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

from creditflow.documents.export import write_documents_csv
from creditflow.domain.documents import DocumentKind
from creditflow.engine.parts import IdempotencyArg, Part, key_for
from creditflow.services import (
    documents,
    memberships,
    orders,
    provider_calls,
    subscriptions,
)
from creditflow.services.idempotency import run_in_steps
from creditflow.services.views import (
    AddonAllowanceView,
    DailyClaimStatusView,
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
from creditflow.store.uow import UnitOfWork


class Billing(Part):
    # Orders and invoices

    def checkout(
        self,
        account_id: str,
        *,
        product: str,
        credits: int | None = None,
        provider: str | None = None,
        channel: str | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> OrderView:
        """An order for a pack or add-on credits. The `test` provider pays at once; a hosted
        one's checkout page is opened after the order is committed (`checkout_url`)."""
        key = key_for(
            idempotency_key,
            "checkout",
            account_id,
            product,
            credits,
            provider,
            channel,
            success_url,
            cancel_url,
        )
        return run_in_steps(
            self.context,
            key,
            OrderView,
            begin=lambda uow, now: (
                orders.checkout(
                    uow,
                    catalog=self.catalog,
                    providers=self.context.providers,
                    now=now,
                    account_id=account_id,
                    product=product,
                    credits=credits,
                    provider=provider,
                    channel=channel,
                    success_url=success_url,
                    cancel_url=cancel_url,
                ).id
            ),
            proceed=self._open_checkout,
            finish=orders.order_view,
        )

    def _open_checkout(self, order_id: str) -> None:
        outcome = provider_calls.send_call_of(self.context, "checkout", order_id)
        if outcome is not None:
            outcome.raise_unless_succeeded(f"The checkout of order {order_id}", order_id=order_id)

    def record_payment(
        self, order_id: str, *, provider: str, provider_payment_id: str, amount: int
    ) -> OrderView:
        """A successful payment reported by a provider; a second one is a duplicate charge."""

        def use_case(uow: UnitOfWork) -> OrderView:
            orders.record_payment(
                uow,
                catalog=self.catalog,
                order_id=order_id,
                provider=provider,
                provider_payment_id=provider_payment_id,
                amount=amount,
                now=self.clock.now(),
            )
            return orders.order_view(uow, order_id)

        return self._plain(use_case)

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
        return self._plain(
            lambda uow: documents.document_pdf(uow, files=self.files, kind=kind, number=number)
        )

    def set_test_payment_behavior(
        self, account_id: str, behavior: str, *, idempotency_key: IdempotencyArg = None
    ) -> TestBehaviorView:
        def use_case(uow: UnitOfWork, _now: datetime) -> TestBehaviorView:
            orders.set_test_behavior(uow, account_id=account_id, behavior=behavior)
            return TestBehaviorView(account_id=account_id, behavior=behavior)

        return self._once(
            key_for(idempotency_key, "test_payment_behavior", account_id, behavior),
            TestBehaviorView,
            use_case,
        )

    def export_documents(self, start: datetime, end: datetime, out: TextIO) -> int:
        """Invoices and credit notes issued in [start, end) as CSV for an accountant."""
        found = self._read(lambda uow: uow.documents.between(start, end))
        return write_documents_csv(found, out)

    # Subscriptions

    def subscribe(
        self,
        account_id: str,
        *,
        plan: str,
        interval: str = "month",
        provider: str | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> SubscriptionView:
        key = key_for(
            idempotency_key,
            "subscribe",
            account_id,
            plan,
            interval,
            provider,
            success_url,
            cancel_url,
        )
        return run_in_steps(
            self.context,
            key,
            SubscriptionView,
            begin=lambda uow, now: (
                subscriptions.subscribe(
                    uow,
                    catalog=self.catalog,
                    providers=self.context.providers,
                    now=now,
                    account_id=account_id,
                    plan=plan,
                    interval=interval,
                    provider=provider,
                    success_url=success_url,
                    cancel_url=cancel_url,
                ).id
            ),
            proceed=self._open_first_checkout,
            finish=lambda uow, subscription_id: subscriptions.get_subscription(
                uow, subscription_id=subscription_id
            ),
        )

    def _open_first_checkout(self, subscription_id: str) -> None:
        order_id = self.subscription(subscription_id).order_id
        if order_id is not None:
            self._open_checkout(order_id)

    def subscription(self, subscription_id: str) -> SubscriptionView:
        return self._read(
            lambda uow: subscriptions.get_subscription(uow, subscription_id=subscription_id)
        )

    def subscriptions(self, account_id: str) -> list[SubscriptionView]:
        return self._read(lambda uow: subscriptions.list_subscriptions(uow, account_id=account_id))

    def cancel_subscription(
        self, subscription_id: str, *, idempotency_key: IdempotencyArg = None
    ) -> SubscriptionView:
        return self._once(
            key_for(idempotency_key, "cancel_subscription", subscription_id),
            SubscriptionView,
            lambda uow, now: subscriptions.cancel_subscription(
                uow, catalog=self.catalog, now=now, subscription_id=subscription_id
            ),
        )

    def resume_subscription(
        self, subscription_id: str, *, idempotency_key: IdempotencyArg = None
    ) -> SubscriptionView:
        return self._once(
            key_for(idempotency_key, "resume_subscription", subscription_id),
            SubscriptionView,
            lambda uow, now: subscriptions.resume_subscription(
                uow, catalog=self.catalog, now=now, subscription_id=subscription_id
            ),
        )

    def change_plan(
        self,
        subscription_id: str,
        *,
        plan: str | None = None,
        interval: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> PlanChangeView:
        """Upgrades (a higher rank, or month to year) at once and prorated; the rest at the
        period end, or refused where the catalog forbids downgrades (rules 10, 11, 25)."""
        return self._once(
            key_for(idempotency_key, "change_plan", subscription_id, plan, interval),
            PlanChangeView,
            lambda uow, now: subscriptions.change_plan(
                uow,
                catalog=self.catalog,
                providers=self.context.providers,
                now=now,
                subscription_id=subscription_id,
                plan=plan,
                interval=interval,
            ),
        )

    # Daily credits and entitlements

    def claim_daily_credits(
        self, account_id: str, *, idempotency_key: IdempotencyArg = None
    ) -> DailyClaimView:
        return self._once(
            key_for(idempotency_key, "claim_daily_credits", account_id),
            DailyClaimView,
            lambda uow, now: memberships.claim_daily_credits(
                uow, catalog=self.catalog, now=now, account_id=account_id
            ),
        )

    def addon_allowance(self, account_id: str) -> AddonAllowanceView | None:
        """The add-on credits a member may still buy this cycle (None for a non-member)."""
        return self._read(lambda uow: orders.addon_allowance(uow, self.catalog, account_id))

    def daily_claim_status(self, account_id: str) -> DailyClaimStatusView | None:
        """Whether today's daily credits wait to be claimed, and when the next day begins."""
        now = self.clock.now()
        return self._read(
            lambda uow: memberships.daily_claim_status(
                uow, catalog=self.catalog, now=now, account_id=account_id
            )
        )

    def entitlements(self, account_id: str) -> EntitlementsView:
        now = self.clock.now()
        return self._read(
            lambda uow: memberships.get_entitlements(
                uow, catalog=self.catalog, now=now, account_id=account_id
            )
        )

    def create_resource(
        self, account_id: str, *, type: str, name: str, idempotency_key: IdempotencyArg = None
    ) -> ResourceView:
        return self._once(
            key_for(idempotency_key, "create_resource", account_id, type, name),
            ResourceView,
            lambda uow, now: memberships.create_resource(
                uow, catalog=self.catalog, now=now, account_id=account_id, type=type, name=name
            ),
        )

    def check_loras(self, account_id: str, *, loras: int) -> None:
        """Raise `entitlement_exceeded` when a generation asks for more LoRAs than allowed."""
        self._read(
            lambda uow: memberships.check_loras(
                uow, catalog=self.catalog, account_id=account_id, loras=loras
            )
        )

    def use_free_training(self, account_id: str) -> bool:
        """Take one of this cycle's free LoRA trainings; False when none is left."""
        return self._plain(
            lambda uow: memberships.use_free_training(
                uow, catalog=self.catalog, now=self.clock.now(), account_id=account_id
            )
        )
