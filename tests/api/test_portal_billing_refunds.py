"""The portal's Billing and Refunds pages over HTTP, on both databases: a member sees only their
own orders, documents and requests, asks for a refund with files and jobs named, and every
mistake comes back beside its field with nothing done.

The built-in catalog's policy is goodwill: 14 days, 10 % / 50 %, two refunds a year.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditflow.clock import TestClock
from creditflow.domain.catalog import Refunds
from creditflow.domain.refunds.facts import REASONS
from creditflow.web.portal.refund_terms import REASON_WORDS, policy_in_words
from tests.api.conftest import Api
from tests.conftest import START
from tests.images import png

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')
INVOICE = re.compile(r'href="(/portal/documents/invoice/([A-Z0-9-]+)\.pdf)"')
CREDIT_NOTE = re.compile(r'href="(/portal/documents/credit_note/([A-Z0-9-]+)\.pdf)"')


class Member:
    """A browser signed into one account's portal (its own cookie jar)."""

    def __init__(self, api: Api, account_id: str) -> None:
        self.api = api
        self.account_id = account_id
        self.client = TestClient(api.client.app, raise_server_exceptions=False)
        url = api.post("/v1/portal-sessions", {"account_id": account_id}).json()["url"]
        assert self.client.get(url.replace("http://testserver", "")).status_code == 200

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def ask(
        self,
        *,
        files: list[tuple[str, bytes, str]] | None = None,
        csrf: bool = True,
        page: str | None = None,
        **fields: Any,
    ) -> Any:
        """Send the refund form as the refunds page gives it (`page`, or as it is now), with
        `fields` filled in."""
        page = page or self.get("/portal/refunds").text
        data: dict[str, Any] = {"form_id": FORM_ID.findall(page)[-1], **fields}
        if csrf:
            data["csrf"] = CSRF.findall(page)[-1]
        parts = [("evidence", (name, body, kind)) for name, body, kind in files or []]
        return self.client.post(
            "/portal/refunds",
            data=data,
            files=parts or [("evidence", ("", b"", "application/octet-stream"))],
            follow_redirects=False,
        )


def buy(api: Api, account_id: str, product: str = "pack_500") -> dict[str, Any]:
    order = api.post(f"/v1/accounts/{account_id}/checkout", {"product": product})
    assert order.status_code == 201, order.text
    body: dict[str, Any] = order.json()
    return body


def job_of(api: Api, account_id: str) -> str:
    made = api.client.post(
        f"/v1/accounts/{account_id}/jobs",
        data={"operation": "upscale"},
        files={"image": ("cat.png", png(), "image/png")},
        headers=api.headers(),
    )
    assert made.status_code == 201, made.text
    job_id: str = made.json()["id"]
    return job_id


def requests_of(api: Api) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.get("/v1/refund-requests").json()["data"]
    return listed


def error_beside(page: str, field: str) -> str:
    found = re.search(rf'id="f-{field}-error">([^<]+)<', page)
    assert found, f"no error beside {field}"
    return html.unescape(found.group(1))


def two_members(api: Api) -> tuple[Member, Member]:
    return Member(api, api.account()), Member(api, api.account())


# Billing


def test_billing_lists_the_members_orders_with_their_invoices_and_no_one_elses(api: Api) -> None:
    """Rule 21 (000, 002): every paid order has its invoice."""
    ada, bob = two_members(api)
    small, big = buy(api, ada.account_id), buy(api, ada.account_id, "pack_2500")
    theirs = buy(api, bob.account_id)
    page = ada.get("/portal/billing")
    assert page.status_code == 200
    assert small["id"] in page.text and big["id"] in page.text
    assert "500 credits" in page.text and "2500 credits" in page.text
    assert "5.00 USD" in page.text and "20.00 USD" in page.text
    assert theirs["id"] not in page.text
    mine = {number for _, number in INVOICE.findall(page.text)}
    assert mine == {api.engine.invoice(small["id"]).number, api.engine.invoice(big["id"]).number}
    assert api.engine.invoice(theirs["id"]).number not in page.text

    link = INVOICE.findall(page.text)[0][0]
    pdf = ada.get(link)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert "no-store" in pdf.headers["cache-control"]


