"""The catalog: one site's products, prices and rule switches, checked once when the service starts.

The engine holds no site's numbers in code (rules.md), so a mistake in the catalog is a mistake in
the money: every model refuses unknown keys and loose types, so that a misspelt switch or a quoted
number stops the start instead of quietly changing a refund. A missing optional section switches
its feature off. Reading the file is creditflow.catalog_file's job; this module only judges data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from creditflow.domain.kinds import MAX_CREDITS, Channel, GrantKind

UNLISTED_KIND_PRIORITY = 1000
"""The draw-down priority of a kind the catalog does not rank: after every ranked kind, because
listed priorities must be below it. A site ranks the kinds it sells; the rest are spent last."""

QUOTA_ENTITLEMENTS = ("free_lora_trainings_per_month",)
"""Entitlements an operation may use as its free quota: only per-month counts can be used up."""

_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND XAF XOF".split()  # noqa: SIM905
_THREE_DECIMAL = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DAYS = re.compile(r"P([1-9][0-9]{0,4})D")

Loc = tuple[str | int, ...]
Interval = Literal["month", "year"]
ImageFormat = Literal["png", "jpeg", "bmp", "webp", "gif"]


class FloatLiteral(Decimal):
    """A number the file wrote with a decimal point (`0.10`, not `"0.10"`).

    The loader parses TOML floats as this, exactly: ratios take it, prices refuse it, because most
    other tools reading the same file would turn `9.99` into a binary float.
    """


def as_written(value: object) -> str:
    """A value as the catalog's author typed it, for messages: TOML spelling, not Python's."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return str(value)


def key_path(path: Sequence[str | int]) -> str:
    """`plans[1].price.month`: where a problem is, in the file's own terms."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            key = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part)
            text += f".{key}" if text else key
    return text


def currency_exponent(currency: str) -> int:
    """Decimals of the currency's minor unit (ISO 4217): 2 unless the small tables say otherwise."""
    return 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2


def _invalid(reason: str) -> PydanticCustomError:
    return PydanticCustomError("catalog_value", "{reason}", {"reason": reason})


def _refuse(problems: list[tuple[Loc, str]]) -> None:
    """Report every cross-key problem at once, each with its path relative to the failing model."""
    if problems:
        summary = "; ".join(f"{key_path(path)}: {message}" for path, message in problems)
        raise PydanticCustomError(
            "catalog_problems", "{summary}", {"summary": summary, "problems": problems}
        )


def _price(value: object) -> Decimal:
    if isinstance(value, FloatLiteral):
        raise _invalid(f'write prices as strings ("{value}") or integers, not as TOML floats')
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _invalid(f'must be a price such as "9.99" or an integer (got {as_written(value)})')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _invalid(f"is not a number (got {as_written(value)})") from None
    if not amount.is_finite():
        raise _invalid(f"must be a finite amount (got {as_written(value)})")
    if amount < 0:
        raise _invalid(f"must not be negative (got {as_written(value)})")
    return amount


def _price_text(amount: Decimal, info: SerializationInfo) -> str:
    """Prices go out as strings with the currency's decimals, so JSON never holds a float."""
    exponent = (info.context or {}).get("exponent")
    if isinstance(exponent, int):
        amount = amount.quantize(Decimal(1).scaleb(-exponent))
    return format(amount, "f")


