"""Request bodies. Strict: a string where a number belongs is refused, not coerced."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from creditflow.domain.kinds import MAX_CREDITS

Credits = Annotated[StrictInt, Field(gt=0, le=MAX_CREDITS)]
Text = Annotated[StrictStr, Field(max_length=1000)]
Reference = Annotated[StrictStr, Field(max_length=255)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AccountCreate(Body):
    external_id: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    email: Annotated[StrictStr, Field(min_length=3, max_length=320)]
    country: Annotated[StrictStr, Field(min_length=2, max_length=2)] | None = None


class GrantCreate(Body):
    credits: Credits
    kind: StrictStr
    reason: Text
    expires_at: Annotated[AwareDatetime, Field(strict=False)] | None = None
    priority: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None
    channel: StrictStr | None = None


class ConsumeCreate(Body):
    credits: Credits
    channel: StrictStr | None = None
    reason: Text | None = None
    reference: Reference | None = None


class HoldCreate(ConsumeCreate):
    expires_in_seconds: Annotated[StrictInt, Field(gt=0, le=7 * 24 * 3600)] | None = None


class HoldCapture(Body):
    credits: Annotated[StrictInt, Field(ge=0, le=MAX_CREDITS)] | None = None


class ClockAdvance(Body):
    seconds: Annotated[StrictInt, Field(ge=0)] | None = None
    to: Annotated[AwareDatetime, Field(strict=False)] | None = None


Role = Literal["admin", "service", "support", "worker"]


Provider = Literal["test", "stripe", "paddle", "creem"]


ReturnAddress = Annotated[StrictStr, Field(min_length=8, max_length=2000, pattern=r"^https?://")]
"""Where a hosted checkout sends the customer back (the catalog's `[site]` one when absent)."""


class SubscriptionCreate(Body):
    plan: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    interval: Literal["month", "year"]
    provider: Provider | None = None
    success_url: ReturnAddress | None = None
    cancel_url: ReturnAddress | None = None


class PlanChange(Body):
    plan: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    interval: Literal["month", "year"] | None = None


class CheckoutCreate(Body):
    product: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    credits: Annotated[StrictInt, Field(gt=0, le=MAX_CREDITS)] | None = None
    provider: Provider | None = None
    channel: StrictStr | None = None
    success_url: ReturnAddress | None = None
    cancel_url: ReturnAddress | None = None


class ResourceCreate(Body):
    type: StrictStr
    name: Annotated[StrictStr, Field(min_length=1, max_length=255)]


class TestPaymentBehavior(Body):
    __test__ = False
    behavior: Literal["succeed", "decline"]


class TestPayment(Body):
    """A further successful payment of an order, as a provider would report it (rule 22)."""

    __test__ = False
    amount: Annotated[StrictInt, Field(ge=0)] | None = None


class JobClaim(Body):
    operations: list[Annotated[StrictStr, Field(min_length=1, max_length=64)]] | None = None


class JobOutputBody(Body):
    content_type: Annotated[StrictStr, Field(min_length=3, max_length=128)]
    name: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    data: StrictStr
    """Base64."""


class JobCompletion(Body):
    outputs: Annotated[list[JobOutputBody], Field(min_length=1, max_length=16)]


class JobFailure(Body):
    error: Annotated[StrictStr, Field(min_length=1, max_length=2000)]


class OrderRefundCreate(Body):
    amount: Annotated[StrictInt, Field(gt=0, le=10**12)] | None = None
    """Minor units; all that is left when absent."""
    reason: Annotated[StrictStr, Field(min_length=1, max_length=1000)]


class EvidenceBody(Body):
    kind: Annotated[StrictStr, Field(min_length=1, max_length=32)]
    ref: Annotated[StrictStr, Field(min_length=1, max_length=1000)]


JobId = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class RefundRequestCreate(Body):
    order_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    reason: Annotated[StrictStr, Field(min_length=1, max_length=32)]
    description: Text | None = None
    evidence: Annotated[list[EvidenceBody], Field(max_length=20)] | None = None
    job_ids: (
        Annotated[list[Annotated[StrictStr, Field(max_length=64)]], Field(max_length=100)] | None
    ) = None


class RefundDecision(Body):
    outcome: Annotated[StrictStr, Field(min_length=1, max_length=32)]
    amount: Annotated[StrictInt, Field(gt=0, le=10**12)] | None = None
    credits: Credits | None = None
    note: Annotated[StrictStr, Field(min_length=1, max_length=2000)]


class DisputeCreate(Body):
    amount: Annotated[StrictInt, Field(gt=0, le=10**12)] | None = None
    reason: Text | None = None


class DisputeClose(Body):
    outcome: Literal["won", "lost"]


class IncidentCreate(Body):
    started_at: Annotated[AwareDatetime, Field(strict=False)]
    ended_at: Annotated[AwareDatetime, Field(strict=False)] | None = None
    summary: Annotated[StrictStr, Field(min_length=1, max_length=2000)]


class IncidentResolve(Body):
    ended_at: Annotated[AwareDatetime, Field(strict=False)]


EventTypes = Annotated[list[Annotated[StrictStr, Field(max_length=48)]], Field(max_length=64)]


class WebhookEndpointCreate(Body):
    url: Annotated[StrictStr, Field(min_length=1, max_length=2048)]
    events: EventTypes
    description: Annotated[StrictStr, Field(max_length=500)] | None = None


class WebhookEndpointUpdate(Body):
    url: Annotated[StrictStr, Field(min_length=1, max_length=2048)] | None = None
    events: EventTypes | None = None
    status: Literal["enabled", "disabled"] | None = None
    description: Annotated[StrictStr, Field(max_length=500)] | None = None


class Redelivery(Body):
    endpoint_id: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None


class AlertsUpdate(Body):
    low_balance: Annotated[StrictInt, Field(ge=0, le=MAX_CREDITS)] | None
    """Required: a number of credits (0: no alert), or null for the catalog's threshold."""


class PortalSessionCreate(Body):
    account_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    return_url: Annotated[StrictStr, Field(max_length=2000)] | None = None
