"""The portal's plan page over HTTP, on both databases: the plan and what it gives, a change
previewed and then made exactly as previewed, a downgrade's date or the catalog's refusal,
cancelling and resuming, and the forms' guards (CSRF, other accounts' ids, bad input, a form
sent twice)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from creditflow.api.app import create_app
from creditflow.clock import TestClock
from creditflow.engine import Engine
from creditflow.payments.hosted import HostedProvider
from creditflow.payments.stripe import StripeAdapter
from tests.api.conftest import ADMIN_KEY
from tests.conftest import START
from tests.stripe_api import StripeApi


class Forms(HTMLParser):
    """The forms of a page: each one's action and the values it would send."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((found.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in found:
            sent = found.get("type") != "radio" or "checked" in found
            if sent:
                self.forms[-1][1][found["name"]] = found.get("value", "")

    def of(self, action: str) -> dict[str, str]:
        matching = [fields for to, fields in self.forms if to == action]
        assert matching, f"no form posts to {action}"
        return dict(matching[0])


def words(page: Response) -> str:
    """The page's main text as a person reads it."""
    main = page.text[page.text.index("<main") :]
    inline = re.sub(r"</?(strong|em|span|a)\b[^>]*>", "", main)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", inline)))


class Site:
    """The API as the site's backend calls it, and members' browsers (each its own cookies)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.app = create_app(
            engine,
            admin_key=ADMIN_KEY,
            due_work_interval=None,
            mail_interval=None,
            webhook_interval=None,
        )
        self.api = TestClient(self.app, raise_server_exceptions=False)

    def post(self, path: str, body: Any = None) -> Any:
        answer = self.api.post(path, json=body, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def account(self) -> str:
        n = len(self.engine.accounts(limit=500).data) + 1
        made: str = self.post("/v1/accounts", {"external_id": f"m-{n}", "email": f"m{n}@x.io"})[
            "id"
        ]
        return made

    def member(self, plan: str | None = "starter", interval: str = "month") -> Member:
        account = self.account()
        subscription = None
        if plan:
            path = f"/v1/accounts/{account}/subscriptions"
            subscription = self.post(path, {"plan": plan, "interval": interval})["id"]
        url = self.post("/v1/portal-sessions", {"account_id": account})["url"]
        browser = TestClient(self.app, raise_server_exceptions=False)
        browser.get(url.removeprefix("http://testserver"))
        return Member(self.engine, browser, account, subscription)


class Member:
    def __init__(
        self, engine: Engine, browser: TestClient, account: str, subscription: str | None
    ) -> None:
        self.engine = engine
        self.browser = browser
        self.account = account
        self.subscription = subscription or ""

    def plan_page(self) -> Response:
        page = self.browser.get("/portal/plan")
        assert page.status_code == 200, page.text
        return page

    def send(self, page: Response, action: str, **values: str) -> Response:
        """Fill in the page's form that posts to `action` and send it."""
        fields = {**Forms(page.text).of(action), **values}
        return self.browser.post(action, data=fields, follow_redirects=False)

    def review(self, **choice: str) -> Response:
        return self.send(self.plan_page(), "/portal/plan/review", **choice)

    def state(self) -> tuple[Any, ...]:
        """Everything a plan change could touch: balance, ledger, orders, subscription."""
        engine = self.engine
        return (
            engine.balance(self.account).model_dump(),
            [e.id for e in engine.ledger(self.account).data],
            [o.model_dump() for o in engine.orders(self.account).data],
            [s.model_dump() for s in engine.subscriptions(self.account)],
        )


def serve(engine: Engine) -> Iterator[Site]:
    site = Site(engine)
    with site.api:
        yield site


@pytest.fixture
def site(engine: Engine) -> Iterator[Site]:
    yield from serve(engine)


@pytest.fixture
def membership_site(engine_with: Callable[[str], Engine]) -> Iterator[Site]:
    """The membership catalog (004): downgrades are not allowed there."""
    yield from serve(engine_with("membership"))


