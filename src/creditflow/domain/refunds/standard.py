"""The standard policy, from source 002: non-refundable but for duplicates, mistaken renewals and
repeated system failures, with EU consumer law flagged for support.

002 sets no deadline, so there is no window here. `statutory_rights` is listed on every
recommendation and never decides: the law of the country may oblige more than the policy does.
"""

from __future__ import annotations

from creditflow.domain.catalog import Refunds
from creditflow.domain.refunds import rules
from creditflow.domain.refunds.facts import RefundFacts, RefundRecommendation

CHAIN: tuple[rules.Rule, ...] = (
    rules.account_in_good_standing,
    rules.duplicate_charge,
    rules.accidental_renewal,
    rules.technical_failure,
    rules.statutory_rights,
)


def recommend(facts: RefundFacts, settings: Refunds) -> RefundRecommendation:
    return rules.decide(facts, settings, CHAIN, always=(rules.statutory_rights,))
