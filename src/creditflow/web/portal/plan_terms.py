"""A plan in a member's words: its prices, its perks, what its entitlements leave, and what
cancelling keeps and loses, all read off the catalog (rules 8, 9 and 16 and 004's list).

Pure functions of the catalog and of views: the plan page and its confirmations call them.
"""

from __future__ import annotations

from dataclasses import dataclass

from creditflow.domain.catalog import Catalog, Plan
from creditflow.services.views import EntitlementsView, Money
from creditflow.web.layer import local


@dataclass(frozen=True, slots=True)
class Price:
    interval: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Offer:
    """A plan as the page shows it: its prices, and what it gives in words."""

    plan: Plan
    prices: list[Price]
    perks: list[str]


@dataclass(frozen=True, slots=True)
class Allowance:
    """One entitlement of the account now: `value` in words, `note` beside it."""

    name: str
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Consequences:
    """What cancelling keeps (until the period end, and after) and what it loses then."""

    until_end: list[str]
    kept: list[str]
    lost: list[str]


def prices_of(catalog: Catalog, plan: Plan) -> list[Price]:
    currency = catalog.site.currency
    found = [(interval, plan.price.of(interval)) for interval in ("month", "year")]
    return [
        Price(interval, Money(amount=catalog.minor_units(amount), currency=currency))
        for interval, amount in found
        if amount is not None
    ]


def price_of(catalog: Catalog, plan: Plan, interval: str) -> Money | None:
    return next((p.amount for p in prices_of(catalog, plan) if p.interval == interval), None)


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def perks_of(catalog: Catalog, plan: Plan) -> list[str]:
    """A plan's credits and entitlements in words, the ones it gives beyond no plan."""
    given, free = plan.entitlements, catalog.free
    perks = [f"{plan.monthly_credits:,} credits every month"] if plan.monthly_credits else []
    if plan.daily_extra_credits and catalog.daily:
        perks.append(f"{plan.daily_extra_credits:,} extra credits to claim every day")
    if plan.addon_credits_per_month and catalog.addons:
        perks.append(f"Add-on credits, up to {plan.addon_credits_per_month:,} a month")
    if given.max_loras_per_generation:
        perks.append(f"Up to {count(given.max_loras_per_generation, 'LoRA')} per generation")
    for limit, one in (("private_models", "private model"), ("private_loras", "private LoRA")):
        if getattr(given, limit) > getattr(free, limit):
            perks.append(f"{count(getattr(given, limit), one)}")
    if given.free_lora_trainings_per_month:
        trainings = count(given.free_lora_trainings_per_month, "free LoRA training")
        perks.append(f"{trainings} a month")
    perks += [
        words
        for switch, words in (
            ("gif_avatar", "A GIF profile picture"),
            ("profile_banner", "A profile banner"),
            ("member_badge", "The member badge"),
        )
        if getattr(given, switch) and not getattr(free, switch)
    ]
    return perks


def offers(catalog: Catalog) -> list[Offer]:
    return [
        Offer(plan=plan, prices=prices_of(catalog, plan), perks=perks_of(catalog, plan))
        for plan in sorted(catalog.plans, key=lambda p: p.rank)
    ]


def allowances(entitlements: EntitlementsView, zone: str) -> list[Allowance]:
    """The account's entitlements now, with the slots used and the trainings left."""
    features = entitlements.features
    lines: list[Allowance] = []
    loras = features.get("max_loras_per_generation")
    if loras is not None:
        lines.append(Allowance("LoRAs per generation", f"Up to {loras.limit or 0:,}"))
    for key, name in (("private_models", "Private models"), ("private_loras", "Private LoRAs")):
        slots = features.get(key)
        if slots is None:
            continue
        if slots.limit:
            used = f"{slots.used or 0:,} of {slots.limit:,} used"
            lines.append(Allowance(name, used, f"{count(slots.remaining or 0, 'slot')} free"))
        else:
            made = f"the {slots.used:,} you made stay" if slots.used else ""
            lines.append(Allowance(name, "None", made))
    trainings = features.get("free_lora_trainings")
    if trainings is not None and (trainings.limit or trainings.used):
        resets = local(trainings.resets_at, zone, "date") if trainings.resets_at else ""
        lines.append(
            Allowance(
                "Free LoRA trainings",
                f"{trainings.remaining or 0:,} of {trainings.limit or 0:,} left",
                f"This month's count starts again on {resets}" if resets else "",
            )
        )
    for key, name in (
        ("gif_avatar", "GIF profile picture"),
        ("profile_banner", "Profile banner"),
        ("member_badge", "Member badge"),
    ):
        switch = features.get(key)
        if switch is not None:
            lines.append(Allowance(name, "Yes" if switch.enabled else "No"))
    return lines


