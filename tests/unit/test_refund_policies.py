"""The three refund policies walked row by row through the spec's tables, without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from creditflow.domain.catalog import Refunds
from creditflow.domain.refunds import POLICIES, due_by, recommend
from creditflow.domain.refunds.facts import (
    CreditUsage,
    IncidentFact,
    JobFact,
    OrderFacts,
    Outcome,
    PaymentFact,
    RefundFacts,
    RefundRecommendation,
    RequestFacts,
)
from creditflow.domain.refunds.rules import EU_COUNTRIES

T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""The purchase: a Monday morning."""
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def make(
    *,
    reason: str = "change_of_mind",
    evidence: tuple[str, ...] = (),
    job_ids: tuple[str, ...] = (),
    after: timedelta = DAY,
    kind: str = "pack",
    total: int = 1000,
    payments: tuple[int, ...] = (1000,),
    refunded: int = 0,
    service_period: tuple[datetime, datetime | None] | None = None,
    granted: int = 1000,
    spent: int = 0,
    jobs: tuple[JobFact, ...] = (),
    incidents: tuple[IncidentFact, ...] = (),
    approved_refunds: int = 0,
    suspended: bool = False,
    dispute: bool = False,
    country: str | None = "US",
    downloads: int = 0,
) -> RefundFacts:
    """A pack of 1000 minor units paid at T, 1000 credits, nothing spent, submitted a day later."""
    submitted = T + after
    order = OrderFacts(
        id="ord_1",
        kind=kind,
        total=total,
        currency="USD",
        paid_at=T,
        payments=tuple(PaymentFact(a, duplicate=i > 0) for i, a in enumerate(payments)),
        refunded=refunded,
        service_period=service_period,
    )
    left = granted - spent
    return RefundFacts(
        request=RequestFacts(reason, None, evidence, job_ids, submitted),
        order=order,
        usage=CreditUsage(granted, spent, held=0, expired=0, revoked=0, remaining=left),
        jobs=jobs,
        incidents=incidents,
        approved_refunds_past_year=approved_refunds,
        account_suspended=suspended,
        open_dispute=dispute,
        country=country,
        now=submitted,
        downloads_after_use=downloads,
    )


def job(
    id: str, status: str = "failed", cost: int = 10, *, charged: bool = False, on_order: bool = True
) -> JobFact:
    return JobFact(id, status, cost, T + HOUR, charged=charged, on_order=on_order)


def outage(start: timedelta, length: timedelta | None) -> IncidentFact:
    return IncidentFact(T + start, None if length is None else T + start + length)


@dataclass(frozen=True)
class Row:
    name: str
    facts: RefundFacts
    outcome: Outcome
    rule: str
    passed: bool
    amount: int | None = None
    credits: int | None = None


