"""Reading the console's form fields: amounts as people type them, refusals beside the field."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from creditflow.domain.errors import Conflict, InvalidRequest
from creditflow.web.console.forms import major_units, money_amount, problems, text, whole_number


def form(value: str, name: str = "field") -> FormData:
    return FormData([(name, value)])


def amount(value: str, currency: str = "USD", *, optional: bool = False) -> int | None:
    return money_amount(
        form(value, "amount"), "amount", currency=currency, label="The amount", optional=optional
    )


def refused(value: str, currency: str = "USD") -> InvalidRequest:
    with pytest.raises(InvalidRequest) as refusal:
        amount(value, currency)
    assert refusal.value.details["field"] == "amount"  # shown beside the field
    assert refusal.value.message.startswith("The amount")
    return refusal.value


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("12.50", 1250),
        ("12.5", 1250),
        ("12", 1200),
        ("0.01", 1),
        (".50", 50),
        ("12.", 1200),
        ("  12.50  ", 1250),
        ("1,250.00", 125_000),
        ("1 250.00", 125_000),
        ("12,345,678.90", 1_234_567_890),
        ("12.500", 1250),  # a trailing zero is not a third decimal
        ("0", 0),
        ("999999999999999", 99_999_999_999_999_900),  # the longest amount taken
    ],
)
def test_an_amount_in_major_units_is_read_in_minor_units(typed: str, minor: int) -> None:
    assert amount(typed) == minor


@pytest.mark.parametrize(
    "typed",
    [
        "-1",
        "-0.50",
        "abc",
        "12.50 USD",
        "$12.50",
        "NaN",
        "Infinity",
        "1e3",  # not 1000.00
        "1E-2",
        "+5",
        "0x10",
        ".",
        ",",
        "1.2.3",
        "12,50",  # a decimal comma: not 1250.00
        "1,2,3",
        "1,25,000",
        "9999999999999999",  # huge: sixteen digits
        "1" * 40,
        "9e999999",
    ],
)
def test_anything_but_an_amount_is_refused_beside_the_field(typed: str) -> None:
    assert "such as 12.50" in refused(typed).message


def test_an_amount_with_more_decimals_than_the_currency_is_refused_not_rounded() -> None:
    assert "more decimals than USD has (2)" in refused("1.234").message
    assert "JPY has (0)" in refused("12.5", "JPY").message
    assert amount("1200", "JPY") == 1200  # yen have no minor unit
    assert amount("1.234", "KWD") == 1234  # dinars have three decimals
    assert "KWD has (3)" in refused("1.2345", "KWD").message


def test_an_empty_amount_is_required_unless_the_field_is_optional() -> None:
    for blank in ("", "   "):
        assert "is required" in refused(blank).message
        assert amount(blank, optional=True) is None
    missing = FormData([("other", "5")])
    assert money_amount(missing, "amount", currency="USD", label="X", optional=True) is None


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (1250, "USD", "12.50"),
        (5, "USD", "0.05"),
        (0, "USD", "0.00"),
        (1200, "JPY", "1200"),
        (1234, "KWD", "1.234"),
        (None, "USD", ""),
    ],
)
def test_major_units_writes_an_amount_as_the_form_shows_it(
    minor: int | None, currency: str, shown: str
) -> None:
    assert major_units(minor, currency) == shown


def test_an_amount_shown_in_a_form_reads_back_as_itself() -> None:
    for currency in ("USD", "JPY", "KWD"):
        for minor in (0, 1, 99, 1250, 123_456_789):
            assert amount(major_units(minor, currency), currency) == minor


def credits(value: str | None, *, optional: bool = False) -> int | None:
    data = FormData([] if value is None else [("credits", value)])
    return whole_number(data, "credits", label="Credits", optional=optional)


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("1,000", 1000),
        ("1 000", 1000),
        ("0", 0),
        ("007", 7),
        ("999999999999999", 999_999_999_999_999),  # fifteen digits: the most taken
    ],
)
def test_a_whole_number_is_read_with_its_thousands_separators(typed: str, number: int) -> None:
    assert credits(typed) == number


@pytest.mark.parametrize(
    "typed",
    [
        *("-1", "+1", "1.5", "1e3", "abc", "twelve", "1000000000000000", "12 credits", "²", "½"),
        *("12,50", "1,00,000", ",5", "1_000"),  # a decimal comma is not read as thousands
    ],
)
def test_anything_but_a_whole_number_is_refused_beside_the_field(typed: str) -> None:
    with pytest.raises(InvalidRequest) as refusal:
        credits(typed)
    assert refusal.value.message == "Credits must be a whole number."
    assert refusal.value.details["field"] == "credits"


def test_a_whole_number_is_required_unless_optional() -> None:
    for blank in (None, "", "  "):
        with pytest.raises(InvalidRequest) as refusal:
            credits(blank)
        assert refusal.value.message == "Credits is required."
        assert credits(blank, optional=True) is None


def test_text_is_trimmed_and_a_required_one_is_named_when_missing() -> None:
    assert text(form("  a reason \n"), "field") == "a reason"
    assert text(FormData([]), "field") == ""
    with pytest.raises(InvalidRequest) as refusal:
        text(form("   ", "note"), "note", required=True, label="A note saying why")
    assert refusal.value.message == "A note saying why is required."
    assert problems(refusal.value) == {"note": "A note saying why is required."}
    with pytest.raises(InvalidRequest) as unnamed:
        text(form("", "reason"), "reason", required=True)
    assert unnamed.value.message == "Reason is required."


def test_an_error_naming_no_field_is_shown_above_the_form() -> None:
    error = Conflict("Account acc_1 is suspended already.", code="account_suspended")
    assert problems(error) == {"form": "Account acc_1 is suspended already."}