def test_the_plan_page_shows_the_plan_its_entitlements_and_what_cancelling_keeps_and_loses(
    site: Site,
) -> None:
    """Rules 9 and 16 (000, 001, 002, 004): access lasts to the period end; made resources stay."""
    member = site.member("starter")
    site.engine.create_resource(member.account, type="private_model", name="my model")
    page = words(member.plan_page())
    assert "Starter" in page and "9.00 USD a month" in page
    assert "Renews on 15 February 2026" in page
    assert "LoRAs per generation Up to 3" in page
    assert "Private models 1 of 2 used 1 slot free" in page
    assert "Private LoRAs 0 of 2 used 2 slots free" in page
    assert "Free LoRA trainings 1 of 1 left" in page and "starts again on 15 February" in page
    # What cancelling does, in the example catalog's terms: rollover on_renewal, daily 20 a day
    # for everyone, packs that never expire, add-ons that never expire.
    assert "Plan credits left on 15 February 2026 lapse" in page
    assert "only carry over when the plan renews" in page
    assert "the daily claim goes back to 20" in page
    assert "LoRAs per generation: 1 instead of 3" in page
    assert "Add-on credits you bought stay yours: they never expire" in page
    assert "There is no refund for the time left" in page
    assert "The 1 private model you have made stays with your account" in page
    assert "Room for 2 private models: new ones are for members; the ones you have stay" in page


def test_an_upgrade_charges_and_grants_exactly_what_its_preview_showed(
    site: Site, clock: TestClock
) -> None:
    """Rule 10 (000): the prorated charge and credits, previewed as the change computes them."""
    member = site.member("starter")
    clock.move_to(START + timedelta(days=14, hours=3, minutes=7))
    preview = member.review(plan="studio", interval="month")
    assert preview.status_code == 200, preview.text
    shown = re.search(r'id="preview-charge">([^<]+)<', preview.text)
    credits = re.search(r'id="preview-credits">([^<]+)<', preview.text)
    assert shown and credits
    confirm = Forms(preview.text).of("/portal/plan/change")

    done = member.send(preview, "/portal/plan/change")
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/portal/plan?done=upgraded&order=")
    order = site.engine.order(done.headers["location"].rsplit("=", 1)[1])
    assert order.account_id == member.account and order.status == "paid"
    assert f"{order.total.amount / 100:.2f} USD" == shown[1]
    assert str(order.total.amount) == confirm["charge"]
    upgrade_grants = [
        e
        for e in site.engine.ledger(member.account, type="grant").data
        if e.reason == "upgrade to studio"
    ]
    assert [e.credits for e in upgrade_grants] == [int(credits[1].replace(",", ""))]
    assert site.engine.subscription(member.subscription).plan == "studio"
    banner = words(member.browser.get(done.headers["location"]))
    assert f"{shown[1]} charged" in banner and f"{credits[1]} credits added" in banner


def test_a_preview_changes_nothing(site: Site, clock: TestClock) -> None:
    member = site.member("starter")
    clock.move_to(START + timedelta(days=10))
    before = member.state()
    for choice in (
        {"plan": "studio", "interval": "month"},
        {"plan": "starter", "interval": "year"},
        {"plan": "agency", "interval": "year"},
    ):
        assert member.review(**choice).status_code == 200
    assert member.state() == before
    downgrade = site.member("studio")
    before = downgrade.state()
    assert downgrade.review(plan="starter", interval="month").status_code == 200
    assert downgrade.state() == before


def test_a_downgrade_preview_shows_the_date_it_takes_effect_and_books_it_then(
    site: Site, clock: TestClock
) -> None:
    """Rule 11 (000): `at_period_end` schedules the downgrade for the period end."""
    member = site.member("studio")
    clock.move_to(START + timedelta(days=5))
    preview = member.review(plan="starter", interval="month")
    text = words(preview)
    assert "Nothing changes now, and nothing is charged" in text
    assert "From 15 February 2026: Starter, billed every month at 9.00 USD a month" in text
    assert "charge" not in Forms(preview.text).of("/portal/plan/change")
    done = member.send(preview, "/portal/plan/change")
    assert done.headers["location"] == "/portal/plan?done=scheduled"
    scheduled = site.engine.subscription(member.subscription).scheduled_change
    assert scheduled and scheduled.plan == "starter"
    assert scheduled.effective_at == START.replace(month=2)
    page = words(member.plan_page())
    assert "Booked change From 15 February 2026: Starter, 9.00 USD a month" in page
    assert site.engine.subscription(member.subscription).plan == "studio"  # until then


