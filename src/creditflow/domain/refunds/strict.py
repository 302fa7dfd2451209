"""The strict policy, from source 001: "generally non-refundable" with three written exceptions.

The window comes before the exceptions because 001 only takes requests "within 7 days of the
purchase date"; a duplicate charge found later is still denied here (support may overrule).
"""

from __future__ import annotations

from creditflow.domain.catalog import Refunds
from creditflow.domain.refunds import rules
from creditflow.domain.refunds.facts import RefundFacts, RefundRecommendation

CHAIN: tuple[rules.Rule, ...] = (
    rules.account_in_good_standing,
    rules.within_window,
    rules.duplicate_charge,
    rules.service_outage,
    rules.fraud_with_proof,
)


def recommend(facts: RefundFacts, settings: Refunds) -> RefundRecommendation:
    return rules.decide(facts, settings, CHAIN)