def consequences(
    catalog: Catalog, plan: Plan, entitlements: EntitlementsView, ends: str
) -> Consequences:
    """What cancelling does, from the catalog's settings: rule 9 (everything lasts to the period
    end, no refund), rule 8 (plan credits left then lapse, whatever the rollover), rule 16 (what
    was made stays, new ones are refused) and 004's list of what a member loses."""
    given, free = plan.entitlements, catalog.free
    daily_extra = (
        " and its daily extra credits" if plan.daily_extra_credits and catalog.daily else ""
    )
    until_end = [
        f"{plan.name} stays as it is until {ends}: its credits, its entitlements{daily_extra}.",
        "There is no refund for the time left: it is yours until then.",
    ]
    kept = []
    if catalog.packs:
        expiring = any(pack.expires_after_days for pack in catalog.packs)
        kept.append(
            "Credits you bought in packs stay yours"
            + (", each until its own expiry date." if expiring else ": they never expire.")
        )
    addons = catalog.addons
    if addons and plan.addon_credits_per_month and addons.expires == "never":
        kept.append("Add-on credits you bought stay yours: they never expire.")
    features = entitlements.features
    for key, one in (("private_models", "private model"), ("private_loras", "private LoRA")):
        used = features[key].used if key in features else 0
        if used:
            stay = "stays" if used == 1 else "stay"
            kept.append(f"The {count(used, one)} you have made {stay} with your account.")
    for key, words in (("gif_avatar", "GIF profile picture"), ("profile_banner", "profile banner")):
        if (features[key].used if key in features else 0) and not getattr(free, key):
            kept.append(f"Your {words} stays as it is; a new one cannot be uploaded.")

    lost = [f"{plan.name} does not renew: no more charges, and no more plan credits."]
    rollover = catalog.subscriptions.rollover if catalog.subscriptions else "none"
    lost.append(
        f"Plan credits left on {ends} lapse"
        + (
            " (they only carry over when the plan renews)."
            if rollover == "on_renewal"
            else ", as they do at the end of every month."
        )
    )
    if addons and plan.addon_credits_per_month:
        lost.append("Buying add-on credits: they are for members.")
        if addons.expires == "end_of_cycle":
            lost.append(f"Add-on credits left on {ends} lapse with the month they were bought in.")
    if catalog.daily and plan.daily_extra_credits:
        lost.append(
            f"The daily extra credits: the daily claim goes back to {catalog.daily.credits:,}."
        )
    if given.max_loras_per_generation > free.max_loras_per_generation:
        lost.append(
            f"LoRAs per generation: {free.max_loras_per_generation:,} instead of "
            f"{given.max_loras_per_generation:,}."
        )
    for limit, many in (("private_models", "private models"), ("private_loras", "private LoRAs")):
        if getattr(given, limit) > getattr(free, limit):
            allowed = getattr(free, limit)
            lost.append(
                f"Room for {getattr(given, limit):,} {many}: "
                + (f"without a plan, {allowed:,}" if allowed else "new ones are for members")
                + "; the ones you have stay."
            )
    if given.free_lora_trainings_per_month > free.free_lora_trainings_per_month:
        left = free.free_lora_trainings_per_month
        lost.append(
            f"Free LoRA trainings: {given.free_lora_trainings_per_month:,} a month now, "
            + (f"{left:,} without a plan." if left else "none without a plan.")
        )
    for switch, words in (
        ("gif_avatar", "Uploading a GIF profile picture."),
        ("profile_banner", "Uploading a profile banner."),
        ("member_badge", "The member badge."),
    ):
        if getattr(given, switch) and not getattr(free, switch):
            lost.append(words)
    return Consequences(until_end=until_end, kept=kept, lost=lost)
