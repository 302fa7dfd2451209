"""What an account gets from the site and its plan: daily credits, entitlements, slots, quotas.

Rules 13 and 15 to 18. The plan that counts is the one of a subscription that has not ended
(active, or past_due while its renewal is retried); without one, the catalog's `[free]` applies.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.catalog import Catalog, Entitlements, Plan
from creditflow.domain.errors import Conflict, Forbidden, InvalidRequest
from creditflow.domain.kinds import GrantKind
from creditflow.domain.periods import local_day, local_month, next_local_midnight
from creditflow.ids import new_id
from creditflow.services.accounts import require_account
from creditflow.services.credits import grant_credits
from creditflow.services.views import (
    DailyClaimStatusView,
    DailyClaimView,
    EntitlementsView,
    FeatureView,
    GrantView,
    ResourceView,
)
from creditflow.store.subscriptions import LIVE, SubscriptionRecord
from creditflow.store.uow import UnitOfWork

FREE_TRAININGS = "free_lora_trainings_per_month"
SLOT_LIMITS = {"private_model": "private_models", "private_lora": "private_loras"}
SWITCHES = {"gif_avatar": "gif_avatar", "profile_banner": "profile_banner"}
RESOURCE_TYPES = (*SLOT_LIMITS, *SWITCHES)


def membership(
    uow: UnitOfWork, catalog: Catalog, account_id: str
) -> tuple[SubscriptionRecord | None, Plan | None]:
    subscription = uow.subscriptions.current(account_id)
    if subscription is None or subscription.status not in LIVE:
        return None, None
    return subscription, catalog.plan(subscription.plan)


def entitlements_of(catalog: Catalog, plan: Plan | None) -> Entitlements:
    return plan.entitlements if plan is not None else catalog.free


def daily_claim_status(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, account_id: str
) -> DailyClaimStatusView | None:
    """Whether today's daily credits wait to be claimed; None where the site gives none."""
    if catalog.daily is None:
        return None
    account = require_account(uow, account_id)
    _, plan = membership(uow, catalog, account.id)
    day = local_day(now, catalog.site.zone)
    return DailyClaimStatusView(
        credits=catalog.daily.credits + (plan.daily_extra_credits if plan else 0),
        claimable=not uow.memberships.claimed(account.id, day.isoformat()),
        next_claim_at=next_local_midnight(now, catalog.site.zone),
    )


def claim_daily_credits(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, account_id: str
) -> DailyClaimView:
    """Rule 13: once per site calendar day; members get their extra on top; lapse at midnight."""
    if catalog.daily is None:
        raise Conflict("This site gives no daily credits.", code="daily_credits_not_offered")
    account = require_account(uow, account_id, for_update=True)
    zone = catalog.site.zone
    day = local_day(now, zone)
    _, plan = membership(uow, catalog, account.id)
    extra = plan.daily_extra_credits if plan else 0
    if not uow.memberships.claim_day(
        account.id, day.isoformat(), catalog.daily.credits + extra, now
    ):
        raise Conflict(
            f"The daily credits of {day.isoformat()} ({catalog.site.timezone}) are claimed "
            "already; the next claim opens at midnight.",
            code="already_claimed",
            next_claim_at=next_local_midnight(now, zone).isoformat(),
        )
    expires_at = next_local_midnight(now, zone)
    grants: list[GrantView] = []
    for kind, credits in (
        (GrantKind.DAILY, catalog.daily.credits),
        (GrantKind.MEMBER_DAILY, extra),
    ):
        if credits:
            grants.append(
                grant_credits(
                    uow,
                    catalog=catalog,
                    now=now,
                    account_id=account.id,
                    credits=credits,
                    kind=kind,
                    reason=f"daily credits {day.isoformat()}",
                    expires_at=expires_at,
                    source_type="daily_claim",
                    source_id=day.isoformat(),
                )
            )
    return DailyClaimView(
        credits=sum(g.credits for g in grants), grants=grants, expires_at=expires_at
    )


