"""Refunds in a member's words: the site's written policy read off its catalog, and the
names of reasons, evidence and statuses (refund-policies.md).

Pure functions of the catalog, shared by the refunds and billing pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from creditflow.domain.catalog import Refunds

WINDOWED = ("strict", "goodwill")
"""The policies that take requests only within `window_days` of the purchase (002 sets none)."""
OPEN_TO_REFUND = ("paid", "partially_refunded")

REASON_WORDS = {
    "duplicate_charge": "I was charged twice",
    "service_outage": "The service was down",
    "fraud": "I did not make this purchase",
    "technical_failure": "Jobs failed because of a technical problem",
    "failed_job_charged": "A job failed and I was still charged",
    "accidental_renewal": "My plan renewed by mistake",
    "unused": "I have not used what I bought",
    "unusable_result": "The results could not be used",
    "change_of_mind": "I changed my mind",
    "other": "Something else",
}
EVIDENCE_WORDS = {
    "screenshot": "Screenshots or photos",
    "bank_statement": "A bank statement",
    "police_report": "A police report",
    "email": "An email",
    "job_output": "A result of a job",
    "other": "Something else",
}
STATUS_WORDS = {
    "in_review": ("In review", "info"),
    "approved": ("Approved", "ok"),
    "partially_approved": ("Partly approved", "ok"),
    "resolved_with_credits": ("Resolved with credits", "ok"),
    "denied": ("Declined", "bad"),
}
"""A request's status in words, and the tone of its badge."""
JOB_STATUS_WORDS = {
    "queued": "waiting",
    "running": "running",
    "succeeded": "done",
    "failed": "failed",
}


# The policy, in the member's words


@dataclass(frozen=True, slots=True)
class PolicyInWords:
    summary: str
    points: list[str]
    closing: str
    review: str


def in_days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _percent(ratio: Decimal) -> str:
    return f"{format((ratio * 100).normalize(), 'f')}%"


def policy_in_words(settings: Refunds) -> PolicyInWords:
    """What the catalog's policy means for a member, with the catalog's own numbers."""
    low, high = settings.review_business_days
    days = f"{low} to {high}" if low != high else str(high)
    review = (
        f"Support reads every request and answers within {days} business days. "
        "We email you when your request arrives and again when it is decided."
    )
    twice = "You were charged twice for the same order: the extra payment is refunded."
    if settings.policy == "strict":
        return PolicyInWords(
            summary="Purchases are non-refundable, except in these cases, when you ask within "
            f"{in_days(settings.window_days)} of the purchase:",
            points=[
                twice,
                "Our service was down for 24 hours or more in a row since your purchase "
                "(for a plan, during its current period): a full refund.",
                "A purchase you did not make (fraud), with a police report or a bank statement "
                "as proof: a full refund.",
            ],
            closing="Anything else (a change of mind, credits unused or partly used, a result "
            "you could not use) is not refunded.",
            review=review,
        )
    if settings.policy == "standard":
        failures = settings.technical_failure_min_failed_jobs
        return PolicyInWords(
            summary="Purchases are non-refundable, except in these cases:",
            points=[
                twice,
                "Your plan renewed when you did not mean it to, and you have not spent credits "
                "since the renewal: the renewal is refunded.",
                f"{failures} or more of your jobs failed because of a problem on our side since "
                "the purchase: replacement credits, at least what those jobs cost.",
                "If you live in the European Union, your rights as a consumer apply as well; "
                "support checks them with every request.",
            ],
            closing="Anything else is not refunded.",
            review=review,
        )
    most = settings.max_refunds_per_year
    return PolicyInWords(
        summary=f"You can ask for a refund within {in_days(settings.window_days)} of a purchase. "
        "What comes back depends on what went wrong and how much you used:",
        points=[
            twice,
            "A job you name in your request failed and its credits were not returned: those "
            "credits come back.",
            "Every job run on the order's credits failed: a full refund.",
            f"You used at most {_percent(settings.minimal_use_ratio)} of the order's credits "
            "and downloaded no result: a full refund.",
            f"You used more than {_percent(settings.substantial_use_ratio)}, or downloaded "
            "results after real use: no refund.",
            "In between: part of the price, in proportion to the credits left unused.",
        ],
        closing=(
            f"At most {most} refund{'' if most == 1 else 's'} a year per person. "
            if most
            else "Refunds are not given at the moment. "
        )
        + "A refund takes back the credits the order still holds; refunding a plan ends it at "
        "once.",
        review=review,
    )
