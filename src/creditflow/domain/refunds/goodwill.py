"""The goodwill policy, from source 003: refunds follow how much of the order was used.

The order matters ("first that decides wins"): the window and the refund history shut the door
before any approval, and a clear fault of ours (duplicate, charged failure, nothing delivered)
is settled before usage is weighed. Usage between minimal and substantial earns a share back.
"""

from __future__ import annotations

from creditflow.domain.catalog import Refunds
from creditflow.domain.refunds import rules
from creditflow.domain.refunds.facts import RefundFacts, RefundRecommendation

CHAIN: tuple[rules.Rule, ...] = (
    rules.account_in_good_standing,
    rules.within_window,
    rules.refund_history,
    rules.duplicate_charge,
    rules.failed_job_charged,
    rules.technical_failure_total,
    rules.minimal_use,
    rules.substantial_use,
    rules.approve_partial,
)


def recommend(facts: RefundFacts, settings: Refunds) -> RefundRecommendation:
    return rules.decide(facts, settings, CHAIN)
