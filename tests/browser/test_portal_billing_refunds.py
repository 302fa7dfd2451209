"""Billing and refunds in the portal, in a real browser against a real server: a member who
bought a pack downloads its invoice, asks for a refund (a mistake first), sees it in review,
and sees the decision support makes in the console; another account's invoice is refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, post_json, sign_in
from tests.browser.test_console_tour import check_page
from tests.images import png

Shoot = Callable[[Page, str], None]


def buyer(site: Site) -> tuple[dict[str, Any], dict[str, Any]]:
    """An account that bought the 500-credit pack over the API, and its order."""
    with site.api() as api:
        tag = uuid.uuid4().hex[:8]
        account = post_json(
            api, "/v1/accounts", {"external_id": f"b-{tag}", "email": f"{tag}@example.com"}
        )
        order = post_json(api, f"/v1/accounts/{account['id']}/checkout", {"product": "pack_500"})
    assert order["status"] == "paid"
    return account, order


def test_a_member_downloads_an_invoice_and_asks_for_a_refund_that_support_decides(
    page: Page, site: Site, shoot: Shoot, browser: Browser
) -> None:
    account, order = buyer(site)
    with site.api() as api:
        link = post_json(api, "/v1/portal-sessions", {"account_id": account["id"]})["url"]
    page.goto(link)

    page.get_by_role("link", name="Billing").click()
    check_page(page, "Billing")
    invoice = page.get_by_role("link", name=re.compile(r"^Invoice INV-"))
    expect(invoice).to_have_count(1)
    expect(page.get_by_role("main")).to_contain_text("500 credits")
    expect(page.get_by_role("main")).to_contain_text("5.00 USD")
    href = invoice.get_attribute("href")
    assert href and href.startswith("/portal/documents/invoice/")
    pdf = page.request.get(href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    shoot(page, "portal billing")

    page.get_by_role("link", name="Refunds", exact=True).click()
    check_page(page, "Refunds")
    expect(page.get_by_role("region", name="Our refund policy")).to_contain_text("14 days")
    expect(page.get_by_text("You have not asked for a refund.")).to_be_visible()
    shoot(page, "portal refunds")

    # A first try without a reason comes back with the error beside it, and what was typed.
    form = page.get_by_role("region", name="Ask for a refund")
    form.get_by_label("Order").select_option(order["id"])
    form.get_by_label("What happened").fill("I bought the wrong pack by mistake.")
    form.get_by_role("button", name="Send the request").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was sent yet")
    expect(form.locator("#f-reason-error")).to_have_text("Choose one of the reasons in the list.")
    expect(form.get_by_label("What happened")).to_have_value("I bought the wrong pack by mistake.")
    check_page(page, "Refunds")
    page.locator("#ask").scroll_into_view_if_needed()
    shoot(page, "portal refund form with an error")

    form.get_by_label("Order").select_option(order["id"])
    form.get_by_label("Reason").select_option("change_of_mind")
    form.get_by_label("Files that show it").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": png()}
    )
    form.get_by_role("button", name="Send the request").click()
    expect(page.get_by_role("status")).to_contain_text("your request is in")
    expect(page.get_by_role("heading", name="In review")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("File 1 you sent"))).to_be_visible()
    check_page(page, "Refund request for 500 credits")
    shoot(page, "portal refund request in review")
    request_id = page.url.split("/")[-1].split("?")[0]

    page.get_by_role("link", name="Back to your refunds").click()
    listed = page.get_by_role("region", name="Your requests")
    expect(listed).to_contain_text("500 credits")
    expect(listed).to_contain_text("In review")

    # Support decides it in the console, in a browser of their own.
    note = "The pack's credits were used for three images, so it cannot be refunded."
    agent = browser.new_context(base_url=site.url)
    console = agent.new_page()
    sign_in(console, site.staff(f"agent-{uuid.uuid4().hex[:6]}@example.com", "support"))
    console.goto(f"/console/refunds/{request_id}")
    console.get_by_label("Deny").check()
    console.get_by_label("Note").fill(note)
    console.get_by_role("button", name="Review the decision").click()
    console.get_by_role("button", name="Confirm the decision").click()
    expect(console.get_by_role("status")).to_contain_text("The decision is recorded")
    agent.close()
    page.reload()
    expect(listed).to_contain_text("Declined")
    page.get_by_role("link", name="500 credits").click()
    expect(page.get_by_role("heading", name="Declined")).to_be_visible()
    expect(page.get_by_text("Your request was declined.")).to_be_visible()
    expect(page.get_by_text(note)).to_be_visible()
    check_page(page, "Refund request for 500 credits")
    shoot(page, "portal refund request decided")


def test_another_accounts_invoice_is_not_found(page: Page, site: Site, shoot: Shoot) -> None:
    account, _ = buyer(site)
    _, theirs = buyer(site)
    with site.api() as api:
        number = api.get(f"/v1/orders/{theirs['id']}/invoice").json()["number"]
        link = post_json(api, "/v1/portal-sessions", {"account_id": account["id"]})["url"]
    page.goto(link)
    answer = page.goto(f"/portal/documents/invoice/{number}.pdf")
    assert answer is not None and answer.status == 404
    check_page(page, "Not found")
    expect(page.get_by_role("main")).to_contain_text("No invoice of yours")
    shoot(page, "portal invoice of another account")


def test_a_member_with_some_history_sees_each_order_and_request(
    page: Page, site: Site, shoot: Shoot
) -> None:
    account, refunded = buyer(site)
    member = account["id"]
    with site.api() as api:
        kept = post_json(api, f"/v1/accounts/{member}/checkout", {"product": "pack_2500"})
        trial = post_json(api, f"/v1/accounts/{member}/checkout", {"product": "trial_100"})
        made = api.post(
            f"/v1/accounts/{member}/jobs",
            data={"operation": "upscale"},
            files={"image": ("cat.png", png(), "image/png")},
        )
        assert made.status_code == 201, made.text
        first = post_json(
            api, "/v1/refund-requests", {"order_id": refunded["id"], "reason": "unused"}
        )
        post_json(
            api,
            f"/v1/refund-requests/{first['id']}/decision",
            {"outcome": "approve_full", "note": "Unused, so refunded in full."},
        )
        post_json(
            api,
            "/v1/refund-requests",
            {
                "order_id": kept["id"],
                "reason": "unusable_result",
                "description": "The upscales came out blurry.",
                "job_ids": [made.json()["id"]],
            },
        )
        link = post_json(api, "/v1/portal-sessions", {"account_id": member})["url"]
    page.goto(link)

    page.goto("/portal/billing")
    check_page(page, "Billing")
    expect(page.get_by_role("link", name=re.compile(r"^Invoice INV-"))).to_have_count(3)
    expect(page.get_by_role("link", name=re.compile(r"^Credit note CN-"))).to_have_count(1)
    expect(page.get_by_role("main")).to_contain_text("5.00 USD refunded on")
    expect(page.get_by_role("link", name="Ask for a refund")).to_have_count(1)  # the trial
    expect(page.get_by_role("link", name="Your refund request")).to_have_count(2)
    credit_note = page.get_by_role("link", name=re.compile(r"^Credit note CN-"))
    href = credit_note.get_attribute("href")
    assert href and page.request.get(href).body().startswith(b"%PDF")
    shoot(page, "portal billing with a refund")

    page.goto("/portal/refunds")
    check_page(page, "Refunds")
    listed = page.get_by_role("region", name="Your requests")
    expect(listed.get_by_role("listitem")).to_have_count(2)
    expect(listed).to_contain_text("Approved")
    expect(listed).to_contain_text("In review")
    form = page.get_by_role("region", name="Ask for a refund")
    offered = form.get_by_label("Order").locator("option")
    expect(offered).to_have_count(2)  # the trial pack: one is refunded, one is in review
    expect(offered.nth(1)).to_have_attribute("value", trial["id"])
    expect(form.get_by_label(re.compile("upscale"))).to_be_visible()
    shoot(page, "portal refunds with requests")
