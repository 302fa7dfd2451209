"""Every console page, seen by an admin on a site with some life in it.

The tour saves a screenshot of each page at desktop and phone width, and checks what every page
owes a keyboard or screen-reader user: one main heading, a main landmark reached by the skip
link, a label on every field, and no page wider than the phone.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Site, post_json, sign_in
from tests.images import png

Shoot = Callable[[Page, str], None]

UNLABELLED_FIELDS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(f => f.type !== 'hidden' && f.type !== 'submit')
  .filter(f => !(f.labels && f.labels.length) && !f.getAttribute('aria-label'))
  .map(f => f.name || f.outerHTML)"""

STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => ![...e.children].some(
    c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 1))
  .filter(e => !e.parentElement.closest('.table-wrap, .nav ul'))
  .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 40))"""


@pytest.fixture(scope="module")
def lively(site: Site) -> dict[str, Any]:
    """Customers who bought, subscribed, ran jobs, asked for refunds and disputed a charge."""
    with site.api() as api:
        tag = uuid.uuid4().hex[:6]
        member = post_json(
            api, "/v1/accounts", {"external_id": f"member-{tag}", "email": f"m{tag}@example.com"}
        )
        mid = member["id"]
        pack = post_json(api, f"/v1/accounts/{mid}/checkout", {"product": "pack_500"})
        post_json(
            api, f"/v1/accounts/{mid}/subscriptions", {"plan": "starter", "interval": "month"}
        )
        for credits in (12, 30, 7):
            post_json(api, f"/v1/accounts/{mid}/consume", {"credits": credits})
        post_json(api, f"/v1/accounts/{mid}/holds", {"credits": 20, "reason": "generation"})
        job = api.post(
            f"/v1/accounts/{mid}/jobs",
            data={"operation": "upscale", "params": json.dumps({})},
            files={"image": ("cat.png", png(), "image/png")},
        )
        assert job.status_code == 201, job.text
        request = post_json(
            api,
            "/v1/refund-requests",
            {
                "order_id": pack["id"],
                "reason": "unusable_result",
                "description": "The upscales came out blurry.",
            },
        )
        other = post_json(
            api, "/v1/accounts", {"external_id": f"buyer-{tag}", "email": f"b{tag}@example.com"}
        )
        bought = post_json(api, f"/v1/accounts/{other['id']}/checkout", {"product": "pack_500"})
        dispute = post_json(api, f"/v1/orders/{bought['id']}/disputes", {})
        post_json(
            api,
            "/v1/incidents",
            {"started_at": "2026-11-30T08:00:00Z", "summary": "GPU pool down in eu-west"},
        )
    return {"member": member, "request": request, "dispute": dispute}


def check_page(page: Page, heading: str | re.Pattern[str]) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_role("main")).to_have_count(1)
    assert page.evaluate(UNLABELLED_FIELDS) == []
    page.set_viewport_size(PHONE)
    wider = page.evaluate("() => document.documentElement.scrollWidth")
    sticking_out = page.evaluate(STICKING_OUT) if wider > PHONE["width"] else []
    page.set_viewport_size({"width": 1280, "height": 900})
    assert wider <= PHONE["width"], f"{page.url} is {wider} px wide at phone width: {sticking_out}"


def test_every_console_page_as_an_admin(
    page: Page, site: Site, lively: dict[str, Any], shoot: Shoot
) -> None:
    admin = site.staff(f"admin-{uuid.uuid4().hex[:6]}@example.com", "admin")
    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    member = lively["member"]
    tour: list[tuple[str, str, str | re.Pattern[str]]] = [
        ("dashboard", "/console", "Dashboard"),
        ("accounts search", "/console/accounts", "Accounts"),
        ("accounts search no match", "/console/accounts?q=nobody%40example.com", "Accounts"),
        ("account with a plan", f"/console/accounts/{member['id']}", member["email"]),
        (
            "account ledger spends only",
            f"/console/accounts/{member['id']}?type=consume",
            member["email"],
        ),
        ("refund queue full", "/console/refunds", "Refund queue"),
        (
            "refund request with jobs",
            f"/console/refunds/{lively['request']['id']}",
            f"Refund request {lively['request']['id']}",
        ),
        ("disputes open", "/console/disputes", "Disputes"),
        (
            "dispute open",
            f"/console/disputes/{lively['dispute']['id']}",
            re.compile(lively["dispute"]["id"]),
        ),
        ("incidents", "/console/incidents", "Incidents"),
        ("audit", "/console/audit", "Audit log"),
        ("unmatched webhooks", "/console/webhooks", "Unmatched webhooks"),
        ("catalog", "/console/catalog", re.compile("catalog", re.I)),
        ("staff", "/console/staff", "Staff"),
        ("api keys", "/console/keys", "API keys"),
    ]
    for name, path, heading in tour:
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        check_page(page, heading)
        shoot(page, name)

    page.goto(f"/console/accounts/{member['id']}")
    expect(page.get_by_role("region", name="Subscriptions")).to_contain_text("Starter")
    expect(page.get_by_role("region", name="Holds in flight")).to_contain_text("20")
    expect(page.get_by_role("region", name="Latest jobs")).to_contain_text("upscale")

    answer = page.goto("/console/accounts/acc_nobody")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("not found", ignore_case=True)
    shoot(page, "account not found")
