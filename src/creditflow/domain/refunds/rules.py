"""The rules the refund policies share, each tied to the written policy it comes from.

A rule returns a `Verdict`: the `RuleResult` support reads, and an outcome when the rule settles
the request (None lets the next rule speak). `passed` means the condition in the spec's "passes
when" column holds, so `substantial_use` passes when it denies; `non_refundable` has no condition
and never passes. Money stays in int minor units; ratios are exact Fractions, halves round up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from creditflow.domain.catalog import Refunds
from creditflow.domain.proration import round_half_up
from creditflow.domain.refunds.facts import (
    JobFact,
    OrderFacts,
    Outcome,
    RefundFacts,
    RefundRecommendation,
    RuleResult,
)

EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()  # noqa: SIM905
)
"""The EU-27 as ISO 3166 codes (Greece is GR, not the EU's own EL)."""
FRAUD_PROOF = frozenset({"police_report", "bank_statement"})
OUTAGE_MIN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's finding; `outcome` None means the rule does not settle the request."""

    result: RuleResult
    outcome: Outcome | None = None
    amount: int | None = None
    credits: int | None = None


Rule = Callable[[RefundFacts, Refunds], Verdict]


def decide(
    facts: RefundFacts, settings: Refunds, chain: Sequence[Rule], *, always: Sequence[Rule] = ()
) -> RefundRecommendation:
    """The first rule of `chain` that settles wins; `always` rules are listed whatever happened,
    so support sees them even when an earlier rule decided."""
    results: list[RuleResult] = []
    settled: Verdict | None = None
    for rule in chain:
        verdict = rule(facts, settings)
        results.append(verdict.result)
        if verdict.outcome is not None:
            settled = verdict
            break
    if settled is None:
        settled = non_refundable(facts, settings)
        results.append(settled.result)
    seen = {result.rule for result in results}
    results += [
        r.result for r in (rule(facts, settings) for rule in always) if r.result.rule not in seen
    ]
    return RefundRecommendation(
        settled.outcome or Outcome.DENY, tuple(results), settled.amount, settled.credits
    )


def account_in_good_standing(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 003: no refund for an account that "abused ... payment disputes"; a dispute already
    claws the money back through the bank, so refunding too would pay twice."""
    if facts.account_suspended:
        return _deny("account_in_good_standing", "The account is suspended.")
    if facts.open_dispute:
        return _deny("account_in_good_standing", "The account has an open payment dispute.")
    return _go_on("account_in_good_standing", True, "The account is in good standing.")


def within_window(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 001/003: "within 7 days of the purchase". The window is closed at its end: exactly
    `window_days` after `paid_at` is in, one second more is out."""
    elapsed = facts.request.submitted_at - facts.order.paid_at
    passed = elapsed <= timedelta(days=settings.window_days)
    detail = (
        f"Submitted {_duration(elapsed)} after the purchase; "
        f"the window is {_plural(settings.window_days, 'day')}."
    )
    return _go_on("within_window", True, detail) if passed else _deny("within_window", detail)


def refund_history(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 003: not eligible when "the same user or related accounts repeatedly request
    refunds"; the count already covers accounts linked by payment fingerprint or email."""
    count, limit = facts.approved_refunds_past_year, settings.max_refunds_per_year
    detail = (
        f"{_plural(count, 'refund')} approved in the past 365 days for this account and "
        f"linked accounts; the limit is {limit}."
    )
    return (
        _go_on("refund_history", True, detail) if count < limit else _deny("refund_history", detail)
    )


def duplicate_charge(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 001 "charged multiple times for the same order", 002 "clearly duplicate charges",
    003 "duplicate ... payment": only the extra payments go back, less what was already returned."""
    payments = facts.order.payments
    if len(payments) < 2:
        return _go_on("duplicate_charge", False, "The order was paid once.")
    flagged = [p.amount for p in payments if p.duplicate] or [p.amount for p in payments[1:]]
    amount = max(sum(flagged) - facts.order.refunded, 0)
    paid = f"The order was paid {len(payments)} times; the extra payments come to {sum(flagged)}"
    if amount == 0:
        return _go_on("duplicate_charge", False, f"{paid}, already given back.")
    detail = f"{paid}, of which {_money(amount, facts.order)} is not yet given back."
    return Verdict(RuleResult("duplicate_charge", True, detail), Outcome.APPROVE_FULL, amount)


def service_outage(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 001: "completely unavailable for more than 24 consecutive hours". The spec reads it
    as 24 h or more (exactly 24 h passes); an open incident lasts until `now`. It must overlap the
    time since the purchase, or for a subscription order the period it paid for."""
    start, end = facts.order.paid_at, facts.now
    if facts.order.service_period is not None:
        start, end = facts.order.service_period[0], facts.order.service_period[1] or facts.now
    for incident in facts.incidents:
        until = incident.ended_at or facts.now
        if (
            until - incident.started_at >= OUTAGE_MIN
            and incident.started_at < end
            and until > start
        ):
            detail = (
                f"An outage of {_duration(until - incident.started_at)} from "
                f"{_when(incident.started_at)} overlaps the time the order paid for."
            )
            return Verdict(
                RuleResult("service_outage", True, detail), Outcome.APPROVE_FULL, _left(facts.order)
            )
    detail = f"No outage of 24 hours or more overlaps {_when(start)} to {_when(end)}."
    return _go_on("service_outage", False, detail)


def fraud_with_proof(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 001: "account was stolen ... (you need to provide a police report or bank proof)";
    a fraud claim without that proof is denied rather than left to the catch-all."""
    request = facts.request
    if request.reason != "fraud":
        return _go_on("fraud_with_proof", False, f"The reason is {request.reason}, not fraud.")
    proof = sorted(FRAUD_PROOF & set(request.evidence_kinds))
    if not proof:
        return _deny(
            "fraud_with_proof", "Fraud is claimed without a police report or bank statement."
        )
    detail = f"Fraud is claimed with proof: {', '.join(proof).replace('_', ' ')}."
    return Verdict(
        RuleResult("fraud_with_proof", True, detail), Outcome.APPROVE_FULL, _left(facts.order)
    )


def non_refundable(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 001 "generally non-refundable", 002 "generally non-refundable": the default when no
    exception of the policy applies."""
    detail = (
        f"No exception of the {settings.policy} policy applies to reason {facts.request.reason}."
    )
    return _deny("non_refundable", detail)


def statutory_rights(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 002: "where required by local law (for example certain EU consumer rules)". It never
    changes the outcome: it flags the request so support checks the law of the country."""
    country = facts.country
    if country is None:
        return _go_on("statutory_rights", False, "The account's country is not known.")
    if country in EU_COUNTRIES:
        return _go_on("statutory_rights", True, f"{country} is in the EU: check its consumer law.")
    return _go_on("statutory_rights", False, f"{country} is not in the EU.")


def accidental_renewal(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 002: "a renewal occurred by mistake ... if credits were not used after renewal";
    once renewal credits are spent the customer has had the service, so it is a deny."""
    if facts.order.kind != "renewal" or facts.request.reason != "accidental_renewal":
        order, reason = facts.order.kind, facts.request.reason
        detail = f"Not a claim of accidental renewal (order {order}, reason {reason})."
        return _go_on("accidental_renewal", False, detail)
    spent = facts.usage.spent
    if spent > 0:
        return _deny("accidental_renewal", f"{_plural(spent, 'credit')} of the renewal were spent.")
    detail = "No credit of the renewal was spent."
    return Verdict(
        RuleResult("accidental_renewal", True, detail), Outcome.APPROVE_FULL, _left(facts.order)
    )


def technical_failure(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 002: "repeated failed runs caused by our system" earn "replacement credits": at least
    the credits the failed jobs cost. Only workers and timeouts fail a job, so failed = system."""
    failed = [j for j in facts.jobs if j.status == "failed" and j.created_at >= facts.order.paid_at]
    needed = settings.technical_failure_min_failed_jobs
    detail = f"{_plural(len(failed), 'job')} failed since the purchase; {needed} are needed"
    if len(failed) < needed:
        return _go_on("technical_failure", False, f"{detail}.")
    credits = _cost(failed)
    detail = f"{detail}; they cost {_plural(credits, 'credit')}."
    return Verdict(
        RuleResult("technical_failure", True, detail), Outcome.REPLACEMENT_CREDITS, credits=credits
    )


def technical_failure_total(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 003: "a technical failure prevented the service from delivering any usable result":
    every job run on the order's credits failed (at least one ran), so the whole order goes back."""
    on_order = [j for j in facts.jobs if j.on_order]
    failed = sum(1 for j in on_order if j.status == "failed")
    detail = f"{failed} of the {_plural(len(on_order), 'job')} run on the order's credits failed."
    if not on_order or failed < len(on_order):
        return _go_on("technical_failure", False, detail)
    return Verdict(
        RuleResult("technical_failure", True, detail), Outcome.APPROVE_FULL, _left(facts.order)
    )


def failed_job_charged(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 003: "credits were charged for a failed job that was not automatically refunded".
    The credits are paid back in money at the order's price per credit, or as credits when the
    order granted none to price them by."""
    named = set(facts.request.job_ids)
    jobs = [j for j in facts.jobs if j.id in named and j.status == "failed" and j.charged]
    if not jobs:
        return _go_on(
            "failed_job_charged", False, "No job named in the request failed and was charged."
        )
    credits, granted = _cost(jobs), facts.usage.granted
    detail = f"{_plural(len(jobs), 'named job')} failed and kept {_plural(credits, 'credit')}"
    if granted <= 0:
        result = RuleResult("failed_job_charged", True, f"{detail}; the order granted no credits.")
        return Verdict(result, Outcome.REPLACEMENT_CREDITS, credits=credits)
    amount = min(round_half_up(Fraction(facts.order.total * credits, granted)), _left(facts.order))
    detail = f"{detail}, worth {_money(amount, facts.order)} of the {granted} credits bought."
    return Verdict(
        RuleResult("failed_job_charged", True, detail), Outcome.APPROVE_PARTIAL, amount, credits
    )


def minimal_use(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 003: "have not used the service or used only minimal credits"; exactly the ratio
    still counts as minimal. A downloaded output means the customer kept a result."""
    usage, downloads = facts.usage, _downloads(facts)
    share = _spent_text(usage.spent, usage.granted)
    limit = f"minimal use is at most {_percent(settings.minimal_use_ratio)}"
    if usage.spent > _part(settings.minimal_use_ratio, usage.granted):
        return _go_on("minimal_use", False, f"{share}; {limit}.")
    if downloads:
        detail = f"{share}, but {_plural(downloads, 'output')} downloaded."
        return _go_on("minimal_use", False, detail)
    detail = f"{share}, nothing downloaded; {limit}."
    return Verdict(
        RuleResult("minimal_use", True, detail), Outcome.APPROVE_FULL, _left(facts.order)
    )


def substantial_use(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 003: "a substantial portion of credits has been used" (more than the ratio; exactly
    the ratio is not) or "outputs have been downloaded ... after meaningful use", meaning more
    than minimal use."""
    usage, downloads = facts.usage, _downloads(facts)
    share = _spent_text(usage.spent, usage.granted)
    if usage.spent > _part(settings.substantial_use_ratio, usage.granted):
        detail = f"{share}; more than {_percent(settings.substantial_use_ratio)} is substantial."
        return _deny("substantial_use", detail, passed=True)
    if downloads and usage.spent > _part(settings.minimal_use_ratio, usage.granted):
        detail = f"{share} and {_plural(downloads, 'output')} downloaded after meaningful use."
        return _deny("substantial_use", detail, passed=True)
    limit = _percent(settings.substantial_use_ratio)
    return _go_on("substantial_use", False, f"{share}; substantial use is more than {limit}.")


def approve_partial(facts: RefundFacts, settings: Refunds) -> Verdict:
    """Source 003: "offer a partial refund ... depending on the amount of use": the share of the
    order whose credits are unspent, less what was already given back."""
    usage, order = facts.usage, facts.order
    unspent = max(usage.granted - usage.spent, 0)
    share = Fraction(unspent, usage.granted) if usage.granted > 0 else Fraction(1)
    amount = max(round_half_up(order.total * share) - order.refunded, 0)
    detail = (
        f"{_plural(unspent, 'credit')} of {usage.granted} unspent: "
        f"{_money(amount, order)} of the {order.total} paid goes back."
    )
    return Verdict(
        RuleResult("approve_partial", True, detail), Outcome.APPROVE_PARTIAL, amount, unspent
    )


def _go_on(rule: str, passed: bool, detail: str) -> Verdict:
    return Verdict(RuleResult(rule, passed, detail))


def _deny(rule: str, detail: str, *, passed: bool = False) -> Verdict:
    return Verdict(RuleResult(rule, passed, detail), Outcome.DENY)


def _left(order: OrderFacts) -> int:
    """A full refund is what the order cost less what already went back."""
    return max(order.total - order.refunded, 0)


def _part(ratio: Decimal, granted: int) -> Fraction:
    return Fraction(ratio) * granted


def _cost(jobs: Sequence[JobFact]) -> int:
    return sum(job.cost for job in jobs)


def _downloads(facts: RefundFacts) -> int:
    """The facts carry downloads twice (in total and per job); trust the larger."""
    return max(facts.downloads_after_use, sum(j.downloads for j in facts.jobs if j.on_order))


def _spent_text(spent: int, granted: int) -> str:
    return f"{_plural(spent, 'credit')} of {granted} spent"


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f} %"


def _money(amount: int, order: OrderFacts) -> str:
    return f"{amount} ({order.currency} minor units)"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _when(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="minutes")


def _duration(span: timedelta) -> str:
    sign, span = ("minus " if span < timedelta(0) else ""), abs(span)
    minutes, seconds = divmod(span.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    units = [(span.days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")]
    parts = [_plural(n, unit) for n, unit in units if n] or ["0 seconds"]
    return sign + (parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}")
