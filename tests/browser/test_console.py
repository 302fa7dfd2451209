"""Support's work in the console, in a real browser, against a real server.

Each test makes its own customers over the API (as a site's backend would), then does in the
console what an agent does, and checks what the customer and the site would see.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, post_json, sign_in

Shoot = Callable[[Page, str], None]


def customer(site: Site, *, pack: str = "pack_500", spend: int = 0) -> dict[str, Any]:
    """An account that bought a pack through the test provider and spent some of it."""
    with site.api() as api:
        tag = uuid.uuid4().hex[:8]
        account = post_json(
            api, "/v1/accounts", {"external_id": f"user-{tag}", "email": f"{tag}@example.com"}
        )
        order = post_json(api, f"/v1/accounts/{account['id']}/checkout", {"product": pack})
        if spend:
            post_json(api, f"/v1/accounts/{account['id']}/consume", {"credits": spend})
    return {"account": account, "order": order}


def test_signed_out_pages_send_you_to_sign_in_and_back(
    page: Page, site: Site, shoot: Shoot
) -> None:
    email = site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support")
    page.goto("/console/refunds?status=denied")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    expect(page.get_by_role("heading", name="Sign in to the support console")).to_be_visible()
    shoot(page, "sign-in")
    sign_in(page, email, go=False)
    expect(page).to_have_url(re.compile(r"/console/refunds"))
    expect(page.get_by_role("heading", name="Refund queue")).to_be_visible()


def test_a_refund_request_worked_end_to_end(page: Page, site: Site, shoot: Shoot) -> None:
    bought = customer(site, spend=40)
    order_id = bought["order"]["id"]
    with site.api() as api:
        request = post_json(
            api,
            "/v1/refund-requests",
            {
                "order_id": order_id,
                "reason": "change_of_mind",
                "description": "I meant to buy the small pack.",
            },
        )
    email = site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support")
    sign_in(page, email)
    page.get_by_role("link", name="Refund queue", exact=True).click()
    shoot(page, "refund queue")
    page.get_by_role("link", name=request["id"]).click()
    expect(page.get_by_role("heading", name=f"Refund request {request['id']}")).to_be_visible()
    expect(page.get_by_text("I meant to buy the small pack.")).to_be_visible()
    shoot(page, "refund request")

    page.get_by_label("Approve in part").check()
    page.get_by_label(re.compile("Amount to give back")).fill("2.50")
    page.get_by_label("Note").fill("Half of what is left, as a gesture.")
    page.get_by_role("button", name="Review the decision").click()
    confirm = page.get_by_role("region", name="When you confirm")
    expect(confirm).to_contain_text("goes back to the customer through test")
    expect(confirm).to_contain_text("2.50")
    shoot(page, "refund decision confirmation")
    page.get_by_role("button", name="Confirm the decision").click()

    expect(page.get_by_role("status")).to_contain_text("The decision is recorded")
    expect(
        page.get_by_role("heading", name=re.compile("Decision: approve partial"))
    ).to_be_visible()
    mail = page.get_by_role("region", name=re.compile("Mail to the customer"))
    expect(mail).to_contain_text("our answer to your refund request")
    shoot(page, "refund request decided")

    with site.api() as api:
        order = api.get(f"/v1/orders/{order_id}").json()
    assert order["status"] == "partially_refunded"
    assert [r["amount"] for r in order["refunds"]] == [
        {"amount": 250, "currency": order["total"]["currency"]}
    ]
    sent = [m.template for m in site.engine.outbox(bought["account"]["id"])]
    assert "refund_decided" in sent


def test_an_amount_above_what_is_refundable_comes_back_beside_the_field(
    page: Page, site: Site, shoot: Shoot
) -> None:
    bought = customer(site)
    with site.api() as api:
        request = post_json(
            api, "/v1/refund-requests", {"order_id": bought["order"]["id"], "reason": "unused"}
        )
    sign_in(page, site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support"))
    page.goto(f"/console/refunds/{request['id']}")
    page.get_by_label("Approve in part").check()
    page.get_by_label(re.compile("Amount to give back")).fill("999.00")
    page.get_by_label("Note").fill("Too much")
    page.get_by_role("button", name="Review the decision").click()
    field = page.locator(".field.has-error")
    expect(field).to_contain_text("At most 5.00 USD can go back on this order")
    expect(page.get_by_label(re.compile("Amount to give back"))).to_have_value("999.00")
    shoot(page, "refund decision with an error")
    with site.api() as api:
        assert api.get(f"/v1/refund-requests/{request['id']}").json()["status"] == "in_review"


def test_support_gives_replacement_credits_with_a_reason(
    page: Page, site: Site, shoot: Shoot
) -> None:
    bought = customer(site, spend=100)
    account_id = bought["account"]["id"]
    email = site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support")
    sign_in(page, email)
    page.get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_label("Id, external id or email").fill(bought["account"]["email"])
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=bought["account"]["email"])).to_be_visible()
    shoot(page, "account")
    page.get_by_text("Give credits").click()
    page.get_by_label("Credits", exact=True).fill("150")
    page.get_by_label("Kind").select_option("replacement")
    page.get_by_label("Reason for the credits").fill("Upscaler outage on Tuesday")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("region", name="When you confirm")).to_contain_text(
        "150 replacement credits are granted"
    )
    shoot(page, "give credits confirmation")
    page.get_by_role("button", name="Give the credits").click()
    expect(page.get_by_role("status")).to_contain_text("The credits are in the account")
    with site.api() as api:
        assert api.get(f"/v1/accounts/{account_id}/balance").json()["available"] == 400 + 150
    page.get_by_role("link", name="Audit log", exact=True).click()
    row = page.get_by_role("row").filter(has_text="credits given").first
    expect(row).to_contain_text(email)
    expect(row).to_contain_text("Upscaler outage on Tuesday")
    shoot(page, "audit log")


def test_suspend_and_reinstate_an_account(page: Page, site: Site, shoot: Shoot) -> None:
    bought = customer(site)
    account_id = bought["account"]["id"]
    sign_in(page, site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support"))
    page.goto(f"/console/accounts/{account_id}")
    page.get_by_text("Suspend the account").click()
    page.get_by_label("Reason for suspending").fill("Card testing from many accounts")
    page.get_by_role("button", name="Review").click()
    shoot(page, "suspend confirmation")
    page.get_by_role("button", name="Suspend").click()
    expect(page.get_by_role("status")).to_contain_text("The account is suspended")
    with site.api() as api:
        assert api.get(f"/v1/accounts/{account_id}").json()["status"] == "suspended"
        refused = api.post(f"/v1/accounts/{account_id}/consume", json={"credits": 1})
        assert refused.status_code == 403, refused.text

    page.get_by_text("Reinstate the account").click()
    page.get_by_label("Reason for reinstating").fill("Verified with the customer")
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Reinstate").click()
    expect(page.get_by_role("status")).to_contain_text("The account is active again")
    with site.api() as api:
        assert api.get(f"/v1/accounts/{account_id}").json()["status"] == "active"


def test_close_a_dispute_as_won(page: Page, site: Site, shoot: Shoot) -> None:
    bought = customer(site, spend=20)
    with site.api() as api:
        dispute = post_json(api, f"/v1/orders/{bought['order']['id']}/disputes", {})
    sign_in(page, site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support"))
    page.get_by_role("link", name="Disputes", exact=True).click()
    shoot(page, "disputes")
    page.get_by_role("link", name=dispute["id"]).click()
    expect(page.get_by_role("link", name="Evidence PDF")).to_be_visible()
    shoot(page, "dispute")
    pdf = page.request.get(f"/console/disputes/{dispute['id']}/evidence.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.get_by_label("Won").check()
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("region", name="When you confirm")).to_contain_text(
        "480 credits taken back when it opened are given back"
    )
    page.get_by_role("button", name="Close as won").click()
    expect(page.get_by_role("status")).to_contain_text("The dispute is closed")
    with site.api() as api:
        assert api.get(f"/v1/disputes/{dispute['id']}").json()["status"] == "won"
        account = api.get(f"/v1/accounts/{bought['account']['id']}").json()
    assert account["status"] == "active"


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    page: Page, site: Site
) -> None:
    bought = customer(site)
    account_id = bought["account"]["id"]
    sign_in(page, site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support"))
    page.goto(f"/console/accounts/{account_id}")
    form = {"form_id": "f1", "grant_credits": "100", "grant_kind": "promo", "grant_reason": "x"}
    for token in (None, "not-the-token"):
        sent = form if token is None else {**form, "csrf": token}
        answer = page.request.post(f"/console/accounts/{account_id}/grant", form=sent)
        assert answer.status == 403
        assert "security token" in answer.text()
    with site.api() as api:
        assert api.get(f"/v1/accounts/{account_id}/balance").json()["available"] == 500


def test_support_is_refused_the_admin_pages(page: Page, site: Site, shoot: Shoot) -> None:
    sign_in(page, site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support"))
    expect(page.get_by_role("navigation", name="Console")).not_to_contain_text("Staff")
    for path in ("/console/staff", "/console/keys"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shoot(page, "not allowed")


def test_signing_out_ends_the_session(page: Page, site: Site) -> None:
    sign_in(page, site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    page.goto("/console/accounts")
    expect(page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole%2Faccounts"))