DUPLICATE = (1000, 1000)
STRICT = [
    Row(
        "a suspended account is denied",
        make(suspended=True),
        Outcome.DENY,
        "account_in_good_standing",
        False,
    ),
    Row(
        "an account under dispute is denied",
        make(dispute=True),
        Outcome.DENY,
        "account_in_good_standing",
        False,
    ),
    Row(
        "exactly 7 days after the purchase is within the window",
        make(after=7 * DAY, payments=DUPLICATE),
        Outcome.APPROVE_FULL,
        "within_window",
        True,
        1000,
    ),
    Row(
        "7 days and 1 second after the purchase is outside the window",
        make(after=7 * DAY + timedelta(seconds=1), payments=DUPLICATE),
        Outcome.DENY,
        "within_window",
        False,
    ),
    Row(
        "a duplicate charge gets the extra payment back",
        make(payments=DUPLICATE),
        Outcome.APPROVE_FULL,
        "duplicate_charge",
        True,
        1000,
    ),
    Row(
        "a duplicate already partly given back gets the rest",
        make(payments=DUPLICATE, refunded=400),
        Outcome.APPROVE_FULL,
        "duplicate_charge",
        True,
        600,
    ),
    Row(
        "an order paid once is no duplicate",
        make(reason="duplicate_charge"),
        Outcome.DENY,
        "duplicate_charge",
        False,
    ),
    Row(
        "an outage of exactly 24 hours since the purchase is refunded",
        make(incidents=(outage(HOUR, 24 * HOUR),), after=2 * DAY),
        Outcome.APPROVE_FULL,
        "service_outage",
        True,
        1000,
    ),
    Row(
        "an outage of 23 hours 59 minutes is not enough",
        make(incidents=(outage(HOUR, 24 * HOUR - timedelta(minutes=1)),), after=2 * DAY),
        Outcome.DENY,
        "service_outage",
        False,
    ),
    Row(
        "an open outage counts until now",
        make(incidents=(outage(2 * DAY, None),), after=3 * DAY),
        Outcome.APPROVE_FULL,
        "service_outage",
        True,
        1000,
    ),
    Row(
        "an open outage shorter than 24 hours until now does not count",
        make(incidents=(outage(2 * DAY, None),), after=2 * DAY + 23 * HOUR),
        Outcome.DENY,
        "service_outage",
        False,
    ),
    Row(
        "an outage that ended before the purchase does not count",
        make(incidents=(outage(-3 * DAY, 48 * HOUR),)),
        Outcome.DENY,
        "service_outage",
        False,
    ),
    Row(
        "an outage in a subscription's period counts",
        make(
            kind="subscription",
            service_period=(T, T + 30 * DAY),
            after=6 * DAY,
            incidents=(outage(2 * DAY, 30 * HOUR),),
        ),
        Outcome.APPROVE_FULL,
        "service_outage",
        True,
        1000,
    ),
    Row(
        "an outage after a subscription's period does not count",
        make(
            kind="subscription",
            service_period=(T - 30 * DAY, T - DAY),
            after=5 * DAY,
            incidents=(outage(HOUR, 30 * HOUR),),
        ),
        Outcome.DENY,
        "service_outage",
        False,
    ),
    Row(
        "fraud with a police report is refunded",
        make(reason="fraud", evidence=("police_report",)),
        Outcome.APPROVE_FULL,
        "fraud_with_proof",
        True,
        1000,
    ),
    Row(
        "fraud with a bank statement is refunded",
        make(reason="fraud", evidence=("screenshot", "bank_statement")),
        Outcome.APPROVE_FULL,
        "fraud_with_proof",
        True,
        1000,
    ),
    Row(
        "fraud without proof is denied",
        make(reason="fraud", evidence=("screenshot",)),
        Outcome.DENY,
        "fraud_with_proof",
        False,
    ),
    Row("a change of mind is not refundable", make(), Outcome.DENY, "non_refundable", False),
    Row(
        "unused credits are not refundable",
        make(reason="unused"),
        Outcome.DENY,
        "non_refundable",
        False,
    ),
    Row(
        "partial use is not refundable",
        make(reason="other", spent=300),
        Outcome.DENY,
        "non_refundable",
        False,
    ),
    Row(
        "an unusable result is not refundable",
        make(reason="unusable_result"),
        Outcome.DENY,
        "non_refundable",
        False,
    ),
]

FAILED_3 = (job("j1", cost=10), job("j2", cost=20), job("j3", cost=30))
STANDARD = [
    Row(
        "a suspended account is denied",
        make(suspended=True),
        Outcome.DENY,
        "account_in_good_standing",
        False,
    ),
    Row(
        "a duplicate charge gets the extra payment back",
        make(payments=DUPLICATE),
        Outcome.APPROVE_FULL,
        "duplicate_charge",
        True,
        1000,
    ),
    Row(
        "a duplicate charge has no window",
        make(payments=DUPLICATE, after=60 * DAY),
        Outcome.APPROVE_FULL,
        "duplicate_charge",
        True,
        1000,
    ),
    Row(
        "an order paid once is no duplicate",
        make(reason="duplicate_charge"),
        Outcome.DENY,
        "duplicate_charge",
        False,
    ),
    Row(
        "an accidental renewal with nothing spent is refunded",
        make(kind="renewal", reason="accidental_renewal"),
        Outcome.APPROVE_FULL,
        "accidental_renewal",
        True,
        1000,
    ),
    Row(
        "an accidental renewal with credits spent is denied",
        make(kind="renewal", reason="accidental_renewal", spent=1),
        Outcome.DENY,
        "accidental_renewal",
        False,
    ),
    Row(
        "a first subscription payment is no accidental renewal",
        make(kind="subscription", reason="accidental_renewal"),
        Outcome.DENY,
        "accidental_renewal",
        False,
    ),
    Row(
        "three failed jobs earn their credits back",
        make(jobs=(*FAILED_3, job("ok", "succeeded"))),
        Outcome.REPLACEMENT_CREDITS,
        "technical_failure",
        True,
        None,
        60,
    ),
    Row(
        "two failed jobs are not enough",
        make(jobs=FAILED_3[:2]),
        Outcome.DENY,
        "technical_failure",
        False,
    ),
    Row(
        "a German account is flagged for its statutory rights without changing a deny",
        make(country="DE"),
        Outcome.DENY,
        "statutory_rights",
        True,
    ),
    Row(
        "a German duplicate is still refunded, rights listed",
        make(country="DE", payments=DUPLICATE),
        Outcome.APPROVE_FULL,
        "statutory_rights",
        True,
        1000,
    ),
    Row("an American account has no EU rights", make(), Outcome.DENY, "statutory_rights", False),
    Row(
        "an account of unknown country has no EU rights",
        make(country=None),
        Outcome.DENY,
        "statutory_rights",
        False,
    ),
    Row(
        "anything else is not refundable",
        make(reason="unused"),
        Outcome.DENY,
        "non_refundable",
        False,
    ),
]

