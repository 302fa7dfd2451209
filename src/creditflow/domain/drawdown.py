"""Draw-down: which grants pay for a spend, and how much each pays (rules 2 and 3).

The order is fixed: the catalog's kind priority (lower first), then the earliest expiry with
never-expiring grants last, then the oldest grant. Spending the subscription credits that expire
this month before the lifetime credits that never do is what the customer expects (000).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from creditflow.domain.errors import InsufficientCredits
from creditflow.domain.kinds import Channel, GrantKind


@dataclass(frozen=True, slots=True)
class GrantBalance:
    """What draw-down needs to know of a grant: its credits left (not held) and its ordering."""

    grant_id: str
    kind: GrantKind
    remaining: int
    priority: int
    expires_at: datetime | None
    channel: Channel
    seq: int
    """Creation order: a larger number is a younger grant."""


@dataclass(frozen=True, slots=True)
class Allocation:
    grant_id: str
    kind: GrantKind
    credits: int


def is_spendable(grant: GrantBalance, *, now: datetime, channel: Channel | None) -> bool:
    """A grant pays only while unexpired and, when the spend names a channel, on that channel."""
    if grant.remaining <= 0:
        return False
    if grant.expires_at is not None and grant.expires_at <= now:
        return False
    return channel is None or grant.channel in (Channel.ANY, channel)


def spendable(
    grants: Iterable[GrantBalance], *, now: datetime, channel: Channel | None
) -> list[GrantBalance]:
    """The grants a spend on `channel` may draw from, in draw-down order."""
    usable = [g for g in grants if is_spendable(g, now=now, channel=channel)]
    usable.sort(key=draw_down_order)
    return usable


def draw_down(
    grants: Sequence[GrantBalance], credits: int, *, now: datetime, channel: Channel | None
) -> list[Allocation]:
    """Split `credits` over the grants in draw-down order, or refuse the whole spend.

    A spend is all or nothing: when the spendable grants cannot cover it, nothing is taken.
    """
    if credits <= 0:
        raise ValueError("a spend takes a positive number of credits")
    usable = spendable(grants, now=now, channel=channel)
    available = sum(g.remaining for g in usable)
    if available < credits:
        raise InsufficientCredits(available=available, requested=credits)
    allocations: list[Allocation] = []
    left = credits
    for grant in usable:
        take = min(grant.remaining, left)
        allocations.append(Allocation(grant.grant_id, grant.kind, take))
        left -= take
        if left == 0:
            break
    return allocations


def draw_down_order(grant: GrantBalance) -> tuple[int, datetime, int]:
    """The sort key of rule 2: never-expiring grants sort after every dated one."""
    return (grant.priority, grant.expires_at or _NEVER, grant.seq)


_NEVER = datetime.max.replace(tzinfo=UTC)


def split_capture(
    allocations: Sequence[Allocation], credits: int
) -> tuple[list[Allocation], list[Allocation]]:
    """Split a hold's allocations into the part captured and the part released (rule 5).

    The captured credits come from the allocations in the order they were drawn, so a partial
    capture spends the credits that would have been spent first anyway.
    """
    held = sum(a.credits for a in allocations)
    if not 0 <= credits <= held:
        raise ValueError(f"cannot capture {credits} of {held} held credits")
    captured: list[Allocation] = []
    released: list[Allocation] = []
    left = credits
    for allocation in allocations:
        take = min(allocation.credits, left)
        left -= take
        if take:
            captured.append(Allocation(allocation.grant_id, allocation.kind, take))
        if allocation.credits - take:
            released.append(
                Allocation(allocation.grant_id, allocation.kind, allocation.credits - take)
            )
    return captured, released
