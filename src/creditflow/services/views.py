"""What use cases answer: the API's response bodies, and the Python API's return values.

They are pydantic models so that an idempotent replay can store one as JSON and give back the
very same bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class View(BaseModel):
    """Times serialize as RFC 3339 in UTC with a `Z`, as pydantic writes aware UTC datetimes."""

    model_config = ConfigDict(frozen=True)


class AccountView(View):
    id: str
    external_id: str
    email: str
    country: str | None
    status: str
    created_at: datetime


class GrantSource(View):
    type: str
    id: str | None


class GrantView(View):
    id: str
    account_id: str
    kind: str
    credits: int
    remaining: int
    held: int
    priority: int
    channel: str
    expires_at: datetime | None
    source: GrantSource
    reason: str | None
    created_at: datetime


class AllocationView(View):
    grant_id: str
    kind: str
    credits: int


class AvailableView(View):
    available: int


class SpendView(View):
    transaction_id: str
    credits: int
    allocations: list[AllocationView]
    balance: AvailableView


class BalanceGrantView(View):
    id: str
    kind: str
    remaining: int
    held: int
    expires_at: datetime | None
    priority: int
    channel: str
    source: GrantSource


class BalanceView(View):
    account_id: str
    channel: str | None
    available: int
    held: int
    by_kind: dict[str, int]
    grants: list[BalanceGrantView]


class HoldView(View):
    id: str
    account_id: str
    status: str
    credits: int
    captured: int
    released: int
    allocations: list[AllocationView]
    channel: str | None
    reason: str | None
    reference: str | None
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    release_reason: str | None
    balance: AvailableView | None = None


class LedgerEntryView(View):
    id: str
    transaction_id: str
    at: datetime
    type: str
    credits: int
    """Signed change to the account's available credits; they sum to `available`."""
    held: int
    """Signed change to the account's held credits; they sum to `held`."""
    grant_id: str
    kind: str
    hold_id: str | None
    reason: str | None
    reference: str | None
    balance_after: int
    held_after: int


class Page(View, Generic[T]):
    data: list[T]
    next_cursor: str | None


class ClockView(View):
    now: datetime
    processed: int | None = None


class ApiKeyView(View):
    id: str
    role: str
    secret: str
    label: str | None


class Money(View):
    amount: int
    """Minor units (cents)."""
    currency: str


class OrderItemView(View):
    product: str
    description: str
    credits: int
    amount: Money


class PaymentView(View):
    id: str
    provider: str
    provider_payment_id: str
    amount: Money
    status: str
    duplicate: bool
    created_at: datetime
    fingerprint: str | None = None
    """The card's fingerprint (or the provider's customer id): links accounts paying alike."""


class RefundView(View):
    id: str
    order_id: str
    amount: Money
    status: str
    """`pending` until the provider confirms (a call the provider could not take yet is asked
    again in the background); `succeeded`; `failed`."""
    provider: str
    provider_refund_id: str | None
    reason: str | None
    created_at: datetime


class OrderView(View):
    id: str
    account_id: str
    kind: str
    status: str
    items: list[OrderItemView]
    total: Money
    provider: str
    checkout_url: str | None
    subscription_id: str | None
    channel: str | None
    created_at: datetime
    paid_at: datetime | None
    payments: list[PaymentView]
    duplicate_charge: bool
    """Paid more than once (rule 22): the extra payment is refundable."""
    refunds: list[RefundView] = []
    """Money sent back, or on its way back, through the provider."""


class CreditNoteView(View):
    number: str
    pdf_url: str
    total: Money
    issued_at: datetime


class InvoiceView(View):
    number: str
    order_id: str
    pdf_url: str
    lines: list[OrderItemView]
    subtotal: Money
    tax: Money
    total: Money
    issued_at: datetime
    credit_notes: list[CreditNoteView]


class ScheduledChange(View):
    plan: str
    interval: str
    effective_at: datetime


class SubscriptionView(View):
    id: str
    account_id: str
    plan: str
    interval: str
    status: str
    provider: str
    current_period_start: datetime
    current_period_end: datetime
    current_cycle_start: datetime
    current_cycle_end: datetime
    cancel_at_period_end: bool
    scheduled_change: ScheduledChange | None
    order_id: str | None
    created_at: datetime
    ended_at: datetime | None
    checkout_url: str | None = None
    """Where the customer pays the first period, with a hosted provider."""


class ProrationView(View):
    fraction: float
    """The share of the period left, rounded for display; the charge uses `fraction_exact`."""
    fraction_exact: str
    """The same share as an exact fraction of microseconds ("1339200000000/2678400000000")."""
    charge: Money
    credits_granted: int