def test_another_accounts_invoice_or_credit_note_is_not_found(api: Api) -> None:
    ada, bob = two_members(api)
    theirs = buy(api, bob.account_id)
    request = api.post(
        "/v1/refund-requests", {"order_id": theirs["id"], "reason": "unused"}, role="service"
    ).json()
    decided = api.post(
        f"/v1/refund-requests/{request['id']}/decision",
        {"outcome": "approve_full", "note": "unused"},
        role="support",
    )
    assert decided.status_code == 200, decided.text
    invoice = api.engine.invoice(theirs["id"])
    (note,) = invoice.credit_notes
    assert bob.get(f"/portal/documents/credit_note/{note.number}.pdf").content.startswith(b"%PDF")

    refused = [
        ada.get(f"/portal/documents/invoice/{invoice.number}.pdf"),
        ada.get(f"/portal/documents/credit_note/{note.number}.pdf"),
        ada.get("/portal/documents/invoice/INV-2026-999999.pdf"),  # no such invoice
    ]
    assert [r.status_code for r in refused] == [404, 404, 404]
    assert all(b"%PDF" not in r.content for r in refused)
    assert "text/html" in refused[0].headers["content-type"]
    # Someone else's number reads exactly like one that does not exist.
    assert refused[0].text.replace(invoice.number, "") == refused[2].text.replace(
        "INV-2026-999999", ""
    )
    assert ada.get(f"/portal/documents/receipt/{invoice.number}.pdf").status_code == 404


def test_a_refunded_order_shows_its_refund_and_its_credit_note(api: Api) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    request = api.post(
        "/v1/refund-requests", {"order_id": order["id"], "reason": "unused"}, role="service"
    ).json()
    api.post(
        f"/v1/refund-requests/{request['id']}/decision",
        {"outcome": "approve_full", "note": "unused"},
        role="support",
    )
    page = ada.get("/portal/billing").text
    assert "Refunded" in page and "5.00 USD refunded on 15 January 2026" in page
    (link, number) = CREDIT_NOTE.findall(page)[0]
    assert number == api.engine.invoice(order["id"]).credit_notes[0].number
    assert ada.get(link).content.startswith(b"%PDF")
    assert "Ask for a refund" not in page  # nothing left to refund
    assert f'href="/portal/refunds/{request["id"]}"' in page and ": approved" in page


def test_billing_shows_orders_a_page_at_a_time(api: Api) -> None:
    ada = Member(api, api.account())
    orders = [buy(api, ada.account_id, "trial_100")["id"] for _ in range(23)]
    first = ada.get("/portal/billing").text
    assert [o for o in orders if o in first] == orders[3:]  # the newest 20
    older = re.search(r'href="(/portal/billing\?cursor=[^"]+)"', first)
    assert older, "no link to older orders"
    second = ada.get(html.unescape(older.group(1))).text
    assert [o for o in orders if o in second] == orders[:3]
    assert "cursor=" not in second.replace('href="/portal/billing"', "")
    assert ada.get("/portal/billing?cursor=not-a-cursor").status_code == 422


# The refund policy


def test_the_refunds_page_states_the_catalogs_policy_with_its_numbers(api: Api) -> None:
    """refund-policies.md: the policy in plain words, with the catalog's numbers."""
    ada = Member(api, api.account())
    page = html.unescape(ada.get("/portal/refunds").text)
    assert "within 14 days of a purchase" in page
    assert "at most 10% of the order's credits" in page and "more than 50%" in page
    assert "At most 2 refunds a year per person" in page
    assert "answers within 3 to 5 business days" in page


def test_the_strict_policy_is_non_refundable_but_for_its_exceptions() -> None:
    words = policy_in_words(Refunds(policy="strict", window_days=7))
    assert words.summary.startswith("Purchases are non-refundable, except")
    assert "within 7 days of the purchase" in words.summary
    assert any("charged twice" in p for p in words.points)
    assert any("24 hours or more" in p for p in words.points)
    assert any("police report or a bank statement" in p for p in words.points)
    assert "change of mind" in words.closing


def test_the_standard_and_goodwill_policies_use_the_catalogs_numbers() -> None:
    standard = policy_in_words(Refunds(policy="standard", technical_failure_min_failed_jobs=4))
    assert any(p.startswith("4 or more of your jobs failed") for p in standard.points)
    assert any("European Union" in p for p in standard.points)
    assert "days of" not in standard.summary  # 002 sets no window
    goodwill = policy_in_words(
        Refunds(
            policy="goodwill",
            window_days=1,
            minimal_use_ratio=Decimal("0.125"),
            max_refunds_per_year=1,
        )
    )
    assert "within 1 day of a purchase" in goodwill.summary
    assert any("at most 12.5%" in p for p in goodwill.points)
    assert "At most 1 refund a year" in goodwill.closing


def test_every_reason_the_api_takes_is_offered_in_words() -> None:
    assert tuple(REASON_WORDS) == REASONS


# Asking for a refund


