"""Invoices, credit notes, tax, refunds and chargebacks with the test provider (rules 21, 22)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from creditflow.domain.errors import InvalidRequest
from creditflow.engine import Engine
from creditflow.services.views import Money
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import make_account

EngineWith = Callable[[str], Engine]


def taxed_catalog(tmp_path: Path, prices: str) -> str:
    text = (REFERENCE_CATALOGS / "tagger.toml").read_text()
    text = text.replace(
        'timezone = "Europe/Belgrade"',
        'timezone = "Europe/Belgrade"\nlegal_name = "Tagger d.o.o."\n'
        'address = "Knez Mihailova 1\\n11000 Beograd"\ntax_id = "RS123456789"',
    )
    path = tmp_path / f"taxed-{prices}.toml"
    path.write_text(text + f'\n[tax]\nprices = "{prices}"\nrates = {{ DE = "0.19" }}\n')
    return str(path)


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_rule_21_the_invoice_pdf_names_seller_buyer_lines_and_the_total(
    engine_with: EngineWith, tmp_path: Path
) -> None:
    engine = engine_with(taxed_catalog(tmp_path, "exclusive"))
    account = engine.create_account(external_id="de", email="kai@example.de", country="DE")
    order = engine.checkout(account.id, product="pack_1000")
    assert (order.total.amount, order.status) == (1071, "paid")  # 9.00 + 19 % tax
    invoice = engine.invoice(order.id)
    assert invoice.number == "INV-2026-000001"
    assert (invoice.subtotal.amount, invoice.tax.amount, invoice.total.amount) == (900, 171, 1071)
    text = pdf_text(engine.document_pdf("invoice", invoice.number))
    for expected in (
        "INV-2026-000001",
        "Tagger d.o.o.",
        "Knez Mihailova 1",
        "RS123456789",
        "kai@example.de",
        "1000 credits",
        "10.71 EUR",
        "19%",
    ):
        assert expected in text, expected
    assert engine.document_pdf("invoice", invoice.number) == engine.document_pdf(
        "invoice", invoice.number
    )


def test_inclusive_prices_keep_the_total_and_split_out_the_tax(
    engine_with: EngineWith, tmp_path: Path
) -> None:
    engine = engine_with(taxed_catalog(tmp_path, "inclusive"))
    german = engine.create_account(external_id="de", email="a@example.de", country="DE")
    serbian = engine.create_account(external_id="rs", email="b@example.rs", country="RS")
    taxed = engine.invoice(engine.checkout(german.id, product="pack_1000").id)
    untaxed = engine.invoice(engine.checkout(serbian.id, product="pack_1000").id)
    assert (taxed.subtotal.amount, taxed.tax.amount, taxed.total.amount) == (756, 144, 900)
    assert (untaxed.subtotal.amount, untaxed.tax.amount, untaxed.total.amount) == (900, 0, 900)
    assert untaxed.number == "INV-2026-000002"


def test_rule_21_concurrent_payments_get_gapless_unique_invoice_numbers(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("tagger")
    accounts = [make_account(engine).id for _ in range(6)]
    orders: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(accounts))

    def buy(account: str) -> None:
        start.wait()
        for _ in range(8):
            order = engine.checkout(account, product="pack_500")
            with lock:
                orders.append(order.id)

    threads = [threading.Thread(target=buy, args=(a,)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = sorted(engine.invoice(order).number for order in orders)
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 49)]


def test_a_partial_then_full_refund_gives_credit_notes_and_revokes_what_is_left(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("tagger")
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_1000")  # 9.00 EUR, 1000 credits
    engine.consume(account.id, credits=100)
    partial = engine.refund_order(order.id, amount=300, reason="goodwill")
    assert (partial.status, partial.amount.amount) == ("succeeded", 300)
    assert engine.order(order.id).status == "partially_refunded"
    assert engine.balance(account.id).available == 900  # a partial refund keeps the credits
    rest = engine.refund_order(order.id, reason="refund the rest")
    assert rest.amount == Money(amount=600, currency="EUR")
    assert engine.order(order.id).status == "refunded"
    assert engine.balance(account.id).available == 0  # rule: revoked, with a ledger entry
    assert engine.ledger(account.id).data[0].type == "revoke"
    notes = engine.invoice(order.id).credit_notes
    assert [(n.number, n.total.amount) for n in notes] == [
        ("CN-2026-000001", 300),
        ("CN-2026-000002", 600),
    ]
    text = pdf_text(engine.document_pdf("credit_note", "CN-2026-000002"))
    assert "Credit note" in text and "INV-2026-000001" in text and "6.00 EUR" in text
    with pytest.raises(InvalidRequest):
        engine.refund_order(order.id, amount=1)
    assert engine.check() == []


def test_rule_22_refunding_a_duplicate_charge_keeps_the_order_and_its_credits(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("tagger")
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_500")
    engine.record_payment(order.id, provider="test", provider_payment_id="dup", amount=500)
    refund = engine.refund_order(order.id, amount=500, reason="duplicate_charge")
    assert refund.status == "succeeded"
    after = engine.order(order.id)
    assert (after.status, after.duplicate_charge) == ("paid", True)
    assert engine.balance(account.id).available == 500


def test_refunds_of_unpaid_or_unknown_orders_are_refused(engine_with: EngineWith) -> None:
    engine = engine_with("tagger")
    account = make_account(engine)
    engine.set_test_payment_behavior(account.id, "decline")
    failed = engine.checkout(account.id, product="pack_500")
    with pytest.raises(Exception, match="not paid"):
        engine.refund_order(failed.id)
    with pytest.raises(Exception, match="No order"):
        engine.refund_order("ord_missing")
    engine.set_test_payment_behavior(account.id, "succeed")
    paid = engine.checkout(account.id, product="pack_500")
    for amount in (0, -1, 501):
        with pytest.raises(InvalidRequest):
            engine.refund_order(paid.id, amount=amount)
    assert engine.order(paid.id).status == "paid"


def test_invoices_and_credit_notes_export_as_csv(engine_with: EngineWith) -> None:
    from datetime import UTC, datetime

    engine = engine_with("tagger")
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_2500")
    engine.refund_order(order.id, amount=500, reason="partial")
    out = io.StringIO()
    count = engine.export_documents(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), out
    )
    lines = out.getvalue().splitlines()
    assert count == 2 and lines[0].startswith("number,kind,issued_at")
    assert lines[1].startswith("INV-2026-000001,invoice,") and ",20.00," in lines[1]
    assert lines[2].startswith("CN-2026-000001,credit_note,") and ",-5.00," in lines[2]