class PlanChangeView(View):
    subscription: SubscriptionView
    proration: ProrationView | None
    order_id: str | None


class DailyClaimView(View):
    credits: int
    grants: list[GrantView]
    expires_at: datetime


class AddonAllowanceView(View):
    plan: str
    limit: int
    bought: int
    left: int
    cycle_end: datetime
    price_per_1000_credits: Money


class DailyClaimStatusView(View):
    credits: int
    """What a claim now would give (the member's extra included)."""
    claimable: bool
    next_claim_at: datetime
    """When the next calendar day of the site begins (its time zone's midnight)."""


class FeatureView(View):
    limit: int | None = None
    used: int | None = None
    remaining: int | None = None
    enabled: bool | None = None
    resets_at: datetime | None = None


class EntitlementsView(View):
    account_id: str
    plan: str | None
    features: dict[str, FeatureView]


class ResourceView(View):
    id: str
    account_id: str
    type: str
    name: str
    created_at: datetime


class TestBehaviorView(View):
    __test__ = False
    account_id: str
    behavior: str


class JobInputView(View):
    format: str
    width: int
    height: int
    bytes: int
    sha256: str


class JobOutputView(View):
    n: int
    name: str
    content_type: str
    bytes: int
    url: str


class JobView(View):
    id: str
    account_id: str
    operation: str
    params: dict[str, Any]
    status: str
    """`queued` (credits held), `running` (a worker has it), `succeeded`, `failed`."""
    cost: int
    hold_id: str | None
    free_quota_used: bool
    input: JobInputView
    input_url: str
    outputs: list[JobOutputView]
    error: str | None
    created_at: datetime
    claimed_at: datetime | None
    deadline_at: datetime | None
    finished_at: datetime | None


class DownloadView(View):
    n: int
    key_id: str
    at: datetime


class WebhookOutcomeView(View):
    received: list[str]
    outcomes: list[str]
    """Per event: applied, unmatched, ignored or duplicate."""


class RuleView(View):
    rule: str
    passed: bool
    detail: str


class RecommendationView(View):
    outcome: str
    amount: Money | None = None
    credits: int | None = None
    rules: list[RuleView]


class EvidenceItem(View):
    kind: str
    ref: str


class DecisionView(View):
    outcome: str
    amount: Money | None = None
    credits: int | None = None
    note: str
    decided_by: str
    decided_at: datetime


class RefundRequestView(View):
    id: str
    order_id: str
    account_id: str
    status: str
    """in_review until support decides: approved, partially_approved, resolved_with_credits,
    denied."""
    reason: str
    description: str | None
    evidence: list[EvidenceItem]
    job_ids: list[str]
    due_by: datetime
    overdue: bool
    recommendation: RecommendationView
    decision: DecisionView | None
    refund_id: str | None
    created_at: datetime


class DisputeView(View):
    id: str
    order_id: str
    account_id: str
    provider: str
    status: str
    amount: Money
    fee: Money
    """The provider's chargeback fee, owed by the account."""
    credits_revoked: int
    created_at: datetime
    closed_at: datetime | None


class IncidentView(View):
    id: str
    started_at: datetime
    ended_at: datetime | None
    summary: str
    created_at: datetime


class EvidenceFileView(View):
    ref: str
    """`file:<sha256>`: put it in a refund request's evidence."""
    content_type: str
    bytes: int


class EventView(View):
    id: str
    type: str
    created_at: datetime
    account_id: str | None
    data: dict[str, Any]
    """`{"object": …}`: the object as the API answered it when the event was written."""


class WebhookEndpointView(View):
    id: str
    url: str
    events: list[str]
    description: str | None
    status: str
    """`enabled`, or `disabled` (by hand, or after 5 days of failed deliveries)."""
    disabled_reason: str | None = None
    created_at: datetime
    secret: str | None = None
    """`whsec_…`: shown when the endpoint is made and when its secret is rotated, only then."""


class WebhookAttemptView(View):
    at: datetime
    status_code: int | None
    error: str | None
    response: str | None
    """The first bytes of the answer."""
    duration_ms: int


class WebhookDeliveryView(View):
    id: str
    event_id: str
    endpoint_id: str
    status: str
    """`pending` (retried on the Standard Webhooks schedule), `delivered`, `failed`."""
    attempts: list[WebhookAttemptView]
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None


class AlertsView(View):
    account_id: str
    low_balance: int | None
    """The threshold below which `credits.low` is sent; None: no alert."""
    source: str
    """`account` (set with PUT …/alerts) or `catalog` (`[alerts] low_balance`)."""
