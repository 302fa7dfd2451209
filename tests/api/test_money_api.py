"""Invoices as PDF, refunds of orders and webhook refusals over HTTP (rules 21 and 22)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.api.conftest import Api, assert_error


def paid_order(api: Api) -> tuple[str, dict[str, object]]:
    account = api.account()
    order = api.post(f"/v1/accounts/{account}/checkout", {"product": "pack_500"}).json()
    assert order["status"] == "paid"
    return account, order


def test_the_invoice_pdf_is_served_as_application_pdf_and_parses(api: Api) -> None:
    _, order = paid_order(api)
    invoice = api.get(f"/v1/orders/{order['id']}/invoice").json()
    assert invoice["number"].startswith("INV-2026-")
    pdf = api.client.get(invoice["pdf_url"], headers=api.headers("support"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert invoice["number"] in text and "5.00 USD" in text
    assert_error(api.get("/v1/invoices/INV-2026-999999.pdf"), 404, "not_found")
    assert_error(api.get("/v1/credit-notes/CN-2026-000001.pdf"), 404, "not_found")
    assert_error(
        api.client.get(invoice["pdf_url"], headers=api.headers("worker")), 403, "forbidden"
    )


def test_support_refunds_an_order_and_the_credit_note_follows(api: Api) -> None:
    account, order = paid_order(api)
    path = f"/v1/orders/{order['id']}/refunds"
    first = api.post(
        path, {"amount": 200, "reason": "goodwill"}, role="support", **{"Idempotency-Key": "r1"}
    )
    assert first.status_code == 201, first.text
    again = api.post(
        path, {"amount": 200, "reason": "goodwill"}, role="support", **{"Idempotency-Key": "r1"}
    )
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert api.get(f"/v1/orders/{order['id']}").json()["status"] == "partially_refunded"
    notes = api.get(f"/v1/orders/{order['id']}/invoice").json()["credit_notes"]
    assert [(n["number"], n["total"]["amount"]) for n in notes] == [("CN-2026-000001", 200)]
    pdf = api.client.get(notes[0]["pdf_url"], headers=api.headers("support"))
    assert pdf.headers["content-type"] == "application/pdf"
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 500


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 0, "reason": "x"}, 422, "invalid_request"),
        ({"amount": "5", "reason": "x"}, 422, "invalid_request"),
        ({"amount": 501, "reason": "x"}, 422, "invalid_request"),
        ({"amount": 5}, 422, "invalid_request"),
    ],
)
def test_bad_refunds_are_refused_and_change_nothing(
    api: Api, body: dict[str, object], status: int, code: str
) -> None:
    _, order = paid_order(api)
    assert_error(api.post(f"/v1/orders/{order['id']}/refunds", body, role="support"), status, code)
    assert api.get(f"/v1/orders/{order['id']}").json()["status"] == "paid"
    assert api.get(f"/v1/orders/{order['id']}/invoice").json()["credit_notes"] == []


def test_refunds_need_support_and_a_known_order(api: Api) -> None:
    _, order = paid_order(api)
    body = {"reason": "x"}
    assert_error(
        api.post(f"/v1/orders/{order['id']}/refunds", body, role="service"), 403, "forbidden"
    )
    assert_error(api.post("/v1/orders/ord_missing/refunds", body, role="support"), 404, "not_found")


def test_webhooks_of_an_unconfigured_provider_answer_404_and_apply_nothing(api: Api) -> None:
    response = api.client.post(
        "/v1/webhooks/stripe", content=b'{"id": "evt_1"}', headers={"Stripe-Signature": "t=1"}
    )
    assert_error(response, 404, "not_found")
    assert_error(api.client.post("/v1/webhooks/paypal", content=b"{}"), 404, "not_found")
