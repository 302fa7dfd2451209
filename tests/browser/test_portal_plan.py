"""A member's plan in the portal, in a real browser against a real server: the site makes the
member over the API and mints the link; the member opens it, goes to Plan, upgrades after a
preview whose charge is what the order then shows, cancels and keeps the plan again."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, post_json

Shoot = Callable[[Page, str], None]


def member_on_starter(site: Site) -> str:
    with site.api() as api:
        tag = uuid.uuid4().hex[:8]
        account = post_json(
            api, "/v1/accounts", {"external_id": f"member-{tag}", "email": f"{tag}@example.com"}
        )["id"]
        post_json(
            api, f"/v1/accounts/{account}/subscriptions", {"plan": "starter", "interval": "month"}
        )
        link = post_json(api, "/v1/portal-sessions", {"account_id": account})["url"]
    return f"{account} {link}"


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"the page is {width}px wide"


def test_a_member_upgrades_after_a_preview_then_cancels_and_keeps_the_plan(
    page: Page, site: Site, shoot: Shoot
) -> None:
    account, link = member_on_starter(site).split(" ")
    page.goto(link)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Plan").click()
    expect(page.get_by_role("heading", name="Your plan", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Starter")).to_be_visible()
    expect(page.get_by_text("Renews on")).to_be_visible()
    expect(page.get_by_role("heading", name="If you cancel")).to_be_visible()
    shoot(page, "portal plan")
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("radio", name=re.compile(r"Studio")).check()
    page.get_by_role("button", name="Review the change").click()
    expect(page.get_by_role("heading", name="Review: Starter to Studio")).to_be_visible()
    shoot(page, "portal plan upgrade preview")
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    for _ in range(3):  # shown again, and not charged, if the proration moved meanwhile
        charge = page.locator("#preview-charge").inner_text()
        credits = page.locator("#preview-credits").inner_text()
        page.get_by_role("button", name=f"Pay {charge} and change").click()
        if "done=upgraded" in page.url:
            break
        expect(page.get_by_text("The numbers have moved on")).to_be_visible()
    banner = page.get_by_role("status")
    expect(banner).to_contain_text(f"{charge} charged")
    expect(banner).to_contain_text(f"{credits} credits added")
    order_id = re.search(r"order=([\w-]+)", page.url)
    assert order_id
    with site.api() as api:
        order = api.get(f"/v1/orders/{order_id[1]}").json()
        balance = api.get(f"/v1/accounts/{account}/balance").json()
    assert f"{order['total']['amount'] / 100:.2f} {order['total']['currency']}" == charge
    assert order["status"] == "paid" and order["kind"] == "upgrade"
    assert balance["available"] == 1000 + int(credits.replace(",", ""))
    expect(page.get_by_role("heading", name="Studio")).to_be_visible()

    page.get_by_role("button", name="Cancel my plan…").click()
    expect(page.get_by_role("heading", name="Cancel Studio?")).to_be_visible()
    expect(page.get_by_text("You lose, once it has ended")).to_be_visible()
    shoot(page, "portal plan cancel confirmation")
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Cancel my plan", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Your plan is cancelled")
    expect(page.get_by_text("it will not renew")).to_be_visible()
    shoot(page, "portal plan cancelled")

    page.get_by_role("button", name="Keep my plan…").click()
    expect(page.get_by_role("heading", name="Keep Studio?")).to_be_visible()
    page.get_by_role("button", name="Keep my plan", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Your plan is back on")
    expect(page.get_by_text("Renews on")).to_be_visible()
    with site.api() as api:
        [subscription] = api.get(f"/v1/accounts/{account}/subscriptions").json()["data"]
    assert subscription["plan"] == "studio" and not subscription["cancel_at_period_end"]


def test_a_newcomer_chooses_a_plan_and_subscribes(page: Page, site: Site, shoot: Shoot) -> None:
    with site.api() as api:
        tag = uuid.uuid4().hex[:8]
        account = post_json(
            api, "/v1/accounts", {"external_id": f"new-{tag}", "email": f"{tag}@example.com"}
        )["id"]
        link = post_json(api, "/v1/portal-sessions", {"account_id": account})["url"]
    page.goto(link)
    page.goto("/portal/plan")
    expect(page.get_by_role("heading", name="Choose a plan")).to_be_visible()
    shoot(page, "portal plan choose")
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    studio = page.get_by_role("region", name="Studio")
    studio.get_by_label(re.compile(r"Every year")).check()
    studio.get_by_role("button", name="Subscribe to Studio").click()
    expect(page.get_by_role("status")).to_contain_text("your plan is active")
    expect(page.locator(".plan-now .plan-price")).to_contain_text("290.00 USD a year")
