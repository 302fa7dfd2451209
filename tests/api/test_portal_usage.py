"""The portal's usage page in-process: the chart and its numbers, the ledger, the jobs and their
downloads, each the session's account's only.

The example catalog's site is in Europe/Berlin; the test clock stands at 15 January 2026,
09:00 UTC (10:00 in Berlin). `generate` costs 10 credits and `upscale` 4.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from creditflow.engine import Engine
from creditflow.services.jobs import JobOutput
from tests.api.conftest import Api
from tests.images import png

RESULT = JobOutput(data=png((128, 96)), content_type="image/png", name="upscaled cat.png")


def sign_in(api: Api, account_id: str, client: TestClient | None = None) -> TestClient:
    """A browser (the api's client, or another cookie jar) signed into `account_id`'s portal."""
    browser = client or api.client
    url = api.post("/v1/portal-sessions", {"account_id": account_id}).json()["url"]
    opened = browser.get(url.replace("http://testserver", ""))
    assert opened.status_code == 200, opened.text
    return browser


def succeeded(engine: Engine, account_id: str, operation: str) -> str:
    job = engine.create_job(account_id, operation=operation, image=png())
    assert engine.claim_job(worker="w1") is not None
    engine.complete_job(job.id, outputs=[RESULT])
    return job.id


def numbers(page: str) -> dict[str, list[str]]:
    """The "numbers" table: each day's row (by its label) as the cells after it."""
    table = page[page.index('<details class="numbers usage-numbers">') :]
    table = table[: table.index("</details>")]
    rows = re.findall(r"<tr><th scope=\"row\"[^>]*>([^<]+)</th>(.*?)</tr>", table, re.S)
    return {day: re.findall(r"<td class=\"num\">([^<]*)</td>", cells) for day, cells in rows}


def headings(page: str) -> list[str]:
    table = page[page.index('<details class="numbers usage-numbers">') :]
    head = table[: table.index("</thead>")]
    return re.findall(r"<th scope=\"col\"[^>]*>([^<]+)</th>", head)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_usage_page_draws_credits_spent_per_day_by_operation_with_the_same_numbers(
    api: Api,
) -> None:
    """Rule 20 (000, 003): a failed job costs nothing, so it adds nothing to the day."""
    account = api.account(credits=1_000)
    succeeded(api.engine, account, "generate")
    succeeded(api.engine, account, "generate")
    succeeded(api.engine, account, "upscale")
    api.engine.consume(account, credits=7, reason="chat")
    failed = api.engine.create_job(account, operation="upscale", image=png())
    api.engine.claim_job(worker="w1")
    api.engine.fail_job(failed.id, error="out of memory")
    sign_in(api, account)

    page = api.client.get("/portal/usage")

    assert page.status_code == 200
    assert '<svg viewBox="0 0 480 220" role="img"' in page.text
    assert "Credits spent per day over the last 30 days, by operation" in page.text
    assert headings(page.text) == ["Day", "Generate", "Upscale", "Other", "Total"]
    table = numbers(page.text)
    assert len(table) == 31  # 30 days and the total
    assert table["15 Jan 2026"] == ["20", "4", "7", "31"]
    assert table["14 Jan 2026"] == ["0", "0", "0", "0"]
    assert table["All 30 days"] == ["20", "4", "7", "31"]
    assert "31 credits spent in the last 30 days" in text_of(page.text)


def test_ninety_days_show_ninety_rows_and_the_chosen_period_is_marked(api: Api) -> None:
    account = api.account(credits=100)
    api.engine.consume(account, credits=3)
    sign_in(api, account)

    page = api.client.get("/portal/usage", params={"days": "90"})

    assert page.status_code == 200
    assert len(numbers(page.text)) == 91
    assert '<a href="/portal/usage?days=90" aria-current="true">Last 90 days</a>' in page.text
    assert numbers(page.text)["18 Oct 2025"] == ["0", "0"]  # the window's first day


def test_a_period_other_than_30_or_90_days_is_refused_on_the_page_itself(api: Api) -> None:
    account = api.account(credits=100)
    api.engine.consume(account, credits=3)
    sign_in(api, account)
    for days in ("7", "abc", "-30", "30.5"):
        page = api.client.get("/portal/usage", params={"days": days})
        assert page.status_code == 422, days
        shown = text_of(page.text)
        assert "Choose the last 30 or the last 90 days. The last 30 days are shown." in shown
        assert len(numbers(page.text)) == 31


def test_an_account_that_spent_nothing_is_told_so_without_a_chart(api: Api) -> None:
    account = api.account(credits=100)
    sign_in(api, account)
    page = api.client.get("/portal/usage")
    assert page.status_code == 200
    assert "You spent no credits in the last 30 days." in page.text
    assert "<svg" not in page.text.split('id="h-spent"')[1].split("</section>")[0]


def test_the_ledger_is_filtered_by_type_and_paged_with_a_cursor(api: Api) -> None:
    account = api.account(credits=1_000)
    for n in range(30):
        api.engine.consume(account, credits=1, reason=f"message {n}")
    sign_in(api, account)

    first = api.client.get("/portal/usage", params={"type": "consume"})
    assert first.status_code == 200
    ledger = first.text.split('id="h-ledger"')[1].split("</section>")[0]
    assert ledger.count('<td class="num">-1</td>') == 25
    assert "Credits received" not in ledger.split("</form>")[1]
    assert "message 29" in ledger and "message 4" not in ledger
    older = re.search(r'href="([^"]+)">Older entries', ledger)
    assert older is not None

    second = api.client.get(html.unescape(older.group(1)))
    rest = second.text.split('id="h-ledger"')[1].split("</section>")[0]
    assert rest.count('<td class="num">-1</td>') == 5
    assert "message 4" in rest and "message 0" in rest and "Older entries" not in rest
    assert "Newest entries" in rest


def test_an_unknown_entry_type_or_cursor_is_refused_beside_its_field(api: Api) -> None:
    account = api.account(credits=100)
    sign_in(api, account)

    page = api.client.get("/portal/usage", params={"type": "theft"})
    assert page.status_code == 422
    assert "Unknown entry type 'theft'" in html.unescape(page.text)
    assert 'aria-invalid="true"' in page.text.split('id="h-ledger"')[1].split("</form>")[0]

    page = api.client.get("/portal/usage", params={"cursor": "forged", "jobs": "forged"})
    assert page.status_code == 422
    shown = text_of(page.text)
    assert "cursor is not one this list gave out. The newest entries are shown." in shown
    assert "cursor is not one this list gave out. The newest jobs are shown." in shown


def test_a_member_downloads_a_jobs_output_and_the_download_is_recorded(api: Api) -> None:
    account = api.account(credits=100)
    job_id = succeeded(api.engine, account, "upscale")
    sign_in(api, account)
    page = api.client.get("/portal/usage")
    link = f"/portal/jobs/{job_id}/outputs/0"
    assert f'href="{link}" download class="wrap-anywhere">upscaled cat.png</a>' in page.text

    answer = api.client.get(link)

    assert answer.status_code == 200
    assert answer.content == RESULT.data
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["content-disposition"] == (
        "attachment; filename=\"upscaledcat.png\"; filename*=UTF-8''upscaled%20cat.png"
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    [download] = api.engine.downloads(job_id)
    assert (download.n, download.key_id) == (0, "portal")
    assert download.at == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_another_accounts_job_output_is_not_found_like_a_missing_one(api: Api) -> None:
    mine, theirs = api.account(credits=100), api.account(credits=100)
    their_job = succeeded(api.engine, theirs, "upscale")
    my_job = succeeded(api.engine, mine, "upscale")
    sign_in(api, mine)

    theirs_answer = api.client.get(f"/portal/jobs/{their_job}/outputs/0")
    missing = api.client.get("/portal/jobs/job_doesnotexist/outputs/0")

    assert theirs_answer.status_code == missing.status_code == 404
    assert "No job of yours has this id." in theirs_answer.text
    assert "No job of yours has this id." in missing.text
    assert api.engine.downloads(their_job) == []
    for n in ("1", "-1", "abc", "99999"):
        assert api.client.get(f"/portal/jobs/{my_job}/outputs/{n}").status_code == 404, n
    assert api.engine.downloads(my_job) == []

    with TestClient(api.client.app, raise_server_exceptions=False) as other:
        sign_in(api, theirs, other)
        assert other.get(f"/portal/jobs/{their_job}/outputs/0").status_code == 200
        assert other.get(f"/portal/jobs/{my_job}/outputs/0").status_code == 404
        their_page = other.get("/portal/usage").text
    assert their_job in their_page and my_job not in their_page


def test_without_a_session_the_usage_page_and_downloads_ask_to_sign_in(api: Api) -> None:
    account = api.account(credits=100)
    job_id = succeeded(api.engine, account, "upscale")
    for path in ("/portal/usage", f"/portal/jobs/{job_id}/outputs/0"):
        answer = api.client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/portal/sign-in?next=")
    assert api.engine.downloads(job_id) == []
