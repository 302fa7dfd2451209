"""A member's usage in the portal, in a real browser against a real server: the site's backend
made a few jobs and a worker finished one; the member opens the portal link, reads what was
spent over 30 and 90 days, filters the ledger and downloads the finished job's result."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, post_json
from tests.browser.test_console_tour import check_page
from tests.images import png

Shoot = Callable[[Page, str], None]
RESULT = png((96, 72))


def start_job(api: httpx.Client, account_id: str, operation: str) -> str:
    answer = api.post(
        f"/v1/accounts/{account_id}/jobs",
        data={"operation": operation, "params": json.dumps({})},
        files={"image": ("cat.png", png(), "image/png")},
    )
    assert answer.status_code == 201, answer.text
    job_id: str = answer.json()["id"]
    return job_id


def work_on(api: httpx.Client, operation: str, *, succeed: bool) -> str:
    """What a worker does: take the next job of `operation`, then finish or fail it."""
    claimed = api.post("/v1/jobs/claim", json={"operations": [operation]})
    assert claimed.status_code == 200, claimed.text
    job_id: str = claimed.json()["id"]
    if succeed:
        output = {
            "content_type": "image/png",
            "name": "upscaled-cat.png",
            "data": base64.b64encode(RESULT).decode(),
        }
        post_json(api, f"/v1/jobs/{job_id}/complete", {"outputs": [output]})
    else:
        post_json(api, f"/v1/jobs/{job_id}/fail", {"error": "the GPU ran out of memory"})
    return job_id


def busy_member(site: Site) -> tuple[dict[str, Any], dict[str, str]]:
    """A member with credits, a finished upscale, a failed one, a queued generation and a few
    direct spends; and the portal link for them."""
    with site.api() as api:
        tag = uuid.uuid4().hex[:8]
        account = post_json(
            api, "/v1/accounts", {"external_id": f"u-{tag}", "email": f"{tag}@example.com"}
        )
        acc = account["id"]
        post_json(api, f"/v1/accounts/{acc}/checkout", {"product": "pack_500"})
        jobs = {}
        start_job(api, acc, "upscale")
        jobs["done"] = work_on(api, "upscale", succeed=True)
        start_job(api, acc, "upscale")
        jobs["failed"] = work_on(api, "upscale", succeed=False)
        jobs["queued"] = start_job(api, acc, "generate")
        for credits in (12, 30):
            post_json(api, f"/v1/accounts/{acc}/consume", {"credits": credits, "reason": "chat"})
        account["url"] = post_json(api, "/v1/portal-sessions", {"account_id": acc})["url"]
    return account, jobs


def test_a_member_reads_their_usage_and_downloads_a_result(
    page: Page, site: Site, shoot: Shoot
) -> None:
    account, jobs = busy_member(site)
    page.goto(account["url"])
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Usage").click()
    expect(page).to_have_url(re.compile(r"/portal/usage$"))
    check_page(page, "Usage")

    # 4 for the upscale that succeeded and 42 spent directly; the failed one cost nothing.
    expect(page.locator(".stat").first).to_contain_text("46")
    expect(page.locator(".stat").first).to_contain_text("credits spent in the last 30 days")
    spent = page.get_by_role("region", name="Credits spent per day")
    expect(spent.get_by_role("img", name=re.compile("over the last 30 days"))).to_be_visible()
    expect(spent.locator(".legend")).to_contain_text("Upscale")
    expect(spent.locator(".legend")).to_contain_text("Other")
    spent.get_by_text("The numbers").click()
    numbers = spent.locator("details.numbers table")
    expect(numbers.locator("tbody tr")).to_have_count(30)
    expect(numbers.locator("tfoot tr")).to_have_text(re.compile(r"All 30 days\s*4\s*42\s*46"))

    jobs_card = page.get_by_role("region", name="Jobs")
    expect(jobs_card.get_by_role("row", name=re.compile(jobs["failed"]))).to_contain_text(
        "Failed: nothing was charged"
    )
    expect(jobs_card.get_by_role("row", name=re.compile(jobs["queued"]))).to_contain_text(
        "Not ready yet"
    )
    shoot(page, "portal usage 30 days")

    page.get_by_role("link", name="Last 90 days").click()
    expect(page).to_have_url(re.compile(r"days=90"))
    check_page(page, "Usage")
    expect(page.get_by_role("link", name="Last 90 days")).to_have_attribute("aria-current", "true")
    expect(page.locator(".stat").first).to_contain_text("credits spent in the last 90 days")
    expect(spent.get_by_role("img", name=re.compile("over the last 90 days"))).to_be_visible()
    expect(spent.locator("details.numbers tbody tr")).to_have_count(90)
    shoot(page, "portal usage 90 days")

    ledger = page.get_by_role("region", name="Ledger")
    ledger.get_by_label("Show").select_option(label="Credits spent")
    ledger.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"type=consume"))
    rows = page.get_by_role("region", name="Ledger").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("-30")
    shoot(page, "portal usage ledger spends")

    with page.expect_download() as waiting:
        page.get_by_role("link", name="upscaled-cat.png").click()
    download = waiting.value
    assert download.suggested_filename == "upscaled-cat.png"
    path = download.path()
    assert path is not None and path.read_bytes() == RESULT
    with site.api() as api:
        recorded = api.get(f"/v1/jobs/{jobs['done']}/downloads").json()["data"]
    assert [(d["n"], d["key_id"]) for d in recorded] == [(0, "portal")]


def test_a_period_not_offered_and_another_members_result_are_refused(
    page: Page, site: Site, shoot: Shoot
) -> None:
    _, theirs = busy_member(site)
    mine, _ = busy_member(site)
    page.goto(mine["url"])

    answer = page.goto("/portal/usage?days=7")
    assert answer is not None and answer.status == 422
    expect(page.get_by_role("alert")).to_contain_text("Choose the last 30 or the last 90 days.")
    expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute("aria-current", "true")
    check_page(page, "Usage")
    shoot(page, "portal usage period refused")

    answer = page.goto(f"/portal/jobs/{theirs['done']}/outputs/0")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text("No job of yours has this id.")).to_be_visible()
    shoot(page, "portal usage another members result")
