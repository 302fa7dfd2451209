"""Invoices and credit notes as data: what they say, frozen when issued (rules 21 and 22).

Pure: amounts are integers in minor units, tax rates `Decimal`; rendering (PDF) and numbering
(the database's counters) live elsewhere. A document is stored as JSON when issued, so a later
edit of the catalog (an address, a tax rate) never rewrites an issued invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

DocumentKind = Literal["invoice", "credit_note"]


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    address: tuple[str, ...] = ()
    email: str | None = None
    country: str | None = None
    tax_id: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    description: str
    amount: int
    """Minor units, as charged (tax included where prices include it)."""
    credits: int = 0


@dataclass(frozen=True, slots=True)
class TaxBreakdown:
    net: int
    tax: int
    total: int
    rate: Decimal | None
    """None: no tax applies (no [tax] table, or no rate for the buyer's country)."""
    inclusive: bool


@dataclass(frozen=True, slots=True)
class Document:
    kind: DocumentKind
    number: str
    issued_at: datetime
    currency: str
    currency_exponent: int
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    tax: TaxBreakdown
    order_id: str
    payment_provider: str
    payment_reference: str | None = None
    refers_to: str | None = None
    """A credit note names the invoice it corrects."""
    note: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.tax.total

    def to_json(self) -> dict[str, Any]:
        # Field by field rather than `asdict`, whose deep copies were a tenth of issuing a
        # renewal's invoice; the same keys in the same order.
        data = _shallow(self)
        data["issued_at"] = self.issued_at.isoformat()
        data["seller"] = _shallow(self.seller)
        data["buyer"] = _shallow(self.buyer)
        data["lines"] = [_shallow(line) for line in self.lines]
        data["tax"] = {
            **_shallow(self.tax),
            "rate": None if self.tax.rate is None else str(self.tax.rate),
        }
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        tax = dict(data["tax"])
        tax["rate"] = None if tax["rate"] is None else Decimal(tax["rate"])
        return cls(
            kind=data["kind"],
            number=data["number"],
            issued_at=datetime.fromisoformat(data["issued_at"]),
            currency=data["currency"],
            currency_exponent=data["currency_exponent"],
            seller=_party(data["seller"]),
            buyer=_party(data["buyer"]),
            lines=tuple(DocumentLine(**line) for line in data["lines"]),
            tax=TaxBreakdown(**tax),
            order_id=data["order_id"],
            payment_provider=data["payment_provider"],
            payment_reference=data.get("payment_reference"),
            refers_to=data.get("refers_to"),
            note=data.get("note"),
            extra=dict(data.get("extra") or {}),
        )


def _shallow(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in fields(value)}


def _party(data: dict[str, Any]) -> Party:
    return Party(**{**data, "address": tuple(data.get("address") or ())})


def tax_breakdown(amount: int, rate: Decimal | None, *, inclusive: bool) -> TaxBreakdown:
    """Split or add the tax on `amount` (minor units), rounding half up to the minor unit.

    Inclusive prices: the customer paid `amount`, of which tax = amount - amount / (1 + rate).
    Exclusive prices: the tax is added on top of `amount`.
    """
    if rate is None or rate == 0:
        return TaxBreakdown(net=amount, tax=0, total=amount, rate=rate, inclusive=inclusive)
    if inclusive:
        net = int((Decimal(amount) / (1 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return TaxBreakdown(net=net, tax=amount - net, total=amount, rate=rate, inclusive=True)
    tax = int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return TaxBreakdown(net=amount, tax=tax, total=amount + tax, rate=rate, inclusive=False)


def format_number(series: DocumentKind, year: int, sequence: int) -> str:
    """`INV-2026-000001`, `CN-2026-000001`: gapless per series and year."""
    prefix = "INV" if series == "invoice" else "CN"
    return f"{prefix}-{year}-{sequence:06d}"


def format_money(amount: int, currency: str, exponent: int) -> str:
    """`12.34 EUR` from 1234: exact, from the integer, never through a float."""
    value = Decimal(amount).scaleb(-exponent)
    return f"{value:,.{exponent}f} {currency}"
