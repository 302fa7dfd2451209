"""A hosted provider for service tests: it records calls instead of reaching the network.

The real adapters are tested against signed payloads and recorded responses in
tests/unit/test_provider_*.py; the service tests need only their side of the interface.
"""

from __future__ import annotations

from collections.abc import Mapping

from creditflow.payments.events import (
    CheckoutRequest,
    CheckoutSession,
    ProviderEvent,
    RefundRequest,
    RefundResult,
)

RETURN_TO = {
    "success_url": "https://shop.example/thanks",
    "cancel_url": "https://shop.example/cart",
}
"""Where hosted checkouts send the customer back (the reference catalogs name no site URL)."""


class RecordingAdapter:
    def __init__(self, name: str = "stripe") -> None:
        self.name = name
        self.checkouts: list[CheckoutRequest] = []
        self.refunds: list[RefundRequest] = []

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        self.checkouts.append(request)
        return CheckoutSession(
            url=f"https://pay.example/{request.order_id}", provider_ref=f"cs_{request.order_id}"
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        self.refunds.append(request)
        return RefundResult(provider_refund_id=f"re_{request.idempotency_key}", status="succeeded")

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: float
    ) -> list[ProviderEvent]:
        raise NotImplementedError("service tests hand events over directly")
