"""The `test` provider: pays at once, or declines, per account (`test-payment-behavior`);
refunds at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from creditflow.payments.base import ChargeOutcome, ChargeRequest
from creditflow.payments.events import RefundRequest, RefundResult

if TYPE_CHECKING:
    from creditflow.store.uow import UnitOfWork

BEHAVIORS = ("succeed", "decline")


class TestPaymentProvider:
    __test__ = False  # not a pytest test class
    name = "test"

    def charge(self, uow: UnitOfWork, request: ChargeRequest) -> ChargeOutcome:
        if uow.orders.test_behavior(request.account_id) == "decline":
            return ChargeOutcome(
                "declined",
                payment_id=f"test_{request.idempotency_key}",
                message="The test provider declines this account's charges.",
            )
        return ChargeOutcome("succeeded", payment_id=f"test_{request.idempotency_key}")

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(
            provider_refund_id=f"test_{request.idempotency_key}", status="succeeded"
        )
