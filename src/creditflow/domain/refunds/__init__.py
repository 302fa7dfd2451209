"""Refund policies: pure rules over facts, one module per written policy.

`settings.policy` picks the policy; a new one is a module with `recommend` and a line in
`POLICIES`. Nothing here reads a clock or a database, so a recommendation can be replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from creditflow.domain.catalog import Refunds
from creditflow.domain.refunds import goodwill, standard, strict
from creditflow.domain.refunds.facts import RefundFacts, RefundRecommendation

Policy = Callable[[RefundFacts, Refunds], RefundRecommendation]

POLICIES: dict[str, Policy] = {
    "strict": strict.recommend,
    "standard": standard.recommend,
    "goodwill": goodwill.recommend,
}

_SATURDAY = 5


def recommend(facts: RefundFacts, settings: Refunds) -> RefundRecommendation:
    return POLICIES[settings.policy](facts, settings)


def due_by(submitted_at: datetime, business_days: int) -> datetime:
    """Submission plus `business_days` weekdays, at the same time of day.

    A weekend submission waits for Monday before the count starts, as nobody reviews on
    Saturday. Weekdays are those of `submitted_at`'s own time zone; holidays are not known here.
    """
    day = submitted_at
    while day.weekday() >= _SATURDAY:
        day += timedelta(days=1)
    left = business_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < _SATURDAY:
            left -= 1
    return day


__all__ = ["POLICIES", "Policy", "due_by", "recommend"]
