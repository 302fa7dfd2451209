"""Into the customer portal: links minted by the site, links asked for by mail, and the sessions
they become, on both databases. Links and sessions run on a wall clock the tests move."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import creditflow
from creditflow.api.app import create_app
from creditflow.catalog_file import load_catalog
from creditflow.clock import TestClock
from creditflow.domain.errors import CatalogError
from creditflow.engine import Engine
from creditflow.mail.transports import EmlFolderTransport
from tests.api.conftest import ADMIN_KEY, assert_error
from tests.conftest import START

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')


class Site:
    """The API as the site's backend calls it, and browsers (cookie jars) for members."""

    def __init__(self, engine: Engine, wall: TestClock) -> None:
        self.engine = engine
        self.wall = wall
        self.app = create_app(
            engine,
            admin_key=ADMIN_KEY,
            due_work_interval=None,
            mail_interval=None,
            webhook_interval=None,
        )
        self.api = TestClient(self.app, raise_server_exceptions=False)
        self.auth = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.api.post(path, json=body, headers={**self.auth, **headers})

    def account(self, email: str = "ada@example.com") -> str:
        n = len(self.engine.accounts(limit=500).data)
        made = self.post("/v1/accounts", {"external_id": f"user-{n}", "email": email})
        assert made.status_code == 201, made.text
        account_id: str = made.json()["id"]
        return account_id

    def link(self, account_id: str, **body: Any) -> str:
        minted = self.post("/v1/portal-sessions", {"account_id": account_id, **body})
        assert minted.status_code == 201, minted.text
        url: str = minted.json()["url"]
        return url.removeprefix("http://testserver")

    def browser(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)


@pytest.fixture
def site(database_url: str, clock: TestClock, tmp_path: Path) -> Iterator[Site]:
    wall = TestClock(START)
    with Engine(
        database_url=database_url,
        clock=clock,
        wall_clock=wall,
        data_dir=tmp_path / "data",
        mail_transport=EmlFolderTransport(tmp_path / "mail"),
        environ={},
    ) as engine:
        made = Site(engine, wall)
        with made.api:
            yield made


