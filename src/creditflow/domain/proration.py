"""Prorated upgrades (rule 10), exactly as the rule writes them.

f = time left in the current period / the period's length;
charge = round_half_up((new price - old price) x f) in minor units;
credits = floor((new monthly_credits - old monthly_credits) x f'), with f' the same fraction of
the current monthly cycle. Fractions are exact (`Fraction` of microseconds): no float is near money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Proration:
    fraction: Fraction
    """Share of the billing period still to run."""
    cycle_fraction: Fraction
    """Share of the current monthly cycle still to run."""
    charge: int
    """Minor units to charge now."""
    credits: int
    """Subscription credits to grant now."""


def time_left(start: datetime, end: datetime, now: datetime) -> Fraction:
    """The share of [start, end) after `now`, between 0 and 1."""
    length = _microseconds(end - start)
    if length <= 0:
        raise ValueError("a period must have a positive length")
    left = min(max(_microseconds(end - now), 0), length)
    return Fraction(left, length)


def round_half_up(value: Fraction) -> int:
    """Halves round away from zero, as Decimal's ROUND_HALF_UP does."""
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def prorate_upgrade(
    *,
    old_price: int,
    new_price: int,
    old_credits: int,
    new_credits: int,
    period: tuple[datetime, datetime],
    cycle: tuple[datetime, datetime],
    now: datetime,
    new_period: tuple[datetime, datetime] | None = None,
) -> Proration:
    """`new_period` is the period the change moves into when it changes the interval (rule 25:
    month to year): what the new price buys of it, less what is left unused of the old price.
    With one interval that is rule 10's (new price - old price) x f, exactly. Never negative:
    a change never pays money back."""
    fraction = time_left(*period, now)
    new_fraction = fraction if new_period is None else time_left(*new_period, now)
    cycle_fraction = time_left(*cycle, now)
    charge = max(round_half_up(new_price * new_fraction - old_price * fraction), 0)
    credits = max(math.floor((new_credits - old_credits) * cycle_fraction), 0)
    return Proration(fraction, cycle_fraction, charge, credits)


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