def test_a_request_with_an_image_and_a_named_job_lands_and_shows_no_recommendation(
    api: Api,
) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    job = job_of(api, ada.account_id)
    form = ada.get("/portal/refunds").text
    assert order["id"] in form and job in form

    sent = ada.ask(
        order_id=order["id"],
        reason="unusable_result",
        description="The upscale came out blurry.",
        evidence_kind="screenshot",
        job_ids=[job],
        files=[("blurry.png", png(), "image/png")],
    )
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    request_id = re.fullmatch(r"/portal/refunds/(rfd_\w+)\?done=requested", location)
    assert request_id, location
    stored = api.get(f"/v1/refund-requests/{request_id.group(1)}").json()
    assert stored["order_id"] == order["id"] and stored["status"] == "in_review"
    assert stored["reason"] == "unusable_result"
    assert stored["description"] == "The upscale came out blurry."
    assert stored["job_ids"] == [job]
    assert [e["kind"] for e in stored["evidence"]] == ["screenshot"]
    assert stored["evidence"][0]["ref"].startswith("file:")

    page = ada.get(location).text
    assert "your request is in" in page and "In review" in page
    assert "blurry" in page and "upscale" in page and job in page
    outcome = stored["recommendation"]["outcome"]
    assert outcome not in page and "ecommend" not in page  # support decides; not shown
    image = ada.get(f"/portal/refunds/{stored['id']}/evidence/1")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == png()
    assert "sandbox" in image.headers["content-security-policy"]

    listed = ada.get("/portal/refunds").text
    assert f'href="/portal/refunds/{stored["id"]}"' in listed and "In review" in listed
    assert f'value="{order["id"]}"' not in listed  # asked already: not offered again


def test_the_same_form_sent_twice_makes_one_request(api: Api) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    page = ada.get("/portal/refunds").text
    data = {
        "csrf": CSRF.findall(page)[-1],
        "form_id": FORM_ID.findall(page)[-1],
        "order_id": order["id"],
        "reason": "unused",
        "evidence_kind": "screenshot",
    }
    first = ada.client.post("/portal/refunds", data=data, follow_redirects=False)
    again = ada.client.post("/portal/refunds", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(requests_of(api)) == 1


def test_the_decision_shows_in_the_portal_once_support_makes_it(api: Api) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    sent = ada.ask(order_id=order["id"], reason="change_of_mind", evidence_kind="screenshot")
    request_id = sent.headers["location"].split("/")[-1].split("?")[0]
    before = ada.get(f"/portal/refunds/{request_id}").text
    assert "answers by" in before and "Declined" not in before
    decided = api.post(
        f"/v1/refund-requests/{request_id}/decision",
        {"outcome": "deny", "note": "Credits were used for 12 images."},
        role="support",
    )
    assert decided.status_code == 200
    after = html.unescape(ada.get(f"/portal/refunds/{request_id}").text)
    assert "Declined" in after and "Your request was declined." in after
    assert "Credits were used for 12 images." in after
    assert "key_" not in after  # who decided stays with support
    listed = html.unescape(ada.get("/portal/refunds").text)
    assert "Declined" in listed and "Credits were used for 12 images." in listed


def test_an_approval_shows_the_money_coming_back(api: Api) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    sent = ada.ask(order_id=order["id"], reason="unused", evidence_kind="screenshot")
    request_id = sent.headers["location"].split("/")[-1].split("?")[0]
    api.post(
        f"/v1/refund-requests/{request_id}/decision",
        {"outcome": "approve_full", "note": "Unused, as the policy says."},
        role="support",
    )
    page = ada.get(f"/portal/refunds/{request_id}").text
    assert "5.00 USD goes back to you" in page and "Approved" in page


# Other accounts' ids


def test_another_accounts_request_order_and_jobs_are_not_found(api: Api) -> None:
    ada, bob = two_members(api)
    mine = buy(api, ada.account_id)
    theirs = buy(api, bob.account_id)
    their_job = job_of(api, bob.account_id)
    their_request = bob.ask(
        order_id=theirs["id"],
        reason="unused",
        evidence_kind="screenshot",
        files=[("proof.png", png(), "image/png")],
    )
    their_id = their_request.headers["location"].split("/")[-1].split("?")[0]

    assert ada.get(f"/portal/refunds/{their_id}").status_code == 404
    assert ada.get(f"/portal/refunds/{their_id}/evidence/1").status_code == 404
    assert ada.get("/portal/refunds/rfd_nothing").status_code == 404
    page = ada.get("/portal/refunds").text
    assert theirs["id"] not in page and their_job not in page and their_id not in page

    with_their_order = ada.ask(order_id=theirs["id"], reason="unused", evidence_kind="other")
    with_their_job = ada.ask(
        order_id=mine["id"], reason="unused", evidence_kind="other", job_ids=[their_job]
    )
    assert with_their_order.status_code == with_their_job.status_code == 404
    assert "No order of yours" in with_their_order.text
    assert "No job of yours" in with_their_job.text
    assert [r["id"] for r in requests_of(api)] == [their_id]


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(api: Api) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    refused = ada.ask(
        csrf=False,
        order_id=order["id"],
        reason="unused",
        evidence_kind="screenshot",
        files=[("proof.png", png(), "image/png")],
    )
    assert refused.status_code == 403
    assert requests_of(api) == []
    with pytest.raises(FileNotFoundError):  # the file was not kept either
        api.engine.files.get(hashlib.sha256(png()).hexdigest())


# Bad input


BIG = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)


