"""Calendar arithmetic and the upgrade formula (rule 10), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from creditflow.domain.periods import add_months, cycle_index_at, local_day, next_local_midnight
from creditflow.domain.proration import prorate_upgrade, round_half_up, time_left


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_a_plan_bought_on_31_january_renews_on_the_last_day_of_february_then_on_31_march() -> None:
    anchor = at(2026, 1, 31, 12)
    assert [add_months(anchor, n) for n in range(1, 5)] == [
        at(2026, 2, 28, 12),
        at(2026, 3, 31, 12),
        at(2026, 4, 30, 12),
        at(2026, 5, 31, 12),
    ]
    assert add_months(at(2028, 1, 31), 1) == at(2028, 2, 29)  # a leap year


def test_the_cycle_under_way_is_counted_from_the_anchor() -> None:
    anchor = at(2026, 1, 31, 12)
    assert cycle_index_at(anchor, at(2026, 2, 28, 11)) == 0
    assert cycle_index_at(anchor, at(2026, 2, 28, 12)) == 1
    assert cycle_index_at(anchor, at(2026, 3, 31, 11)) == 1
    assert cycle_index_at(anchor, at(2027, 1, 31, 12)) == 12


def test_a_local_day_ends_at_local_midnight_across_a_dst_change() -> None:
    zone = ZoneInfo("Europe/Belgrade")
    # 29 March 2026: clocks go forward at 02:00 local; that day lasts 23 hours.
    evening = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 local on the 28th
    assert local_day(evening, zone).isoformat() == "2026-03-28"
    assert next_local_midnight(evening, zone) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert next_local_midnight(at(2026, 3, 29, 1), zone) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_round_half_up_rounds_halves_away_from_zero() -> None:
    assert [round_half_up(Fraction(n, 2)) for n in (1, 3, 5, -1, -3)] == [1, 2, 3, -1, -2]
    assert round_half_up(Fraction(1499, 1000)) == 1


def test_rule_10_half_way_through_a_31_day_month_charges_half_the_difference() -> None:
    start, end = at(2026, 1, 1), at(2026, 2, 1)  # 31 days
    now = start + timedelta(days=15, hours=12)  # 15.5 days left
    proration = prorate_upgrade(
        old_price=999,
        new_price=2999,
        old_credits=500,
        new_credits=2000,
        period=(start, end),
        cycle=(start, end),
        now=now,
    )
    assert proration.fraction == Fraction(1, 2)
    assert proration.charge == 1000  # 2000 x 1/2
    assert proration.credits == 750  # 1500 x 1/2


def test_rule_10_a_third_of_a_31_day_month_rounds_the_charge_half_up_and_floors_credits() -> None:
    start, end = at(2026, 3, 1), at(2026, 4, 1)  # 31 days
    now = end - timedelta(days=10)  # 10/31 left
    proration = prorate_upgrade(
        old_price=999,
        new_price=2999,
        old_credits=500,
        new_credits=2000,
        period=(start, end),
        cycle=(start, end),
        now=now,
    )
    assert proration.fraction == Fraction(10, 31)
    assert proration.charge == 645  # 20000/31 = 645.16
    assert proration.credits == 483  # 15000/31 = 483.87, floored


def test_rule_10_an_annual_plan_prorates_the_charge_over_the_year_and_credits_over_the_month() -> (
    None
):
    period = (at(2026, 1, 10), at(2027, 1, 10))  # 365 days
    cycle = (at(2026, 7, 10), at(2026, 8, 10))  # 31 days
    now = at(2026, 7, 20)
    proration = prorate_upgrade(
        old_price=10000,
        new_price=20000,
        old_credits=5000,
        new_credits=12000,
        period=period,
        cycle=cycle,
        now=now,
    )
    assert proration.fraction == Fraction(174, 365)
    assert proration.cycle_fraction == Fraction(21, 31)
    assert proration.charge == 4767  # 10000 x 174/365 = 4767.12
    assert proration.credits == 4741  # 7000 x 21/31 = 4741.9


def test_rule_10_at_the_first_instant_of_a_period_the_whole_difference_is_due() -> None:
    start, end = at(2026, 2, 1), at(2026, 3, 1)
    proration = prorate_upgrade(
        old_price=1000,
        new_price=2000,
        old_credits=5000,
        new_credits=12000,
        period=(start, end),
        cycle=(start, end),
        now=start,
    )
    assert (proration.charge, proration.credits) == (1000, 7000)


def test_time_left_is_clamped_to_the_period() -> None:
    start, end = at(2026, 2, 1), at(2026, 3, 1)
    assert time_left(start, end, end + timedelta(days=3)) == 0
    assert time_left(start, end, start - timedelta(days=3)) == 1
