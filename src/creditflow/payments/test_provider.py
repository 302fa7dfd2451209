"""The `test` provider: pays at once, or declines, per account (`test-payment-behavior`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from creditflow.payments.base import ChargeOutcome, ChargeRequest

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