def test_where_downgrades_are_not_allowed_the_preview_says_to_cancel_and_subscribe_later(
    membership_site: Site,
) -> None:
    """Rule 11 (004): `not_allowed` refuses it: cancel, let it run out, subscribe lower."""
    member = membership_site.member("tier2")
    before = member.state()
    preview = member.review(plan="tier1", interval="month")
    assert preview.status_code == 409
    text = words(preview)
    assert "Tier 1 cannot be switched to" in text
    assert "Cancel Tier 2. It stays, with all it gives you, until 15 February 2026" in text
    assert "Once it has ended, come back here and subscribe to Tier 1" in text
    assert 'action="/portal/plan/cancel/review"' in preview.text
    assert 'action="/portal/plan/change"' not in preview.text
    # A confirmation forged from the plan page is refused too, beside the form.
    fields = Forms(member.plan_page().text).of("/portal/plan/review")
    forged = member.browser.post(
        "/portal/plan/change", data={**fields, "plan": "tier1", "interval": "month"}
    )
    assert forged.status_code == 409 and "lower tier" in forged.text
    assert member.state() == before
    page = words(member.plan_page())
    assert "A lower plan cannot be switched to directly" in page
    # 004's list for this catalog: rollover none, the daily claim back to 10,000.
    assert "as they do at the end of every month" in page
    assert "the daily claim goes back to 10,000" in page
    assert "LoRAs per generation: 3 instead of 7" in page


def test_a_change_whose_price_moved_on_since_its_preview_is_shown_again_not_charged(
    site: Site, clock: TestClock
) -> None:
    member = site.member("starter")
    clock.move_to(START + timedelta(days=3))
    preview = member.review(plan="studio", interval="month")
    before = member.state()
    clock.move_to(START + timedelta(days=9))
    again = member.send(preview, "/portal/plan/change")
    assert again.status_code == 200
    assert "The numbers have moved on since you looked" in words(again)
    assert member.state() == before
    done = member.send(again, "/portal/plan/change")
    assert done.status_code == 303
    assert site.engine.subscription(member.subscription).plan == "studio"


def test_cancel_then_resume_each_after_a_confirmation(site: Site) -> None:
    """Rule 9 (000, 001, 002): cancelling stops the renewal; resume undoes it before the end."""
    member = site.member("starter")
    review = member.send(member.plan_page(), "/portal/plan/cancel/review")
    text = words(review)
    assert review.status_code == 200 and "Cancel Starter?" in text
    assert "Your plan does not renew on 15 February 2026" in text
    assert "You keep, after that" in text and "You lose, once it has ended" in text
    assert not site.engine.subscription(member.subscription).cancel_at_period_end

    done = member.send(review, "/portal/plan/cancel")
    assert done.headers["location"] == "/portal/plan?done=cancelled"
    assert site.engine.subscription(member.subscription).cancel_at_period_end
    page = member.plan_page()
    assert "Ends on 15 February 2026: it will not renew" in words(page)
    assert 'action="/portal/plan/cancel/review"' not in page.text

    review = member.send(page, "/portal/plan/resume/review")
    assert "Your plan renews on 15 February 2026 for 9.00 USD" in words(review)
    assert site.engine.subscription(member.subscription).cancel_at_period_end
    done = member.send(review, "/portal/plan/resume")
    assert done.headers["location"] == "/portal/plan?done=resumed"
    assert not site.engine.subscription(member.subscription).cancel_at_period_end
    assert "Renews on 15 February 2026" in words(member.plan_page())


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    site: Site, clock: TestClock
) -> None:
    member = site.member("starter")
    clock.move_to(START + timedelta(days=4))
    preview = member.review(plan="studio", interval="month")
    before = member.state()
    for page, action in (
        (preview, "/portal/plan/change"),
        (preview, "/portal/plan/review"),
        (member.plan_page(), "/portal/plan/cancel/review"),
    ):
        fields = Forms(page.text).of(action) if action != "/portal/plan/review" else {}
        for csrf in ("", "forged"):
            sent = member.browser.post(action, data={**fields, "csrf": csrf})
            assert sent.status_code == 403 and "security token" in sent.text
    cancel = Forms(member.plan_page().text).of("/portal/plan/cancel/review")
    assert member.browser.post("/portal/plan/cancel", data={**cancel, "csrf": ""}).status_code == (
        403
    )
    assert member.state() == before
    newcomer = site.member(None)
    refused = newcomer.browser.post(
        "/portal/plan/subscribe", data={"plan": "starter", "interval": "month"}
    )
    assert refused.status_code == 403 and newcomer.engine.subscriptions(newcomer.account) == []