def get_entitlements(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, account_id: str
) -> EntitlementsView:
    account = require_account(uow, account_id)
    subscription, plan = membership(uow, catalog, account.id)
    granted = entitlements_of(catalog, plan)
    counts = uow.memberships.resource_counts(account.id)
    cycle_start, cycle_end = quota_cycle(catalog, subscription, now)
    used = uow.memberships.quota_used(account.id, FREE_TRAININGS, cycle_start)
    features: dict[str, FeatureView] = {
        "max_loras_per_generation": FeatureView(limit=granted.max_loras_per_generation),
        "free_lora_trainings": FeatureView(
            limit=granted.free_lora_trainings_per_month,
            used=used,
            remaining=max(granted.free_lora_trainings_per_month - used, 0),
            resets_at=cycle_end,
        ),
        "member_badge": FeatureView(enabled=granted.member_badge),
    }
    for resource, limit_name in SLOT_LIMITS.items():
        limit = getattr(granted, limit_name)
        count = counts.get(resource, 0)
        features[limit_name] = FeatureView(limit=limit, used=count, remaining=max(limit - count, 0))
    for resource, switch in SWITCHES.items():
        features[switch] = FeatureView(
            enabled=getattr(granted, switch), used=counts.get(resource, 0)
        )
    return EntitlementsView(
        account_id=account.id, plan=plan.code if plan else None, features=features
    )


def create_resource(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, account_id: str, type: str, name: str
) -> ResourceView:
    """Rule 16: a new private model or LoRA needs a free slot; what exists stays."""
    if type not in RESOURCE_TYPES:
        raise InvalidRequest(
            f"Unknown resource type {type!r}; the types are {', '.join(RESOURCE_TYPES)}.",
            field="type",
        )
    name = name.strip()
    if not name or len(name) > 255:
        raise InvalidRequest("name must be 1 to 255 characters.", field="name")
    account = require_account(uow, account_id, for_update=True)
    _, plan = membership(uow, catalog, account.id)
    granted = entitlements_of(catalog, plan)
    if type in SLOT_LIMITS:
        limit = getattr(granted, SLOT_LIMITS[type])
        used = uow.memberships.resource_counts(account.id).get(type, 0)
        if used >= limit:
            raise Forbidden(
                f"No free {type.replace('_', ' ')} slot: {used} of {limit} used"
                + ("" if plan else " (members get more)")
                + ".",
                code="entitlement_exceeded",
                feature=SLOT_LIMITS[type],
                limit=limit,
                used=used,
            )
    elif not getattr(granted, SWITCHES[type]):
        raise Forbidden(
            f"A {type.replace('_', ' ')} is a member perk.",
            code="entitlement_exceeded",
            feature=SWITCHES[type],
        )
    resource_id = new_id("res")
    uow.memberships.add_resource(
        id=resource_id, account_id=account.id, type=type, name=name, now=now
    )
    return ResourceView(id=resource_id, account_id=account.id, type=type, name=name, created_at=now)


def check_loras(uow: UnitOfWork, *, catalog: Catalog, account_id: str, loras: int) -> None:
    """Rule 18: a generation with more LoRAs than the plan allows is refused before any hold."""
    _, plan = membership(uow, catalog, account_id)
    limit = entitlements_of(catalog, plan).max_loras_per_generation
    if loras > limit:
        raise Forbidden(
            f"{loras} LoRAs in one generation; the limit is {limit}.",
            code="entitlement_exceeded",
            feature="max_loras_per_generation",
            limit=limit,
            requested=loras,
        )


def use_free_training(uow: UnitOfWork, *, catalog: Catalog, now: datetime, account_id: str) -> bool:
    """Rule 17: take one of this cycle's free trainings if one is left (True), else False."""
    account = require_account(uow, account_id, for_update=True)
    subscription, plan = membership(uow, catalog, account.id)
    limit = entitlements_of(catalog, plan).free_lora_trainings_per_month
    cycle_start, _ = quota_cycle(catalog, subscription, now)
    if uow.memberships.quota_used(account.id, FREE_TRAININGS, cycle_start) >= limit:
        return False
    uow.memberships.change_quota(account.id, FREE_TRAININGS, cycle_start, 1)
    return True


def return_free_training(
    uow: UnitOfWork, *, catalog: Catalog, account_id: str, cycle_start: datetime
) -> None:
    """A failed training gives its free training back to the cycle it was taken from."""
    if uow.memberships.quota_used(account_id, FREE_TRAININGS, cycle_start) > 0:
        uow.memberships.change_quota(account_id, FREE_TRAININGS, cycle_start, -1)


def quota_cycle(
    catalog: Catalog, subscription: SubscriptionRecord | None, now: datetime
) -> tuple[datetime, datetime]:
    """Members count per monthly cycle of their plan; others per calendar month of the site."""
    if subscription is not None:
        return subscription.cycle_start, subscription.cycle_end
    return local_month(now, catalog.site.zone)