def _ratio(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _invalid(f"must be a number between 0 and 1 (got {as_written(value)})")
    try:
        ratio = Decimal(value)
    except InvalidOperation:
        raise _invalid(f"is not a number (got {as_written(value)})") from None
    if not (ratio.is_finite() and 0 <= ratio <= 1):
        raise _invalid(f"must be between 0 and 1 (got {as_written(value)})")
    return ratio


def _business_days(value: object) -> tuple[int, int]:
    if not (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise _invalid(f"must be two whole numbers [min, max] (got {as_written(value)})")
    low, high = value
    if not 0 <= low <= high:
        raise _invalid(f"must be [min, max] with 0 <= min <= max (got [{low}, {high}])")
    return (low, high)


def _currency(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise _invalid(f'must be an ISO 4217 code of three capitals, such as "USD" (got "{value}")')
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _invalid(f'unknown time zone "{value}" (use an IANA name such as "UTC")') from None
    return value


def _code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise _invalid(
            f'must be 1-64 of a-z, 0-9, "_" and "-", not starting with either (got "{value}")'
        )
    if value == "addon":
        raise _invalid('"addon" is reserved: checkout names add-on credits with it')
    return value


def _operation_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise _invalid(
            f'operation names are a-z, 0-9 and "_", starting with a letter (got "{value}")'
        )
    return value


def _web_address(value: str) -> str:
    """Where people are sent back to: an absolute http(s) address with a host."""
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
        raise _invalid(
            f'must be an absolute address such as "https://example.com/" (got "{value}")'
        )
    return value


def _kind(value: object) -> GrantKind:
    if isinstance(value, str) and value in set(GrantKind):
        return GrantKind(value)
    known = ", ".join(GrantKind)
    raise _invalid(f"unknown credit kind {as_written(value)} (known: {known})")


def _sales_channel(value: object) -> Channel:
    if isinstance(value, str) and value in (Channel.WEB, Channel.APP):
        return Channel(value)
    raise _invalid(f'must be "web" or "app" (got {as_written(value)})')


def _pack_expiry(value: str) -> str:
    if value != "never" and not _DAYS.fullmatch(value):
        raise _invalid(f'must be "never" or a number of days such as "P365D" (got "{value}")')
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(_price),
    PlainSerializer(_price_text, return_type=str, when_used="json"),
]
Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
Count = Annotated[StrictInt, Field(ge=0)]
Positive = Annotated[StrictInt, Field(gt=0)]
CreditCount = Annotated[StrictInt, Field(ge=0, le=MAX_CREDITS)]
Text = Annotated[StrictStr, Field(min_length=1)]
Code = Annotated[StrictStr, AfterValidator(_code)]
WebAddress = Annotated[StrictStr, AfterValidator(_web_address)]


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise _invalid(f'must be a colour written "#rrggbb", such as "#2251ff" (got "{value}")')
    return value.lower()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Section):
    name: Text
    currency: Annotated[StrictStr, AfterValidator(_currency)]
    timezone: Annotated[StrictStr, AfterValidator(_timezone)]
    """Calendar days (daily claims) and months are counted here."""
    legal_name: Text | None = None
    """The seller on invoices; `name` when absent."""
    address: Text | None = None
    """The seller's postal address on invoices, lines separated by newlines."""
    email: Text | None = None
    """The sender of mail to customers, and the contact on invoices."""
    tax_id: Text | None = None
    """The seller's VAT or tax number, printed on invoices."""
    url: WebAddress | None = None
    """The site's own address: where a hosted checkout sends the customer back to."""
    checkout_success_url: WebAddress | None = None
    """After a paid hosted checkout (`url` when absent); the request may name its own."""
    checkout_cancel_url: WebAddress | None = None
    """After an abandoned hosted checkout (`url` when absent)."""
    logo_url: WebAddress | None = None
    """The site's logo at the top of the customer portal (its name when absent)."""
    accent_color: Annotated[StrictStr, AfterValidator(_colour)] | None = None
    """The portal's buttons and links, "#rrggbb"; the portal's own blue when absent."""
    support_email: Text | None = None
    """Where the portal tells members to write; `email` when absent."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Credits(_Section):
    priority: dict[
        Annotated[GrantKind, BeforeValidator(_kind)],
        Annotated[StrictInt, Field(ge=0, lt=UNLISTED_KIND_PRIORITY)],
    ]
    channels: tuple[Annotated[Channel, BeforeValidator(_sales_channel)], ...] = (
        Channel.WEB,
        Channel.APP,
    )
    default_channel: Annotated[Channel, BeforeValidator(_sales_channel)] | None = None
    """The channel purchases are scoped to (rule 3); None: purchased credits are usable anywhere."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[tuple[Loc, str]] = (
            [] if self.channels else [(("channels",), "must list at least one channel")]
        )
        for index, channel in enumerate(self.channels):
            if channel in self.channels[:index]:
                problems.append((("channels", index), f'"{channel}" is listed twice'))
        if self.default_channel is not None and self.default_channel not in self.channels:
            listed = ", ".join(f'"{c}"' for c in self.channels)
            message = f'"{self.default_channel}" is not among channels ({listed})'
            problems.append((("default_channel",), message))
        _refuse(problems)
        return self


class Alerts(_Section):
    low_balance: CreditCount | None = None
    """`credits.low` is sent when an account's available credits fall from this or more to
    below it; an account may set its own threshold."""


class Daily(_Section):
    credits: CreditCount
    expires: Literal["end_of_day"] = "end_of_day"


class Subscriptions(_Section):
    rollover: Literal["on_renewal", "none"] = "none"
    upgrade: Literal["immediate_prorated"] = "immediate_prorated"
    downgrade: Literal["at_period_end", "not_allowed"] = "at_period_end"


