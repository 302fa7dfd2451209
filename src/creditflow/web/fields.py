"""Reading a form's fields in words people read, for the console and the portal alike.

A field that cannot be read raises `InvalidRequest` naming the field, so the page can show the
message beside it; nothing has happened yet when it does.
"""

from __future__ import annotations

import re
from decimal import Decimal

from starlette.datastructures import FormData

from creditflow.domain.catalog import currency_exponent
from creditflow.domain.errors import CreditflowError, InvalidRequest

_AMOUNT = re.compile(r"(\d+|\d{1,3}(,\d{3})+)(\.\d*)?|\.\d+")
"""Digits, commas only between thousands, a decimal point: not 1e3, nor 12,50 read as 1250."""
_WHOLE = re.compile(r"\d+|\d{1,3}(,\d{3})+")


def problems(error: CreditflowError) -> dict[str, str]:
    """An error as the message beside its field (or above the form when it names none)."""
    field = error.details.get("field")
    return {str(field) if field else "form": error.message}


def text(form: FormData, name: str, *, required: bool = False, label: str | None = None) -> str:
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise InvalidRequest(f"{label or name.capitalize()} is required.", field=name)
    return value


def whole_number(form: FormData, name: str, *, label: str, optional: bool = False) -> int | None:
    """A whole number typed into a form: digits, with thousands separators allowed."""
    value = text(form, name).replace(" ", "")
    if not value:
        if optional:
            return None
        raise InvalidRequest(f"{label} is required.", field=name)
    value = value.replace(",", "") if _WHOLE.fullmatch(value) else ""
    if not value.isdecimal() or len(value) > 15:
        raise InvalidRequest(f"{label} must be a whole number.", field=name)
    return int(value)


def money_amount(
    form: FormData, name: str, *, currency: str, label: str, optional: bool = False
) -> int | None:
    """An amount typed as people write it (12.50) in minor units (1250) of `currency`."""
    value = text(form, name).replace(" ", "")
    if not value:
        if optional:
            return None
        raise InvalidRequest(f"{label} is required.", field=name)
    exponent = currency_exponent(currency)
    value = value.replace(",", "") if _AMOUNT.fullmatch(value) else ""
    if not value or len(value) > 15:
        raise InvalidRequest(f"{label} must be an amount such as 12.50.", field=name)
    minor = Decimal(value).scaleb(exponent)
    if minor != minor.to_integral_value():
        raise InvalidRequest(
            f"{label} has more decimals than {currency.upper()} has ({exponent}).", field=name
        )
    return int(minor)


def major_units(amount: int | None, currency: str) -> str:
    """Minor units as the form shows them (1250 → 12.50)."""
    if amount is None:
        return ""
    exponent = currency_exponent(currency)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"
