"""Draw-down order and all-or-nothing spends (rules 2, 3 and 4), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditflow.domain.drawdown import Allocation, GrantBalance, draw_down, split_capture
from creditflow.domain.errors import InsufficientCredits
from creditflow.domain.kinds import Channel, GrantKind

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def grant(
    grant_id: str,
    remaining: int,
    *,
    kind: GrantKind = GrantKind.PURCHASED,
    priority: int = 50,
    expires_in_days: int | None = None,
    channel: Channel = Channel.ANY,
    seq: int = 0,
) -> GrantBalance:
    expires = NOW + timedelta(days=expires_in_days) if expires_in_days is not None else None
    return GrantBalance(grant_id, kind, remaining, priority, expires, channel, seq)


def test_rule_2_subscription_credits_are_spent_before_lifetime_credits() -> None:
    # The photo catalog's example: 500 subscription + 100 lifetime, spend 550.
    grants = [
        grant("lifetime", 100, kind=GrantKind.PURCHASED, priority=50, seq=1),
        grant("plan", 500, kind=GrantKind.SUBSCRIPTION, priority=10, expires_in_days=30, seq=2),
    ]
    allocations = draw_down(grants, 550, now=NOW, channel=None)
    assert allocations == [
        Allocation("plan", GrantKind.SUBSCRIPTION, 500),
        Allocation("lifetime", GrantKind.PURCHASED, 50),
    ]


def test_rule_2_within_a_priority_the_earliest_expiry_goes_first_and_never_expiring_last() -> None:
    grants = [
        grant("never", 10, seq=1),
        grant("late", 10, expires_in_days=20, seq=2),
        grant("soon", 10, expires_in_days=2, seq=3),
    ]
    allocations = draw_down(grants, 25, now=NOW, channel=None)
    assert [(a.grant_id, a.credits) for a in allocations] == [
        ("soon", 10),
        ("late", 10),
        ("never", 5),
    ]


def test_rule_2_with_equal_priority_and_expiry_the_oldest_grant_goes_first() -> None:
    grants = [grant("young", 10, seq=9), grant("old", 10, seq=3)]
    allocations = draw_down(grants, 12, now=NOW, channel=None)
    assert [(a.grant_id, a.credits) for a in allocations] == [("old", 10), ("young", 2)]


def test_rule_3_a_spend_on_one_channel_sees_only_any_and_that_channels_grants() -> None:
    grants = [
        grant("web", 10, channel=Channel.WEB, seq=1),
        grant("app", 10, channel=Channel.APP, seq=2),
        grant("any", 10, channel=Channel.ANY, seq=3),
    ]
    allocations = draw_down(grants, 20, now=NOW, channel=Channel.APP)
    assert {a.grant_id for a in allocations} == {"app", "any"}
    with pytest.raises(InsufficientCredits) as refused:
        draw_down(grants, 21, now=NOW, channel=Channel.APP)
    assert (refused.value.available, refused.value.requested) == (20, 21)


def test_rule_4_a_spend_larger_than_the_balance_takes_nothing() -> None:
    with pytest.raises(InsufficientCredits) as refused:
        draw_down([grant("a", 5), grant("b", 5, seq=1)], 11, now=NOW, channel=None)
    assert refused.value.details == {"available": 10, "requested": 11}


def test_expired_grants_pay_for_nothing() -> None:
    grants = [grant("gone", 100, expires_in_days=0), grant("live", 5, seq=1)]
    with pytest.raises(InsufficientCredits):
        draw_down(grants, 6, now=NOW, channel=None)


def test_rule_5_a_partial_capture_spends_the_first_drawn_credits_and_releases_the_rest() -> None:
    held = [Allocation("a", GrantKind.DAILY, 30), Allocation("b", GrantKind.PURCHASED, 20)]
    captured, released = split_capture(held, 40)
    assert captured == [
        Allocation("a", GrantKind.DAILY, 30),
        Allocation("b", GrantKind.PURCHASED, 10),
    ]
    assert released == [Allocation("b", GrantKind.PURCHASED, 10)]


@given(
    st.lists(
        st.tuples(
            st.integers(1, 1000),
            st.integers(0, 3),
            st.one_of(st.none(), st.integers(1, 60)),
            st.sampled_from(list(Channel)),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 5000),
    st.sampled_from([None, Channel.WEB, Channel.APP]),
)
def test_draw_down_takes_exactly_the_credits_asked_never_more_than_a_grant_has(
    specs: list[tuple[int, int, int | None, Channel]], credits: int, channel: Channel | None
) -> None:
    grants = [
        grant(f"g{i}", remaining, priority=priority, expires_in_days=days, channel=ch, seq=i)
        for i, (remaining, priority, days, ch) in enumerate(specs)
    ]
    usable = {
        g.grant_id: g.remaining
        for g in grants
        if channel is None or g.channel in (Channel.ANY, channel)
    }
    try:
        allocations = draw_down(grants, credits, now=NOW, channel=channel)
    except InsufficientCredits as refused:
        assert refused.available == sum(usable.values()) < credits
        return
    assert sum(a.credits for a in allocations) == credits
    for a in allocations:
        assert 0 < a.credits <= usable[a.grant_id]
    # Every grant but the last one drawn is emptied: the order is respected.
    for a in allocations[:-1]:
        assert a.credits == usable[a.grant_id]


@given(st.lists(st.integers(1, 100), min_size=1, max_size=6), st.data())
def test_split_capture_conserves_every_held_credit(held: list[int], data: st.DataObject) -> None:
    allocations = [Allocation(f"g{i}", GrantKind.PROMO, n) for i, n in enumerate(held)]
    credits = data.draw(st.integers(0, sum(held)))
    captured, released = split_capture(allocations, credits)
    assert sum(a.credits for a in captured) == credits
    assert sum(a.credits for a in captured) + sum(a.credits for a in released) == sum(held)
