"""A member in the customer portal, in a real browser, against a real server: opened from the
site with one link, credits claimed and bought, the link refused when used again."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, post_json
from tests.browser.test_console_tour import check_page

Shoot = Callable[[Page, str], None]


def member(site: Site, **link: Any) -> tuple[dict[str, Any], str]:
    """An account, and the portal link the site's backend mints for it."""
    with site.api() as api:
        tag = uuid.uuid4().hex[:8]
        account = post_json(
            api, "/v1/accounts", {"external_id": f"m-{tag}", "email": f"{tag}@example.com"}
        )
        minted = post_json(api, "/v1/portal-sessions", {"account_id": account["id"], **link})
    return account, minted["url"]


def test_a_member_opens_the_portal_claims_and_buys_credits(
    page: Page, site: Site, shoot: Shoot
) -> None:
    account, url = member(site, return_url="https://site.example/settings")
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/portal$"))
    check_page(page, "Your credits")
    expect(page.get_by_role("link", name=re.compile("Back to"))).to_have_attribute(
        "href", "https://site.example/settings"
    )
    shoot(page, "portal overview empty")

    page.get_by_role("button", name=re.compile(r"Claim \d+ credits")).click()
    expect(page.get_by_role("status")).to_contain_text("daily credits are yours")
    expect(page.get_by_text("You have claimed today's credits")).to_be_visible()
    claimed = int(page.locator(".big-number .value").inner_text().replace(",", ""))
    assert claimed > 0

    page.get_by_role("button", name=re.compile(r"Buy 500 credits for 5.00")).click()
    expect(page.get_by_role("status")).to_contain_text("the credits are in your balance")
    expect(page.locator(".big-number .value")).to_have_text(f"{claimed + 500:,}")
    expect(page.get_by_role("row", name=re.compile("Bought credits"))).to_contain_text(
        "never expire"
    )
    check_page(page, "Your credits")
    shoot(page, "portal overview")
    with site.api() as api:
        balance = api.get(f"/v1/accounts/{account['id']}/balance").json()
    assert balance["available"] == claimed + 500


def test_a_used_link_is_refused_and_a_new_one_can_be_asked_for(
    page: Page, site: Site, shoot: Shoot, browser: Any
) -> None:
    account, url = member(site)
    page.goto(url)
    expect(page.get_by_role("heading", name="Your credits")).to_be_visible()

    other = browser.new_context(base_url=site.url)
    stranger = other.new_page()
    answer = stranger.goto(url)
    assert answer is not None and answer.status == 410
    expect(stranger.get_by_role("heading", level=1)).to_have_text("This link has been used already")
    check_page(stranger, "This link has been used already")
    shoot(stranger, "portal link used")
    stranger.get_by_label("Email").fill(account["email"])
    stranger.get_by_role("button", name="Mail me a sign-in link").click()
    expect(stranger.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shoot(stranger, "portal link mailed")
    other.close()
    assert any(m.template == "portal_sign_in" for m in site.engine.outbox(account["id"]))

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    page.goto("/portal")
    expect(page).to_have_url(re.compile(r"/portal/sign-in"))
    shoot(page, "portal sign in")
