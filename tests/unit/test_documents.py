"""Invoices and credit notes (rules 21 and 22): tax, numbering, the PDF and the CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from creditflow.documents.export import write_documents_csv
from creditflow.documents.pdf import render_pdf
from creditflow.domain.documents import (
    Document,
    DocumentLine,
    Party,
    format_money,
    format_number,
    tax_breakdown,
)

ISSUED = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
SELLER = Party(
    name="Pixelwerk GmbH",
    address=("Hauptstr. 1", "10115 Berlin", "Germany"),
    email="billing@pixelwerk.example",
    country="DE",
    tax_id="DE123456789",
)


def invoice_de() -> Document:
    """Prices exclusive of tax, 19% German VAT on top."""
    return Document(
        kind="invoice",
        number=format_number("invoice", 2026, 1),
        issued_at=ISSUED,
        currency="EUR",
        currency_exponent=2,
        seller=SELLER,
        buyer=Party(name="Ada Lovelace", email="ada@example.com", country="DE"),
        lines=(
            DocumentLine("Starter pack: 500 credits", 499, credits=500),
            DocumentLine("Top-up: 500 credits", 500, credits=500),
        ),
        tax=tax_breakdown(999, Decimal("0.19"), inclusive=False),
        order_id="ord_01HZY",
        payment_provider="stripe",
        payment_reference="pi_3Abc",
        note="Thank you for your purchase.",
    )


def invoice_untaxed() -> Document:
    return Document(
        kind="invoice",
        number=format_number("invoice", 2026, 2),
        issued_at=ISSUED,
        currency="USD",
        currency_exponent=2,
        seller=SELLER,
        buyer=Party(name="Grace Hopper", email="grace@example.com", country="US"),
        lines=(DocumentLine("Pro plan, March 2026", 2000, credits=5000),),
        tax=tax_breakdown(2000, None, inclusive=False),
        order_id="ord_02",
        payment_provider="paypal",
    )


def credit_note() -> Document:
    """Corrects the whole of `invoice_de`."""
    invoice = invoice_de()
    return replace(
        invoice,
        kind="credit_note",
        number=format_number("credit_note", 2026, 1),
        issued_at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
        lines=(DocumentLine("Refund: duplicate charge", 999, credits=1000),),
        refers_to=invoice.number,
        payment_reference="re_9Xyz",
        note=None,
    )


def invoice_jpy() -> Document:
    """A zero-decimal currency, prices inclusive of 10% tax."""
    return Document(
        kind="invoice",
        number=format_number("invoice", 2026, 3),
        issued_at=ISSUED,
        currency="JPY",
        currency_exponent=0,
        seller=SELLER,
        buyer=Party(name="Yamada Taro", email="taro@example.jp", country="JP"),
        lines=(DocumentLine("Credits 2000", 1100, credits=2000),),
        tax=tax_breakdown(1100, Decimal("0.10"), inclusive=True),
        order_id="ord_03",
        payment_provider="stripe",
        payment_reference="pi_jp",
    )


def pdf_text(document: Document) -> str:
    data = render_pdf(document)
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


# -- domain: tax and numbering ------------------------------------------------------------------


def test_inclusive_tax_is_split_out_of_the_amount_paid() -> None:
    breakdown = tax_breakdown(1190, Decimal("0.19"), inclusive=True)
    assert (breakdown.net, breakdown.tax, breakdown.total) == (1000, 190, 1190)
    assert breakdown.inclusive


def test_exclusive_tax_is_added_and_rounded_to_the_minor_unit() -> None:
    breakdown = tax_breakdown(999, Decimal("0.19"), inclusive=False)  # 189.81 -> 190
    assert (breakdown.net, breakdown.tax, breakdown.total) == (999, 190, 1189)
    assert not breakdown.inclusive


def test_exclusive_tax_rounds_an_exact_half_up() -> None:
    breakdown = tax_breakdown(50, Decimal("0.05"), inclusive=False)  # 2.5 -> 3
    assert (breakdown.tax, breakdown.total) == (3, 53)


@pytest.mark.parametrize("rate", [None, Decimal(0)])
def test_no_rate_means_no_tax(rate: Decimal | None) -> None:
    breakdown = tax_breakdown(999, rate, inclusive=False)
    assert (breakdown.net, breakdown.tax, breakdown.total) == (999, 0, 999)
    assert breakdown.rate == rate


def test_document_numbers_have_a_series_prefix_the_year_and_six_digits() -> None:
    assert format_number("invoice", 2026, 1) == "INV-2026-000001"
    assert format_number("credit_note", 2026, 12) == "CN-2026-000012"


def test_money_is_formatted_exactly_in_the_currency_exponent() -> None:
    assert format_money(1189, "EUR", 2) == "11.89 EUR"
    assert format_money(-5, "EUR", 2) == "-0.05 EUR"
    assert format_money(123456789, "EUR", 2) == "1,234,567.89 EUR"
    assert format_money(1100, "JPY", 0) == "1,100 JPY"


def test_document_survives_its_json_form() -> None:
    for document in (invoice_de(), invoice_untaxed(), credit_note(), invoice_jpy()):
        assert Document.from_json(document.to_json()) == document


# -- PDF ----------------------------------------------------------------------------------------


def test_invoice_pdf_shows_parties_lines_and_exact_totals() -> None:
    document = invoice_de()
    text = pdf_text(document)
    assert "Invoice" in text
    assert "Credit note" not in text
    for expected in (
        "INV-2026-000001",
        "2026-03-01",
        "Pixelwerk GmbH",
        "Hauptstr. 1",
        "10115 Berlin",
        "billing@pixelwerk.example",
        "DE123456789",
        "Ada Lovelace",
        "ada@example.com",
        "Order ord_01HZY",
        "Starter pack: 500 credits",
        "Top-up: 500 credits",
        "4.99 EUR",
        "5.00 EUR",
        "9.99 EUR",  # net
        "1.90 EUR",  # tax
        "11.89 EUR",  # total
        "19%",
        "added",
        "stripe",
        "pi_3Abc",
        "Thank you for your purchase.",
    ):
        assert expected in text, expected


def test_untaxed_invoice_pdf_says_no_tax_applies() -> None:
    text = pdf_text(invoice_untaxed())
    assert "INV-2026-000002" in text
    assert "Grace Hopper" in text
    assert "Pro plan, March 2026" in text
    assert "none applies" in text
    assert "0.00 USD" in text
    assert "20.00 USD" in text
    assert "%" not in text


def test_credit_note_pdf_names_the_invoice_it_corrects() -> None:
    text = pdf_text(credit_note())
    assert "Credit note" in text
    assert "CN-2026-000001" in text
    assert "2026-03-05" in text
    assert "Corrects invoice INV-2026-000001" in text
    assert "Refund: duplicate charge" in text
    assert "11.89 EUR" in text


def test_invoice_pdf_never_says_it_corrects_anything() -> None:
    assert "Corrects" not in pdf_text(invoice_de())


def test_zero_decimal_currency_pdf_has_no_decimals() -> None:
    text = pdf_text(invoice_jpy())
    assert "Yamada Taro" in text
    assert "1,100 JPY" in text  # total
    assert "1,000 JPY" in text  # net
    assert "100 JPY" in text  # tax
    assert "10% (included)" in text
    assert ".00 JPY" not in text


def test_issue_date_is_the_utc_date() -> None:
    # 23:30 in New York on 1 March is already 2 March in UTC.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    assert "2026-03-02" in pdf_text(replace(invoice_de(), issued_at=late))


def test_markup_characters_in_customer_text_print_literally() -> None:
    document = replace(
        invoice_de(),
        buyer=Party(name="Ada & <Co>", email="a&b@example.com", country="DE"),
        lines=(DocumentLine("Pack <b>bold</b> & more", 999, credits=1000),),
        note="5 < 6 & 7 > 3",
    )
    text = pdf_text(document)
    assert "Ada & <Co>" in text
    assert "a&b@example.com" in text
    assert "Pack <b>bold</b> & more" in text
    assert "5 < 6 & 7 > 3" in text


def test_equal_documents_render_to_equal_bytes() -> None:
    assert render_pdf(invoice_de()) == render_pdf(invoice_de())
    assert render_pdf(credit_note()) != render_pdf(invoice_de())


def test_many_lines_flow_onto_more_pages() -> None:
    lines = tuple(DocumentLine(f"Job {i}", 10, credits=1) for i in range(120))
    document = replace(invoice_de(), lines=lines)
    reader = PdfReader(io.BytesIO(render_pdf(document)))
    assert len(reader.pages) > 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Job 0" in text
    assert "Job 119" in text
    assert "11.89 EUR" in reader.pages[-1].extract_text()


# -- CSV ----------------------------------------------------------------------------------------

HEADER = (
    "number,kind,issued_at,order_id,refers_to,buyer_email,buyer_country,currency,"
    "net,tax,tax_rate,total,payment_provider,payment_reference"
)


def export(documents: list[Document]) -> tuple[int, str]:
    out = io.StringIO(newline="")
    count = write_documents_csv(documents, out)
    return count, out.getvalue()


def test_csv_header_is_exact() -> None:
    count, text = export([])
    assert count == 0
    assert text == HEADER + "\r\n"


def test_csv_rows_in_order_with_exact_signed_amounts() -> None:
    documents = [invoice_de(), invoice_untaxed(), credit_note(), invoice_jpy()]
    count, text = export(documents)
    assert count == 4
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert ",".join(rows[0]) == HEADER
    header = rows[0]
    records = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [r["number"] for r in records] == [
        "INV-2026-000001",
        "INV-2026-000002",
        "CN-2026-000001",
        "INV-2026-000003",
    ]

    de, untaxed, cn, jpy = records
    assert de == {
        "number": "INV-2026-000001",
        "kind": "invoice",
        "issued_at": "2026-03-01T10:30:00+00:00",
        "order_id": "ord_01HZY",
        "refers_to": "",
        "buyer_email": "ada@example.com",
        "buyer_country": "DE",
        "currency": "EUR",
        "net": "9.99",
        "tax": "1.90",
        "tax_rate": "0.19",
        "total": "11.89",
        "payment_provider": "stripe",
        "payment_reference": "pi_3Abc",
    }
    assert (untaxed["net"], untaxed["tax"], untaxed["tax_rate"], untaxed["total"]) == (
        "20.00",
        "0.00",
        "",
        "20.00",
    )
    assert untaxed["payment_reference"] == ""
    assert (cn["kind"], cn["refers_to"]) == ("credit_note", "INV-2026-000001")
    assert (cn["net"], cn["tax"], cn["total"]) == ("-9.99", "-1.90", "-11.89")
    assert (jpy["currency"], jpy["net"], jpy["tax"], jpy["total"]) == ("JPY", "1000", "100", "1100")
    # The columns add up exactly, as Decimals.
    assert sum(Decimal(r["total"]) for r in records if r["currency"] == "EUR") == 0


def test_csv_quotes_values_that_contain_commas_and_quotes() -> None:
    document = replace(invoice_de(), payment_reference='ref, "quoted"', order_id="ord\nx")
    _, text = export([document])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1][HEADER.split(",").index("payment_reference")] == 'ref, "quoted"'
    assert rows[1][HEADER.split(",").index("order_id")] == "ord\nx"


def test_csv_accepts_a_generator() -> None:
    _, expected = export([invoice_de(), invoice_jpy()])
    out = io.StringIO(newline="")
    assert write_documents_csv((d for d in [invoice_de(), invoice_jpy()]), out) == 2
    assert out.getvalue() == expected