def test_another_accounts_subscription_or_order_is_not_found_and_nothing_changes(
    site: Site, clock: TestClock
) -> None:
    ada, bob = site.member("starter"), site.member("starter")
    clock.move_to(START + timedelta(days=4))
    ada_before = ada.state()
    page = bob.plan_page()
    for action, extra in (
        ("/portal/plan/review", {"plan": "studio", "interval": "month"}),
        ("/portal/plan/change", {"plan": "studio", "interval": "month"}),
        ("/portal/plan/cancel/review", {}),
        ("/portal/plan/cancel", {}),
        ("/portal/plan/resume/review", {}),
        ("/portal/plan/resume", {}),
    ):
        fields = {
            "csrf": Forms(page.text).of("/portal/plan/review")["csrf"],
            "form_id": f"bob-{action}",
            "subscription": ada.subscription,
            **extra,
        }
        answer = bob.browser.post(action, data=fields)
        assert answer.status_code == 404, (action, answer.text)
        assert "No subscription of yours has this id" in answer.text
        assert ada.subscription not in answer.text
    nobody = bob.browser.post(
        "/portal/plan/cancel",
        data={"csrf": Forms(page.text).of("/portal/plan/review")["csrf"], "subscription": "sub_x"},
    )
    assert nobody.status_code == 404
    assert ada.state() == ada_before
    ada_order = site.engine.orders(ada.account).data[0].id
    assert bob.browser.get(f"/portal/plan?done=upgraded&order={ada_order}").status_code == 404


def test_a_bad_plan_or_interval_is_refused_beside_its_field(site: Site) -> None:
    member = site.member("starter")
    before = member.state()
    unknown = member.review(plan="gold", interval="month")
    assert unknown.status_code == 422
    assert re.search(
        r'<fieldset class="field has-error"[^>]*>\s*<legend>Plan</legend>\s*'
        r'<span class="error" id="f-plan-error">There is no plan &#39;gold&#39;: choose one',
        unknown.text,
    ), unknown.text
    monthly = member.review(plan="agency", interval="month")
    assert monthly.status_code == 422
    assert re.search(
        r"<legend>Billed</legend>\s*<span class=\"error\" id=\"f-interval-error\">"
        r"Agency has no monthly price",
        monthly.text,
    )
    same = member.review(plan="starter", interval="month")
    assert same.status_code == 409
    assert "You are on Starter, billed every month, already" in words(same)
    weird = member.review(plan="studio", interval="fortnight")
    assert weird.status_code == 422
    assert 'id="f-interval-error">Choose every month or every year.' in weird.text
    assert member.state() == before

    newcomer = site.member(None)
    page = newcomer.plan_page()
    wrong = newcomer.send(page, "/portal/plan/subscribe", plan="gold")
    assert wrong.status_code == 422 and "There is no plan &#39;gold&#39;" in wrong.text
    yearly_only = newcomer.send(page, "/portal/plan/subscribe", plan="agency", interval="month")
    assert yearly_only.status_code == 422 and "Agency has no monthly price" in yearly_only.text
    assert newcomer.engine.subscriptions(newcomer.account) == []


