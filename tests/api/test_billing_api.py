"""Catalog, checkout, orders, subscriptions, daily claims and entitlements over HTTP.

The built-in example catalog: packs pack_500 and trial_100, plans starter < studio < agency
(agency sold yearly only), add-ons for members, 20 daily credits in Europe/Berlin.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_error


def subscribed(api: Api, plan: str = "starter") -> tuple[str, dict[str, Any]]:
    account = api.account()
    response = api.post(
        f"/v1/accounts/{account}/subscriptions", {"plan": plan, "interval": "month"}
    )
    assert response.status_code == 201, response.text
    return account, response.json()


def nothing_bought(api: Api, account: str) -> None:
    assert api.get(f"/v1/accounts/{account}/orders").json()["data"] == []
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 0


def test_the_catalog_is_served_as_json(api: Api) -> None:
    catalog = api.get("/v1/catalog").json()
    assert [plan["code"] for plan in catalog["plans"]] == ["starter", "studio", "agency"]
    assert api.get("/v1/catalog", role="worker").status_code == 403


def test_checkout_of_a_pack_answers_a_paid_order_with_its_invoice(api: Api) -> None:
    account = api.account()
    response = api.post(f"/v1/accounts/{account}/checkout", {"product": "pack_500"}, role="service")
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["id"].startswith("ord_")
    assert (order["status"], order["total"]) == ("paid", {"amount": 500, "currency": "USD"})
    assert order["items"][0]["credits"] == 500
    assert api.get(f"/v1/orders/{order['id']}").json()["paid_at"] == order["paid_at"]
    assert api.get(f"/v1/accounts/{account}/balance").json()["by_kind"] == {"purchased": 500}
    invoice = api.get(f"/v1/orders/{order['id']}/invoice").json()
    assert invoice["pdf_url"] == f"/v1/invoices/{invoice['number']}.pdf"
    assert invoice["total"] == order["total"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"product": "pack_9"}, 422, "invalid_request"),
        ({"product": ""}, 422, "invalid_request"),
        ({"product": "pack_500", "credits": 10}, 422, "invalid_request"),
        ({"product": "pack_500", "provider": "paypal"}, 422, "invalid_request"),
        ({"product": "pack_500", "channel": "fax"}, 422, "invalid_request"),
        ({"product": "pack_500", "colour": "red"}, 422, "invalid_request"),
        ({"product": "addon", "credits": 0}, 422, "invalid_request"),
        ({"product": "addon", "credits": 1.5}, 422, "invalid_request"),
        ({"product": "addon", "credits": "100"}, 422, "invalid_request"),
        ({"product": "addon", "credits": 1000}, 403, "members_only"),
    ],
)
def test_bad_checkouts_are_refused_and_buy_nothing(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    account = api.account()
    error = assert_error(api.post(f"/v1/accounts/{account}/checkout", body), status, code)
    assert error["message"]
    nothing_bought(api, account)


def test_add_ons_over_the_monthly_limit_answer_409(api: Api) -> None:
    account, _ = subscribed(api)
    limit = api.engine.catalog.plan("starter").addon_credits_per_month  # type: ignore[union-attr]
    ok = api.post(f"/v1/accounts/{account}/checkout", {"product": "addon", "credits": limit})
    assert ok.status_code == 201, ok.text
    over = api.post(f"/v1/accounts/{account}/checkout", {"product": "addon", "credits": 1})
    error = assert_error(over, 409, "addon_limit_reached")
    assert error["details"]["limit"] == limit


def test_a_declined_test_payment_gives_a_failed_order(api: Api) -> None:
    account = api.account()
    behavior = api.post(
        f"/v1/accounts/{account}/test-payment-behavior", {"behavior": "decline"}, role="service"
    )
    assert behavior.status_code == 200, behavior.text
    order = api.post(f"/v1/accounts/{account}/checkout", {"product": "pack_500"}).json()
    assert order["status"] == "failed"
    assert_error(api.get(f"/v1/orders/{order['id']}/invoice"), 404, "not_found")
    bad = api.post(f"/v1/accounts/{account}/test-payment-behavior", {"behavior": "maybe"})
    assert_error(bad, 422, "invalid_request")


def test_subscribe_change_cancel_and_resume_over_http(api: Api) -> None:
    account, subscription = subscribed(api)
    assert subscription["id"].startswith("sub_")
    assert (subscription["status"], subscription["cancel_at_period_end"]) == ("active", False)
    assert subscription["scheduled_change"] is None and subscription["order_id"]
    listed = api.get(f"/v1/accounts/{account}/subscriptions").json()["data"]
    assert [s["id"] for s in listed] == [subscription["id"]]
    upgrade = api.post(f"/v1/subscriptions/{subscription['id']}/change", {"plan": "studio"})
    assert upgrade.status_code == 200, upgrade.text
    proration = upgrade.json()["proration"]
    assert proration["fraction"] == 1.0
    assert proration["charge"] == {"amount": 2000, "currency": "USD"}
    assert proration["credits_granted"] == 3000
    downgrade = api.post(f"/v1/subscriptions/{subscription['id']}/change", {"plan": "starter"})
    scheduled = downgrade.json()["subscription"]["scheduled_change"]
    assert scheduled == {
        "plan": "starter",
        "interval": "month",
        "effective_at": subscription["current_period_end"],
    }
    cancelled = api.post(f"/v1/subscriptions/{subscription['id']}/cancel").json()
    assert cancelled["cancel_at_period_end"] is True
    resumed = api.post(f"/v1/subscriptions/{subscription['id']}/resume").json()
    assert resumed["cancel_at_period_end"] is False
    entitlements = api.get(f"/v1/accounts/{account}/entitlements").json()
    assert entitlements["plan"] == "studio"
    for feature in (
        "max_loras_per_generation",
        "private_models",
        "private_loras",
        "free_lora_trainings",
        "gif_avatar",
        "profile_banner",
        "member_badge",
    ):
        assert feature in entitlements["features"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plan": "platinum", "interval": "month"}, 422, "invalid_request"),
        ({"plan": "agency", "interval": "month"}, 422, "invalid_request"),  # sold yearly only
        ({"plan": "starter", "interval": "week"}, 422, "invalid_request"),
        ({"plan": "starter"}, 422, "invalid_request"),
        ({"plan": 7, "interval": "month"}, 422, "invalid_request"),
        ({"plan": "starter", "interval": "month", "provider": "bank"}, 422, "invalid_request"),
        ({"plan": "starter", "interval": "month", "success_url": "nope"}, 422, "invalid_request"),
        ({"plan": "starter", "interval": "month", "cancel_url": 7}, 422, "invalid_request"),
    ],
)
def test_bad_subscriptions_are_refused_and_create_nothing(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    account = api.account()
    assert_error(api.post(f"/v1/accounts/{account}/subscriptions", body), status, code)
    assert api.get(f"/v1/accounts/{account}/subscriptions").json()["data"] == []
    nothing_bought(api, account)


def test_conflicting_subscription_requests_answer_409(api: Api) -> None:
    account, subscription = subscribed(api)
    again = api.post(
        f"/v1/accounts/{account}/subscriptions", {"plan": "studio", "interval": "month"}
    )
    assert (
        assert_error(again, 409, "already_subscribed")["details"]["subscription_id"]
        == (subscription["id"])
    )
    same = api.post(f"/v1/subscriptions/{subscription['id']}/change", {"plan": "starter"})
    assert_error(same, 409, "same_plan")
    unknown = api.post(f"/v1/subscriptions/{subscription['id']}/change", {"plan": "gold"})
    assert_error(unknown, 422, "invalid_request")
    assert_error(api.post("/v1/subscriptions/sub_nope/cancel"), 404, "not_found")
    assert_error(api.get("/v1/subscriptions/sub_nope"), 404, "not_found")
    assert len(api.get(f"/v1/accounts/{account}/orders").json()["data"]) == 1


def test_daily_claims_once_a_day_and_resources_within_the_slots(api: Api) -> None:
    account = api.account()
    claim = api.post(f"/v1/accounts/{account}/daily-claims", role="service")
    assert claim.status_code == 201, claim.text
    assert claim.json()["credits"] == 20
    assert_error(api.post(f"/v1/accounts/{account}/daily-claims"), 409, "already_claimed")
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 20
    refused = api.post(
        f"/v1/accounts/{account}/resources", {"type": "private_model", "name": "mine"}
    )
    assert_error(refused, 403, "entitlement_exceeded")
    for body in (
        {"type": "spaceship", "name": "x"},
        {"type": "private_model", "name": ""},
        {"type": "private_model"},
        {"type": 3, "name": "x"},
    ):
        assert_error(api.post(f"/v1/accounts/{account}/resources", body), 422, "invalid_request")
    member, _ = subscribed(api)
    made = api.post(f"/v1/accounts/{member}/resources", {"type": "private_model", "name": "m"})
    assert made.status_code == 201, made.text
    models = api.get(f"/v1/accounts/{member}/entitlements").json()["features"]["private_models"]
    assert models["used"] == 1


def test_billing_paths_check_roles_and_ids(api: Api) -> None:
    account = api.account()
    path = f"/v1/accounts/{account}/checkout"
    assert_error(api.post(path, {"product": "pack_500"}, role="worker"), 403, "forbidden")
    assert_error(api.post(path, {"product": "pack_500"}, role="support"), 403, "forbidden")
    assert_error(
        api.post("/v1/accounts/acc_nope/checkout", {"product": "pack_500"}), 404, "not_found"
    )
    assert_error(api.get("/v1/orders/ord_nope"), 404, "not_found")
    assert_error(api.get("/v1/accounts/acc_nope/entitlements"), 404, "not_found")
    assert_error(api.post("/v1/accounts/acc_nope/daily-claims"), 404, "not_found")
    nothing_bought(api, account)


def test_a_checkout_replayed_with_its_idempotency_key_buys_once(api: Api) -> None:
    account = api.account()
    path = f"/v1/accounts/{account}/checkout"
    first = api.post(path, {"product": "pack_500"}, **{"Idempotency-Key": "buy-1"})
    again = api.post(path, {"product": "pack_500"}, **{"Idempotency-Key": "buy-1"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 500
    other = api.post(path, {"product": "trial_100"}, **{"Idempotency-Key": "buy-1"})
    assert_error(other, 409, "idempotency_key_reused")


def test_cancelling_or_resuming_an_ended_subscription_answers_409(api: Api) -> None:
    account = api.account()
    api.engine.set_test_payment_behavior(account, "decline")
    body = {"plan": "starter", "interval": "month"}
    incomplete = api.post(f"/v1/accounts/{account}/subscriptions", body).json()
    assert incomplete["status"] == "incomplete"
    api.engine.set_test_payment_behavior(account, "succeed")
    replacement = api.post(f"/v1/accounts/{account}/subscriptions", body).json()
    assert replacement["status"] == "active"
    ended = api.get(f"/v1/subscriptions/{incomplete['id']}").json()
    assert ended["status"] == "ended"
    for verb in ("cancel", "resume"):
        error = assert_error(
            api.post(f"/v1/subscriptions/{incomplete['id']}/{verb}"), 409, "subscription_not_active"
        )
        assert "ended" in error["message"]
    change = api.post(f"/v1/subscriptions/{incomplete['id']}/change", {"plan": "studio"})
    assert_error(change, 409, "subscription_not_active")


def test_rule_25_an_interval_change_over_http_is_an_upgrade_now_or_waits(api: Api) -> None:
    _, subscription = subscribed(api)
    path = f"/v1/subscriptions/{subscription['id']}/change"
    yearly = api.post(path, {"interval": "year"})
    assert yearly.status_code == 200, yearly.text
    change = yearly.json()
    assert change["subscription"]["interval"] == "year"
    # Bought this instant: the whole year (90.00) less the whole unused month (9.00).
    assert change["proration"]["charge"] == {"amount": 8100, "currency": "USD"}
    monthly = api.post(path, {"interval": "month"}).json()
    assert monthly["proration"] is None
    assert monthly["subscription"]["scheduled_change"]["interval"] == "month"


@pytest.mark.parametrize(
    "body",
    [{}, {"interval": "week"}, {"plan": 5}, {"plan": "studio", "when": "now"}, {"interval": None}],
)
def test_bad_plan_changes_are_refused_and_change_nothing(api: Api, body: dict[str, Any]) -> None:
    account, subscription = subscribed(api)
    change = api.post(f"/v1/subscriptions/{subscription['id']}/change", body)
    assert_error(change, 422, "invalid_request")
    assert api.get(f"/v1/subscriptions/{subscription['id']}").json() == subscription
    assert len(api.get(f"/v1/accounts/{account}/orders").json()["data"]) == 1
