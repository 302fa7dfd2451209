"""What a refund policy may look at, gathered by the service layer before the policy runs.

A policy is a pure function of these facts (and the catalog's `[refunds]` numbers): it never
queries, so the same facts always give the same recommendation, and a test can state them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    APPROVE_FULL = "approve_full"
    APPROVE_PARTIAL = "approve_partial"
    REPLACEMENT_CREDITS = "replacement_credits"
    FREE_RETRY = "free_retry"
    DENY = "deny"


REASONS = (
    "duplicate_charge",
    "service_outage",
    "fraud",
    "technical_failure",
    "failed_job_charged",
    "accidental_renewal",
    "unused",
    "unusable_result",
    "change_of_mind",
    "other",
)
EVIDENCE_KINDS = (
    "police_report",
    "bank_statement",
    "screenshot",
    "job_output",
    "email",
    "other",
)


@dataclass(frozen=True, slots=True)
class PaymentFact:
    amount: int
    duplicate: bool
    """A successful payment of an order that was already paid (rule 22)."""


@dataclass(frozen=True, slots=True)
class CreditUsage:
    """What became of the credits an order granted, from the ledger."""

    granted: int
    spent: int
    held: int
    expired: int
    revoked: int
    remaining: int


@dataclass(frozen=True, slots=True)
class OrderFacts:
    id: str
    kind: str
    """pack, addon, subscription (first payment), renewal, upgrade."""
    total: int
    """Minor units the order costs (one payment's worth)."""
    currency: str
    paid_at: datetime
    payments: tuple[PaymentFact, ...]
    """Successful payments only."""
    refunded: int = 0
    """Minor units already given back."""
    service_period: tuple[datetime, datetime | None] | None = None
    """For a subscription order, the period it paid for; None for packs."""


@dataclass(frozen=True, slots=True)
class JobFact:
    id: str
    status: str
    """queued, running, succeeded, failed."""
    cost: int
    created_at: datetime
    charged: bool
    """The job's credits were captured (kept), not returned."""
    on_order: bool
    """The job was paid with this order's credits."""
    downloads: int = 0


@dataclass(frozen=True, slots=True)
class IncidentFact:
    started_at: datetime
    ended_at: datetime | None
    """None: still going on at `now`."""


@dataclass(frozen=True, slots=True)
class RequestFacts:
    reason: str
    description: str | None
    evidence_kinds: tuple[str, ...]
    job_ids: tuple[str, ...]
    """The jobs the customer names."""
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class RefundFacts:
    request: RequestFacts
    order: OrderFacts
    usage: CreditUsage
    jobs: tuple[JobFact, ...]
    """The account's jobs since the purchase."""
    incidents: tuple[IncidentFact, ...]
    approved_refunds_past_year: int
    """Approved refunds in the 365 days before submission, of the account and linked accounts."""
    account_suspended: bool
    open_dispute: bool
    country: str | None
    now: datetime
    downloads_after_use: int = 0
    """Downloads of outputs of jobs run on the order's credits."""
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class RefundRecommendation:
    outcome: Outcome
    rules: tuple[RuleResult, ...]
    amount: int | None = None
    """Minor units, for approvals."""
    credits: int | None = None
    """For replacement credits (or the credits a partial refund stands for)."""
