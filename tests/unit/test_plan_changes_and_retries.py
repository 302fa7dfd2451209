"""Rule 25's classification, interval-changing proration, and the back-off of provider calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from creditflow.domain.plan_changes import ChangeKind, classify_change
from creditflow.domain.proration import prorate_upgrade
from creditflow.domain.retries import RETRY_DELAYS, retry_delay


@pytest.mark.parametrize(
    ("current", "target", "kind"),
    [
        ((1, "month"), (2, "month"), ChangeKind.UPGRADE),
        ((1, "month"), (1, "year"), ChangeKind.UPGRADE),
        ((1, "month"), (2, "year"), ChangeKind.UPGRADE),
        ((1, "year"), (2, "year"), ChangeKind.UPGRADE),
        ((1, "year"), (2, "month"), ChangeKind.UPGRADE_THEN_MONTHLY),
        ((1, "year"), (1, "month"), ChangeKind.AT_PERIOD_END),
        ((2, "month"), (1, "year"), ChangeKind.DOWNGRADE),  # cheaper a day, and lower
        ((2, "year"), (1, "month"), ChangeKind.DOWNGRADE),
    ],
)
def test_rule_25_a_change_is_classified_by_rank_then_interval(
    current: tuple[int, str], target: tuple[int, str], kind: ChangeKind
) -> None:
    assert (
        classify_change(
            current_rank=current[0],
            current_interval=current[1],
            target_rank=target[0],
            target_interval=target[1],
        )
        is kind
    )


JAN15, FEB15 = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 2, 15, tzinfo=UTC)
NEXT_JAN15 = datetime(2027, 1, 15, tzinfo=UTC)


def test_rule_25_month_to_year_pays_the_years_time_left_less_the_months_unused_part() -> None:
    now = JAN15 + timedelta(days=10)
    proration = prorate_upgrade(
        old_price=1000,
        new_price=10000,
        old_credits=5000,
        new_credits=5000,
        period=(JAN15, FEB15),
        new_period=(JAN15, NEXT_JAN15),
        cycle=(JAN15, FEB15),
        now=now,
    )
    assert proration.fraction == Fraction(21, 31)
    assert proration.charge == 9049  # 10000 x 355/365 - 1000 x 21/31 = 9048.61, half up
    assert proration.credits == 0


def test_rule_25_a_change_never_charges_less_than_nothing() -> None:
    proration = prorate_upgrade(
        old_price=10000,
        new_price=1000,  # a catalog may price a higher rank lower
        old_credits=5000,
        new_credits=1000,
        period=(JAN15, NEXT_JAN15),
        cycle=(JAN15, FEB15),
        now=JAN15,
    )
    assert (proration.charge, proration.credits) == (0, 0)


def test_provider_calls_back_off_then_stop_and_refunds_stop_within_a_day() -> None:
    assert retry_delay("refund", attempts=1) == timedelta(seconds=30)
    assert retry_delay("checkout", attempts=4) == timedelta(minutes=30)
    assert retry_delay("checkout", attempts=5) is None
    refunds = RETRY_DELAYS["refund"]
    assert list(refunds) == sorted(refunds)
    # Stripe keeps an idempotency key at least 24 hours: a retry inside them cannot refund twice.
    assert sum(refunds, timedelta()) < timedelta(hours=24)
    assert retry_delay("refund", attempts=len(refunds) + 1) is None