def test_a_minted_link_opens_the_portal_of_that_account_once(site: Site) -> None:
    ada, bob = site.account("ada@example.com"), site.account("bob@example.com")
    answer = site.post("/v1/portal-sessions", {"account_id": ada})
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {"id", "url", "expires_at"}
    assert body["url"].startswith("http://testserver/portal/open/")
    token = body["url"].rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 random bits, URL-safe
    assert body["expires_at"] == "2026-01-15T09:10:00Z"  # 10 minutes on the wall clock

    browser = site.browser()
    opened = browser.get(body["url"].removeprefix("http://testserver"), follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/portal"
    cookie = next(c for c in opened.headers.get_list("set-cookie") if c.startswith("cf_portal="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/portal"} <= flags
    page = browser.get("/portal")
    assert page.status_code == 200 and "ada@example.com" in page.text
    assert "bob@example.com" not in page.text

    again = site.browser().get(body["url"].removeprefix("http://testserver"))
    assert again.status_code == 410 and "used already" in again.text
    assert bob  # bob's portal was never opened by ada's link


def test_the_link_is_kept_only_as_a_hash(site: Site) -> None:
    url = site.link(site.account())
    token = url.rsplit("/", 1)[1]
    with site.engine.db.connect() as connection:
        rows = connection.execute(text("SELECT token_hash FROM portal_links")).all()
        sessions = connection.execute(text("SELECT id FROM web_sessions")).all()
    assert len(rows) == 1 and token not in rows[0][0] and len(rows[0][0]) == 64
    site.browser().get(url)
    with site.engine.db.connect() as connection:
        sessions = connection.execute(text("SELECT id FROM web_sessions")).all()
    assert len(sessions) == 1 and len(sessions[0][0]) == 64


def test_an_expired_or_forged_link_gets_a_page_that_says_so(site: Site) -> None:
    url = site.link(site.account())
    site.wall.move_to(START + timedelta(minutes=10, seconds=1))
    late = site.browser().get(url)
    assert late.status_code == 410 and "expired" in late.text
    assert "cf_portal" not in late.headers.get("set-cookie", "")
    forged = site.browser().get("/portal/open/not-a-token-we-made")
    assert forged.status_code == 404 and "does not work" in forged.text
    assert 'action="/portal/sign-in"' in forged.text  # and a way to get a new link


def test_a_session_idles_out_after_an_hour_and_ends_at_sign_out(site: Site) -> None:
    browser = site.browser()
    browser.get(site.link(site.account()))
    site.wall.move_to(START + timedelta(minutes=59))
    page = browser.get("/portal")
    assert page.status_code == 200  # used within the hour: still signed in
    site.wall.move_to(START + timedelta(minutes=59 + 61))
    idle = browser.get("/portal", follow_redirects=False)
    assert idle.status_code == 303 and idle.headers["location"].startswith("/portal/sign-in")

    browser = site.browser()
    browser.get(site.link(site.account("cy@example.com")))
    page = browser.get("/portal")
    csrf = CSRF.search(page.text)
    assert csrf
    assert browser.post("/portal/logout", data={}).status_code == 403  # no token: refused
    out = browser.post("/portal/logout", data={"csrf": csrf[1]}, follow_redirects=False)
    assert out.status_code == 303
    assert browser.get("/portal", follow_redirects=False).status_code == 303


def test_a_suspended_account_loses_its_session_and_gets_no_link(site: Site) -> None:
    account = site.account()
    browser = site.browser()
    browser.get(site.link(account))
    assert browser.get("/portal").status_code == 200
    site.engine.console.create_staff("agent@example.com", role="support", password="x" * 12)
    site.engine.console.suspend_account(
        account, reason="abuse", actor="agent@example.com", form_id="f1"
    )
    assert browser.get("/portal", follow_redirects=False).status_code == 303
    refused = site.post("/v1/portal-sessions", {"account_id": account})
    assert_error(refused, 403, "account_suspended")


def test_bad_requests_for_a_link_are_refused_with_what_is_wrong(site: Site) -> None:
    account = site.account()
    assert_error(site.post("/v1/portal-sessions", {"account_id": "acc_nobody"}), 404, "not_found")
    error = assert_error(
        site.post("/v1/portal-sessions", {"account_id": account, "return_url": "ftp://x/y"}),
        422,
        "invalid_request",
    )
    assert error["details"]["field"] == "return_url"
    assert_error(site.post("/v1/portal-sessions", {}), 422, "invalid_request")
    assert_error(site.post("/v1/portal-sessions", {"account_id": 42}), 422, "invalid_request")
    support = site.engine.create_api_key(role="support").secret
    denied = site.api.post(
        "/v1/portal-sessions",
        json={"account_id": account},
        headers={"Authorization": f"Bearer {support}"},
    )
    assert denied.status_code == 403
    assert site.api.post("/v1/portal-sessions", json={"account_id": account}).status_code == 401
    with site.engine.db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM portal_links")).scalar() == 0


def test_the_return_url_is_the_way_back_to_the_site(site: Site) -> None:
    browser = site.browser()
    browser.get(site.link(site.account(), return_url="https://site.example/account"))
    page = browser.get("/portal")
    assert 'href="https://site.example/account"' in page.text


def test_a_member_asks_for_a_link_by_mail_and_it_opens_the_same_portal(site: Site) -> None:
    account = site.account("ada@example.com")
    browser = site.browser()
    form = browser.get("/portal/sign-in")
    token = CSRF.search(form.text)
    assert token
    for email in ("ada@example.com", "nobody@example.com"):
        sent = browser.post("/portal/sign-in", data={"email": email, "csrf": token[1]})
        assert sent.status_code == 200
        assert "If an account has the address" in sent.text  # the same words either way
    mails = [m for m in site.engine.outbox(account) if m.template == "portal_sign_in"]
    assert len(mails) == 1 and mails[0].to_address == "ada@example.com"
    url = re.search(r"http://testserver(/portal/open/[\w-]+)", mails[0].context)
    assert url
    site.wall.move_to(START + timedelta(minutes=14))
    assert "ada@example.com" in site.browser().get(url[1]).text  # 15 minutes for a mailed link
    assert browser.post("/portal/sign-in", data={"email": "ada@example.com"}).status_code == 403
    bad = browser.post("/portal/sign-in", data={"email": "not an address", "csrf": token[1]})
    assert bad.status_code == 422 and "Enter the email address" in bad.text


def test_sign_in_mails_to_one_address_stop_after_five_an_hour(site: Site) -> None:
    account = site.account("ada@example.com")
    browser = site.browser()
    token = CSRF.search(browser.get("/portal/sign-in").text)
    assert token
    for _ in range(7):
        browser.post("/portal/sign-in", data={"email": "ada@example.com", "csrf": token[1]})
    mails = [m for m in site.engine.outbox(account) if m.template == "portal_sign_in"]
    assert len(mails) == 5


def test_portal_and_console_and_api_credentials_do_not_cross(site: Site) -> None:
    browser = site.browser()
    browser.get(site.link(site.account()))
    assert browser.get("/console", follow_redirects=False).status_code == 303
    assert browser.get("/v1/accounts").status_code == 401
    keyed = site.browser().get("/portal", headers=site.auth, follow_redirects=False)
    assert keyed.status_code == 303  # an API key does not open the portal


def member(site: Site) -> tuple[str, TestClient, str]:
    account = site.account()
    browser = site.browser()
    browser.get(site.link(account))
    csrf = CSRF.search(browser.get("/portal").text)
    assert csrf
    return account, browser, csrf[1]


def test_claiming_the_daily_credits_twice_gives_them_once(site: Site) -> None:
    """Rule 13 (004): once per calendar day of the site."""
    account, browser, csrf = member(site)
    page = browser.get("/portal")
    form_id = FORM_ID.search(page.text)
    assert form_id and "Claim" in page.text
    done = browser.post(
        "/portal/daily", data={"csrf": csrf, "form_id": form_id[1]}, follow_redirects=False
    )
    assert done.status_code == 303
    credits = site.engine.balance(account).available
    assert credits > 0
    again = browser.post("/portal/daily", data={"csrf": csrf, "form_id": "another"})
    assert again.status_code == 409 and "claimed already" in again.text
    assert site.engine.balance(account).available == credits
    assert "You have claimed today" in browser.get("/portal").text


def test_buying_a_pack_changes_the_balance_and_bad_buys_change_nothing(site: Site) -> None:
    """Rules 6 and 14 (002, 004): packs never expire; add-ons are for members only."""
    account, browser, csrf = member(site)
    for data, status, words in [
        ({"product": "pack_nope"}, 422, "Choose one of the packs"),
        ({"product": "addon", "addon_credits": "100"}, 403, "for members"),
        ({"product": "addon", "addon_credits": "lots"}, 422, "whole number"),
    ]:
        answer = browser.post("/portal/buy", data={"csrf": csrf, "form_id": "x", **data})
        assert answer.status_code == status, answer.text
        assert words in answer.text
    assert browser.post("/portal/buy", data={"product": "pack_500"}).status_code == 403
    assert site.engine.balance(account).available == 0
    for _ in range(2):  # the same form twice: one order
        bought = browser.post(
            "/portal/buy",
            data={"csrf": csrf, "form_id": "once", "product": "pack_500"},
            follow_redirects=False,
        )
        assert bought.status_code == 303
    assert site.engine.balance(account).available == 500
    assert len(site.engine.orders(account).data) == 1
    page = browser.get("/portal?done=bought")
    assert "Thank you" in page.text and ">500<" in page.text


def test_invoice_mails_carry_the_portal_sign_in_link_when_the_public_url_is_set(
    database_url: str, clock: TestClock, tmp_path: Path
) -> None:
    for public_url, expected in (("https://billing.example/", True), (None, False)):
        mail = tmp_path / f"mail-{expected}"
        with Engine(
            database_url=database_url,
            clock=clock,
            data_dir=tmp_path / "data",
            mail_transport=EmlFolderTransport(mail),
            environ={},
            public_url=public_url,
        ) as engine:
            account = engine.create_account(external_id=f"u-{expected}", email="ada@example.com")
            engine.checkout(account.id, product="pack_500")
            assert engine.deliver_mail() >= 1
        sent = "".join(path.read_text() for path in mail.glob("*.eml"))
        assert "payment received" in sent
        assert ("https://billing.example/portal/sign-in" in sent) is expected


def test_the_portal_wears_the_sites_brand_from_its_catalog(
    engine_with: Callable[[str], Engine], tmp_path: Path
) -> None:
    example = Path(creditflow.__file__).parent / "catalogs" / "example.toml"
    branded = tmp_path / "branded.toml"
    branded.write_text(
        example.read_text().replace(
            'timezone = "Europe/Berlin"',
            'timezone = "Europe/Berlin"\nurl = "https://pixels.example/"\n'
            'logo_url = "https://cdn.pixels.example/logo.svg"\naccent_color = "#C0FFEE"\n'
            'support_email = "help@pixels.example"',
            1,
        )
    )
    engine = engine_with(str(branded))
    with TestClient(
        create_app(engine, due_work_interval=None, mail_interval=None, webhook_interval=None)
    ) as browser:
        account = engine.create_account(external_id="u", email="ada@example.com")
        token = engine.portal.mint_link(account.id).token
        page = browser.get(f"/portal/open/{token}")
        assert page.status_code == 200
        assert '<img src="https://cdn.pixels.example/logo.svg"' in page.text
        assert 'href="mailto:help@pixels.example"' in page.text
        assert 'href="https://pixels.example/"' in page.text  # back to the site: its url
        assert (
            "img-src 'self' data: https://cdn.pixels.example;"
            in page.headers["content-security-policy"]
        )
        css = browser.get("/portal/brand.css")
        assert css.headers["content-type"].startswith("text/css")
        assert "--brand: #c0ffee;" in css.text


def test_a_catalog_with_a_bad_brand_colour_is_refused_by_name(tmp_path: Path) -> None:
    example = Path(creditflow.__file__).parent / "catalogs" / "example.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(
        example.read_text().replace(
            'timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin"\naccent_color = "blue"', 1
        )
    )
    with pytest.raises(CatalogError) as refused:
        load_catalog(bad)
    assert "accent_color" in str(refused.value) and "#rrggbb" in str(refused.value)