def test_the_same_form_sent_twice_acts_once(site: Site, clock: TestClock) -> None:
    member = site.member("starter")
    clock.move_to(START + timedelta(days=6))
    preview = member.review(plan="studio", interval="month")
    first = member.send(preview, "/portal/plan/change")
    second = member.send(preview, "/portal/plan/change")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    upgrades = [o for o in site.engine.orders(member.account).data if o.kind == "upgrade"]
    assert len(upgrades) == 1

    newcomer = site.member(None)
    page = newcomer.plan_page()
    for _ in range(2):
        sent = newcomer.send(page, "/portal/plan/subscribe", plan="studio", interval="year")
        assert sent.headers["location"] == "/portal/plan?done=subscribed"
    assert len(site.engine.subscriptions(newcomer.account)) == 1
    assert len(site.engine.orders(newcomer.account).data) == 1


def test_a_newcomer_sees_the_plans_and_subscribes(site: Site) -> None:
    newcomer = site.member(None)
    page = newcomer.plan_page()
    text = words(page)
    assert "You have no plan yet" in text
    assert "Studio 29.00 USD a month or 290.00 USD a year" in text
    assert "4,000 credits every month" in text and "Up to 5 LoRAs per generation" in text
    assert "Agency 990.00 USD a year" in text
    assert "What you have now, without a plan" in text and "LoRAs per generation Up to 1" in text
    assert "Private models None" in text
    done = newcomer.send(page, "/portal/plan/subscribe", plan="studio", interval="month")
    assert done.headers["location"] == "/portal/plan?done=subscribed"
    [subscription] = site.engine.subscriptions(newcomer.account)
    assert (subscription.plan, subscription.status) == ("studio", "active")
    assert site.engine.balance(newcomer.account).available == 4000
    assert "your plan is active" in words(newcomer.browser.get("/portal/plan?done=subscribed"))


@pytest.fixture
def hosted_site(
    database_url: str, clock: TestClock, tmp_path: Path, stripe_api: StripeApi
) -> Iterator[Site]:
    """A site whose payments go through a hosted checkout (Stripe's API stood in for)."""
    adapter = StripeAdapter(
        api_key="sk_test_1", webhook_secrets=["whsec_1"], api_base=stripe_api.url
    )
    with Engine(
        database_url=database_url,
        clock=clock,
        adapters={"stripe": adapter},
        providers={"test": HostedProvider(adapter)},  # the provider the portal's orders use
        data_dir=tmp_path / "data",
        environ={},
    ) as engine:
        yield from serve(engine)


def test_a_hosted_providers_checkout_is_reached_by_a_plain_link(hosted_site: Site) -> None:
    newcomer = hosted_site.member(None)
    page = newcomer.send(
        newcomer.plan_page(), "/portal/plan/subscribe", plan="starter", interval="month"
    )
    assert page.status_code == 200
    assert 'href="https://checkout.stripe.com/c/pay/cs_test_1"' in page.text
    assert "Continue to payment" in page.text
    waiting = words(newcomer.plan_page())
    assert "Your starter plan waits for its first payment" in waiting


def test_a_declined_payment_is_said_beside_the_form_and_changes_nothing(
    site: Site, clock: TestClock
) -> None:
    member = site.member("starter")
    clock.move_to(START + timedelta(days=8))
    site.engine.set_test_payment_behavior(member.account, "decline")
    before = member.state()
    declined = member.review(plan="studio", interval="month")
    assert declined.status_code == 402
    assert "The payment of 14.84 USD was declined, so nothing has changed" in words(declined)
    assert member.state() == before

    newcomer = site.member(None)
    site.engine.set_test_payment_behavior(newcomer.account, "decline")
    page = newcomer.send(newcomer.plan_page(), "/portal/plan/subscribe", plan="starter")
    assert page.status_code == 402
    assert "The payment of 9.00 USD was declined" in words(page)
    assert "You have no plan yet" in words(newcomer.plan_page())