@pytest.mark.parametrize(
    ("fields", "files", "field", "says"),
    [
        ({"order_id": ""}, None, "order_id", "Choose the order"),
        ({"reason": "because"}, None, "reason", "Choose one of the reasons"),
        ({"reason": ""}, None, "reason", "Choose one of the reasons"),
        ({"description": "x" * 1001}, None, "description", "1,000 characters (this is 1,001)"),
        ({"evidence_kind": "selfie"}, None, "evidence_kind", "Choose what the files show"),
        ({}, [("notes.txt", b"just words", "text/plain")], "evidence", "notes.txt is not an image"),
        ({}, [("fake.png", b"\x89PNG not really", "image/png")], "evidence", "fake.png is not"),
        ({}, [("huge.png", BIG, "image/png")], "evidence", "huge.png is larger than 10 MB"),
        ({}, [(f"p{n}.png", png(), "image/png") for n in range(6)], "evidence", "at most 5"),
    ],
)
def test_bad_input_comes_back_beside_its_field_and_changes_nothing(
    api: Api,
    fields: dict[str, str],
    files: list[tuple[str, bytes, str]] | None,
    field: str,
    says: str,
) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    asked = {
        "order_id": order["id"],
        "reason": "unused",
        "description": "Never used it.",
        "evidence_kind": "screenshot",
        **fields,
    }
    answer = ada.ask(files=files, **asked)
    assert answer.status_code == 422, answer.text
    assert says in error_beside(answer.text, field)
    assert "Nothing was sent yet" in answer.text
    if fields.get("description"):
        assert "x" * 1001 in answer.text  # what was typed is kept
    assert requests_of(api) == []


def test_an_order_past_the_window_is_refused_with_the_dates(api: Api, clock: TestClock) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    opened = ada.get("/portal/refunds").text  # a tab left open past the window
    clock.move_to(START + timedelta(days=14, seconds=1))
    now = ada.get("/portal/refunds").text
    assert f'value="{order["id"]}"' not in now and "can be refunded now" in now
    answer = ada.ask(page=opened, order_id=order["id"], reason="unused", evidence_kind="screenshot")
    assert answer.status_code == 422
    said = error_beside(answer.text, "order_id")
    assert "You bought this on 15 January 2026" in said and "until 29 January 2026" in said
    assert requests_of(api) == []


def test_a_second_request_while_one_is_in_review_is_refused(api: Api) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    opened = ada.get("/portal/refunds").text  # the form open in a second tab
    first = ada.ask(order_id=order["id"], reason="unused", evidence_kind="screenshot")
    assert first.status_code == 303
    again = ada.ask(page=opened, order_id=order["id"], reason="other", evidence_kind="other")
    assert again.status_code == 409
    assert "already" in error_beside(again.text, "order_id")
    assert len(requests_of(api)) == 1


def test_a_form_without_its_id_is_refused(api: Api) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    page = ada.get("/portal/refunds").text
    answer = ada.client.post(
        "/portal/refunds",
        data={"csrf": CSRF.findall(page)[-1], "order_id": order["id"], "reason": "unused"},
    )
    assert answer.status_code == 422 and "reload the page" in answer.text
    assert requests_of(api) == []


def test_the_evidence_of_a_request_is_only_its_own_files(api: Api) -> None:
    ada = Member(api, api.account())
    order = buy(api, ada.account_id)
    sent = ada.ask(
        order_id=order["id"],
        reason="unused",
        evidence_kind="bank_statement",
        files=[("statement.pdf", b"%PDF-1.4\n%fake but a PDF by its bytes\n", "application/pdf")],
    )
    request_id = sent.headers["location"].split("/")[-1].split("?")[0]
    pdf = ada.get(f"/portal/refunds/{request_id}/evidence/1")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert ada.get(f"/portal/refunds/{request_id}/evidence/2").status_code == 404
    assert ada.get(f"/portal/refunds/{request_id}/evidence/0").status_code == 404
    assert json.loads(json.dumps(requests_of(api)[0]["evidence"]))[0]["kind"] == "bank_statement"