class Entitlements(_Section):
    """Limits and switches (rule 15). Not granted unless stated: 0 and false."""

    max_loras_per_generation: Count = 0
    private_models: Count = 0
    private_loras: Count = 0
    free_lora_trainings_per_month: Count = 0
    gif_avatar: StrictBool = False
    profile_banner: StrictBool = False
    member_badge: StrictBool = False


class PlanPrice(_Section):
    month: Price | None = None
    year: Price | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.month is None and self.year is None:
            raise _invalid("give a price for month, year or both")
        return self

    def of(self, interval: Interval) -> Decimal | None:
        return self.month if interval == "month" else self.year


class Plan(_Section):
    code: Code
    name: Text
    rank: Annotated[StrictInt, Field(ge=1)]
    """Higher is better: a change to a higher rank is an upgrade (rules 10 and 11)."""
    price: PlanPrice
    monthly_credits: CreditCount
    daily_extra_credits: CreditCount = 0
    addon_credits_per_month: CreditCount = 0
    entitlements: Entitlements = Field(default_factory=Entitlements)
    """Names left out take the catalog's [free] value: a plan never gives less than no plan."""


class Addons(_Section):
    price_per_1000_credits: Price
    expires: Literal["never", "end_of_cycle"] = "never"
    """`end_of_cycle`: add-on credits lapse with the monthly cycle they were bought in."""


class Pack(_Section):
    code: Code
    credits: Annotated[StrictInt, Field(gt=0, le=MAX_CREDITS)]
    price: Price
    expires: Annotated[StrictStr, AfterValidator(_pack_expiry)] = "never"
    """`never` (rule 6) or `P<n>D`: the credits lapse n days after purchase."""

    @property
    def expires_after_days(self) -> int | None:
        match = _DAYS.fullmatch(self.expires)
        return int(match.group(1)) if match else None


class Operation(_Section):
    credits: CreditCount
    per_lora: CreditCount = 0
    free_quota: StrictStr | None = None
    """A per-month entitlement a job uses up before it costs credits (rule 17)."""
    timeout_seconds: Positive = 900
    """A job's hold is released after this long (rule 5)."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.free_quota is not None and self.free_quota not in QUOTA_ENTITLEMENTS:
            known = ", ".join(QUOTA_ENTITLEMENTS)
            message = f'"{self.free_quota}" is not a per-month entitlement (known: {known})'
            _refuse([(("free_quota",), message)])
        return self

    def cost(self, loras: int = 0) -> int:
        return self.credits + self.per_lora * loras


class Images(_Section):
    formats: tuple[ImageFormat, ...]
    max_side: Positive
    max_bytes: Positive

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems: list[tuple[Loc, str]] = (
            [] if self.formats else [(("formats",), "must list at least one format")]
        )
        problems += [
            (("formats", index), f'"{name}" is listed twice')
            for index, name in enumerate(self.formats)
            if name in self.formats[:index]
        ]
        _refuse(problems)
        return self


class Refunds(_Section):
    """The refund policy and its numbers; defaults follow the reference catalogs."""

    policy: Literal["strict", "standard", "goodwill"] = "strict"
    window_days: Count = 7
    review_business_days: Annotated[tuple[int, int], BeforeValidator(_business_days)] = (3, 5)
    minimal_use_ratio: Ratio = Decimal("0.10")
    substantial_use_ratio: Ratio = Decimal("0.50")
    max_refunds_per_year: Count = 1
    technical_failure_min_failed_jobs: Annotated[StrictInt, Field(ge=1)] = 3
    dispute_fee: Price = Decimal("0")
    """What the payment provider charges the site for a chargeback; owed by the account."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.minimal_use_ratio > self.substantial_use_ratio:
            message = f"must not exceed substantial_use_ratio ({self.substantial_use_ratio})"
            _refuse([(("minimal_use_ratio",), message)])
        return self


def _country(value: str) -> str:
    if len(value) != 2 or not value.isascii() or not value.isupper():
        raise _invalid(f'"{value}" is not a two-letter country code such as "DE"')
    return value


class Tax(_Section):
    """Sales tax on invoices: a rate per buyer country; countries not listed pay none."""

    prices: Literal["inclusive", "exclusive"] = "exclusive"
    """`inclusive`: catalog prices contain the tax; `exclusive`: the tax is added on top."""
    rates: dict[Annotated[StrictStr, AfterValidator(_country)], Ratio] = Field(default_factory=dict)


