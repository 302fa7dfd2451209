"""Which kind of change a plan change is: by rank, then by interval, from the catalog (rule 25).

Never by comparing prices per day: a yearly price is usually cheaper per day than a monthly one,
and moving to it is still a step up that is paid for now.
"""

from __future__ import annotations

from enum import StrEnum


class ChangeKind(StrEnum):
    UPGRADE = "upgrade"
    """Takes effect at once, prorated (rule 10): a higher rank, or month to year."""
    UPGRADE_THEN_MONTHLY = "upgrade_then_monthly"
    """A higher rank from a yearly plan to a monthly one: the rank at once, on the yearly
    interval already paid for; the monthly interval from the period end."""
    AT_PERIOD_END = "at_period_end"
    """The same rank, year to month: waits for the period end."""
    DOWNGRADE = "downgrade"
    """A lower rank (rule 11): at the period end, or refused, as the catalog says."""


def classify_change(
    *, current_rank: int, current_interval: str, target_rank: int, target_interval: str
) -> ChangeKind:
    if target_rank < current_rank:
        return ChangeKind.DOWNGRADE
    year_to_month = (current_interval, target_interval) == ("year", "month")
    if target_rank > current_rank:
        return ChangeKind.UPGRADE_THEN_MONTHLY if year_to_month else ChangeKind.UPGRADE
    return ChangeKind.AT_PERIOD_END if year_to_month else ChangeKind.UPGRADE