FAILED_CHARGED = job("bad", cost=50, charged=True)
GOODWILL = [
    Row(
        "a suspended account is denied",
        make(suspended=True),
        Outcome.DENY,
        "account_in_good_standing",
        False,
    ),
    Row(
        "exactly 7 days after the purchase is within the window",
        make(after=7 * DAY),
        Outcome.APPROVE_FULL,
        "within_window",
        True,
        1000,
    ),
    Row(
        "7 days and 1 second after the purchase is outside the window",
        make(after=7 * DAY + timedelta(seconds=1)),
        Outcome.DENY,
        "within_window",
        False,
    ),
    Row(
        "a refund history below the limit passes",
        make(),
        Outcome.APPROVE_FULL,
        "refund_history",
        True,
        1000,
    ),
    Row(
        "a refund history at the limit is denied",
        make(approved_refunds=1),
        Outcome.DENY,
        "refund_history",
        False,
    ),
    Row(
        "a duplicate charge gets the extra payment back",
        make(payments=DUPLICATE, spent=900),
        Outcome.APPROVE_FULL,
        "duplicate_charge",
        True,
        1000,
    ),
    Row(
        "a named failed job that was charged is paid back in money",
        make(job_ids=("bad",), jobs=(FAILED_CHARGED,), spent=600),
        Outcome.APPROVE_PARTIAL,
        "failed_job_charged",
        True,
        50,
        50,
    ),
    Row(
        "the money for a charged failed job rounds half up",
        make(job_ids=("bad",), jobs=(job("bad", cost=1, charged=True),), granted=400, spent=300),
        Outcome.APPROVE_PARTIAL,
        "failed_job_charged",
        True,
        3,
        1,
    ),
    Row(
        "a charged failed job of an order without credits gets replacement credits",
        make(job_ids=("bad",), jobs=(FAILED_CHARGED,), granted=0),
        Outcome.REPLACEMENT_CREDITS,
        "failed_job_charged",
        True,
        None,
        50,
    ),
    Row(
        "a named failed job whose credits came back is not charged",
        make(job_ids=("bad",), jobs=(job("bad", cost=50), job("ok", "succeeded")), spent=600),
        Outcome.DENY,
        "failed_job_charged",
        False,
    ),
    Row(
        "an order whose every job failed is refunded in full",
        make(jobs=(job("a"), job("b")), spent=600),
        Outcome.APPROVE_FULL,
        "technical_failure",
        True,
        1000,
    ),
    Row(
        "an order with one good job is no total failure",
        make(jobs=(job("a"), job("ok", "succeeded")), spent=300),
        Outcome.APPROVE_PARTIAL,
        "technical_failure",
        False,
        700,
        700,
    ),
    Row(
        "unused credits are refunded in full",
        make(),
        Outcome.APPROVE_FULL,
        "minimal_use",
        True,
        1000,
    ),
    Row(
        "exactly 10 % used is minimal use",
        make(spent=100),
        Outcome.APPROVE_FULL,
        "minimal_use",
        True,
        1000,
    ),
    Row(
        "10 % plus a credit is no longer minimal",
        make(spent=101),
        Outcome.APPROVE_PARTIAL,
        "minimal_use",
        False,
        899,
        899,
    ),
    Row(
        "minimal use with a download is not refunded in full",
        make(spent=50, downloads=1),
        Outcome.APPROVE_PARTIAL,
        "minimal_use",
        False,
        950,
        950,
    ),
    Row(
        "exactly 50 % used is not substantial",
        make(spent=500),
        Outcome.APPROVE_PARTIAL,
        "substantial_use",
        False,
        500,
        500,
    ),
    Row(
        "50 % plus a credit is substantial", make(spent=501), Outcome.DENY, "substantial_use", True
    ),
    Row(
        "downloads after meaningful use are denied",
        make(spent=300, downloads=2),
        Outcome.DENY,
        "substantial_use",
        True,
    ),
    Row(
        "downloads counted on the order's jobs are denied too",
        make(spent=300, jobs=(JobFact("j", "succeeded", 300, T, True, True, downloads=1),)),
        Outcome.DENY,
        "substantial_use",
        True,
    ),
    Row(
        "30 % used gets 70 % of the total back",
        make(spent=300),
        Outcome.APPROVE_PARTIAL,
        "approve_partial",
        True,
        700,
        700,
    ),
    Row(
        "a partial refund subtracts what was already given back",
        make(spent=300, refunded=100),
        Outcome.APPROVE_PARTIAL,
        "approve_partial",
        True,
        600,
        700,
    ),
    Row(
        "a partial refund rounds half up",
        make(total=999, spent=1000, granted=2000),
        Outcome.APPROVE_PARTIAL,
        "approve_partial",
        True,
        500,
        1000,
    ),
]