class Catalog(_Section):
    site: Site
    credits: Credits
    daily: Daily | None = None
    subscriptions: Subscriptions | None = None
    """Present whenever plans are listed."""
    free: Entitlements = Field(default_factory=Entitlements)
    plans: tuple[Plan, ...] = ()
    addons: Addons | None = None
    packs: tuple[Pack, ...] = ()
    operations: dict[Annotated[StrictStr, AfterValidator(_operation_name)], Operation] = Field(
        default_factory=dict
    )
    images: Images | None = None
    """None: the site takes no input images."""
    tax: Tax | None = None
    """None: invoices carry no tax line."""
    alerts: Alerts | None = None
    """None: no low-balance alerts, unless an account sets its own threshold."""
    refunds: Refunds = Field(default_factory=Refunds)
    """Always on: a duplicate charge must stay refundable (rule 22), so the default is `strict`."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems = self._price_problems() + self._plan_problems()
        problems += _duplicates("packs", "code", [p.code for p in self.packs])
        _refuse(problems)
        inherited = tuple(
            plan.model_copy(update={"entitlements": self._with_free(plan.entitlements)})
            for plan in self.plans
        )
        object.__setattr__(self, "plans", inherited)  # frozen: fill in once, while validating
        return self

    def _with_free(self, given: Entitlements) -> Entitlements:
        return self.free.model_copy(
            update={name: getattr(given, name) for name in given.model_fields_set}
        )

    def _price_problems(self) -> list[tuple[Loc, str]]:
        prices: list[tuple[Loc, Decimal | None]] = []
        for i, plan in enumerate(self.plans):
            prices += [(("plans", i, "price", "month"), plan.price.month)]
            prices += [(("plans", i, "price", "year"), plan.price.year)]
        prices += [(("packs", i, "price"), pack.price) for i, pack in enumerate(self.packs)]
        if self.addons is not None:
            prices.append(
                (("addons", "price_per_1000_credits"), self.addons.price_per_1000_credits)
            )
        exponent, currency = self.currency_exponent, self.site.currency
        rule = f"at most {exponent} decimals" if exponent else "whole amounts"
        return [
            (path, f'{currency} prices take {rule} (got "{amount}")')
            for path, amount in prices
            if amount is not None and amount != amount.quantize(Decimal(1).scaleb(-exponent))
        ]

    def _plan_problems(self) -> list[tuple[Loc, str]]:
        problems = _duplicates("plans", "code", [p.code for p in self.plans])
        problems += _duplicates("plans", "rank", [p.rank for p in self.plans])
        if self.plans and self.subscriptions is None:
            problems.append((("subscriptions",), "required section is missing: plans are listed"))
        for i, plan in enumerate(self.plans):
            if plan.daily_extra_credits and self.daily is None:
                message = "needs a [daily] section: without one there are no daily claims"
                problems.append((("plans", i, "daily_extra_credits"), message))
            if plan.addon_credits_per_month and self.addons is None:
                message = "needs an [addons] section: without one add-ons are not sold"
                problems.append((("plans", i, "addon_credits_per_month"), message))
        return problems

    @property
    def currency_exponent(self) -> int:
        return currency_exponent(self.site.currency)

    def priority_of(self, kind: GrantKind) -> int:
        return self.credits.priority.get(kind, UNLISTED_KIND_PRIORITY)

    def plan(self, code: str) -> Plan | None:
        return next((plan for plan in self.plans if plan.code == code), None)

    def pack(self, code: str) -> Pack | None:
        return next((pack for pack in self.packs if pack.code == code), None)

    def operation(self, name: str) -> Operation | None:
        return self.operations.get(name)

    def minor_units(self, amount: Decimal) -> int:
        """Money leaves as integers (api.md); an amount finer than the currency is a bug."""
        units = amount.scaleb(self.currency_exponent)
        if units != units.to_integral_value():
            raise ValueError(f"{amount} {self.site.currency} is not a whole number of minor units")
        return int(units)

    def to_json(self) -> dict[str, Any]:
        """The catalog for GET /v1/catalog: prices as strings with the currency's decimals."""
        return self.model_dump(mode="json", context={"exponent": self.currency_exponent})


def _duplicates(section: str, key: str, values: Sequence[object]) -> list[tuple[Loc, str]]:
    return [
        ((section, i, key), f"{as_written(v)} is already used by {section}[{values.index(v)}]")
        for i, v in enumerate(values)
        if values.index(v) != i
    ]