STRICT_DENIALS = ("account_in_good_standing", "within_window", "fraud_with_proof", "non_refundable")
"""The rules that end a strict recommendation with a deny; the others only let it go on."""


def _check(row: Row, policy: str) -> RefundRecommendation:
    result = recommend(row.facts, Refunds.model_validate({"policy": policy}))
    assert result.outcome == row.outcome
    assert (result.amount, result.credits) == (row.amount, row.credits)
    assert (row.rule, row.passed) in [(r.rule, r.passed) for r in result.rules]
    assert result.rules[0].rule == "account_in_good_standing"
    for rule in result.rules:
        assert rule.detail[0].isupper() or rule.detail[0].isdigit(), rule
        assert rule.detail.endswith("."), rule
    return result


@pytest.mark.parametrize("row", STRICT, ids=[r.name for r in STRICT])
def test_the_strict_policy_follows_its_table(row: Row) -> None:
    result = _check(row, "strict")
    if row.outcome == Outcome.DENY:
        assert result.rules[-1].rule in STRICT_DENIALS
    else:
        assert result.rules[-1].passed


@pytest.mark.parametrize("row", STANDARD, ids=[r.name for r in STANDARD])
def test_the_standard_policy_follows_its_table(row: Row) -> None:
    result = _check(row, "standard")
    assert [r.rule for r in result.rules].count("statutory_rights") == 1
    assert "within_window" not in [r.rule for r in result.rules]


@pytest.mark.parametrize("row", GOODWILL, ids=[r.name for r in GOODWILL])
def test_the_goodwill_policy_follows_its_table(row: Row) -> None:
    _check(row, "goodwill")


def test_the_goodwill_policy_checks_its_rules_in_the_written_order() -> None:
    result = recommend(make(spent=300), Refunds(policy="goodwill"))
    assert [r.rule for r in result.rules] == [
        "account_in_good_standing",
        "within_window",
        "refund_history",
        "duplicate_charge",
        "failed_job_charged",
        "technical_failure",
        "minimal_use",
        "substantial_use",
        "approve_partial",
    ]


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_suspended_account_is_denied_under_every_policy(policy: str) -> None:
    facts = make(suspended=True, payments=DUPLICATE, reason="fraud", evidence=("police_report",))
    result = recommend(facts, Refunds.model_validate({"policy": policy}))
    assert result.outcome == Outcome.DENY
    assert result.rules[0].rule == "account_in_good_standing"
    assert not result.rules[0].passed


def test_the_window_detail_gives_the_numbers() -> None:
    result = recommend(make(after=8 * DAY), Refunds(policy="strict"))
    assert result.rules[1].detail == "Submitted 8 days after the purchase; the window is 7 days."


def test_every_catalog_policy_has_a_module() -> None:
    policy_field = Refunds.model_fields["policy"].annotation
    assert set(POLICIES) == set(get_args(policy_field))


def test_the_eu_has_27_members() -> None:
    assert len(EU_COUNTRIES) == 27
    assert {"DE", "FR", "GR"} <= EU_COUNTRIES
    assert not {"GB", "CH", "NO", "US"} & EU_COUNTRIES


FRIDAY = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("submitted", "days", "due"),
    [
        (FRIDAY, 5, FRIDAY + 7 * DAY),
        (FRIDAY + DAY, 3, FRIDAY + 6 * DAY),
        (FRIDAY + 2 * DAY, 3, FRIDAY + 6 * DAY),
        (FRIDAY, 1, FRIDAY + 3 * DAY),
        (T, 3, T + 3 * DAY),
        (T, 0, T),
    ],
    ids=[
        "Friday plus 5 business days is the next Friday",
        "Saturday plus 3 business days is Thursday",
        "Sunday plus 3 business days is Thursday",
        "Friday plus 1 business day is Monday",
        "Monday plus 3 business days is Thursday",
        "no business days is the submission itself",
    ],
)
def test_the_review_is_due_after_business_days(
    submitted: datetime, days: int, due: datetime
) -> None:
    assert due_by(submitted, days) == due
