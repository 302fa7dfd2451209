"""Over HTTP, an idempotent answer is the answer the client got, provider calls included (issue 9).

A hosted checkout's answer carries its URL, and so does its replay; a provider that is down gets
a 502 that stores no answer, and the same key later finishes the same order or refund.
"""

from __future__ import annotations

from typing import Any

import pytest

from creditflow.engine import Engine
from tests.api.conftest import Api, assert_error
from tests.hosted import RETURN_TO
from tests.stripe_api import StripeApi


@pytest.fixture
def stripe(stripe_api: StripeApi) -> StripeApi:
    return stripe_api


@pytest.fixture
def engine(engine_on_stripe: Engine) -> Engine:
    return engine_on_stripe


def checkout(api: Api, account: str, key: str) -> Any:
    body = {"product": "credits_100", "provider": "stripe", **RETURN_TO}
    return api.post(f"/v1/accounts/{account}/checkout", body, **{"Idempotency-Key": key})


def test_a_hosted_checkout_answers_with_its_url_and_so_does_its_replay(
    api: Api, stripe: StripeApi
) -> None:
    account = api.account()
    first = checkout(api, account, "c1")
    assert first.status_code == 201, first.text
    url = first.json()["checkout_url"]
    assert url == "https://checkout.stripe.com/c/pay/cs_test_1"
    again = checkout(api, account, "c1")
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    order = api.get(f"/v1/orders/{first.json()['id']}").json()
    assert order["checkout_url"] == url
    sent = stripe.calls_to("/v1/checkout/sessions")[0].form
    assert (sent["success_url"], sent["cancel_url"]) == (
        RETURN_TO["success_url"],
        RETURN_TO["cancel_url"],
    )


def test_a_checkout_while_the_provider_is_down_is_retried_with_its_key_into_one_order(
    api: Api, stripe: StripeApi
) -> None:
    account = api.account()
    stripe.down = True
    down = checkout(api, account, "c2")
    error = assert_error(down, 502, "provider_unavailable")
    order_id = error["details"]["order_id"]
    still_down = checkout(api, account, "c2")
    assert_error(still_down, 502, "provider_unavailable")  # no answer was stored for the key
    assert "Idempotent-Replayed" not in still_down.headers
    stripe.down = False
    opened = checkout(api, account, "c2")
    assert opened.status_code == 201
    assert opened.json()["id"] == order_id
    assert opened.json()["checkout_url"]
    replay = checkout(api, account, "c2")
    assert replay.content == opened.content
    orders = api.get(f"/v1/accounts/{account}/orders").json()["data"]
    assert [o["id"] for o in orders] == [order_id]


def test_a_subscription_through_stripe_carries_its_checkout_url_in_the_answer_and_the_replay(
    api: Api,
) -> None:
    account = api.account()
    body = {"plan": "basic", "interval": "month", "provider": "stripe", **RETURN_TO}
    path = f"/v1/accounts/{account}/subscriptions"
    first = api.post(path, body, **{"Idempotency-Key": "s1"})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "incomplete" and first.json()["checkout_url"]
    again = api.post(path, body, **{"Idempotency-Key": "s1"})
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    shown = api.get(f"/v1/subscriptions/{first.json()['id']}").json()
    assert shown["checkout_url"] == first.json()["checkout_url"]


def test_a_refund_while_the_provider_is_down_is_502_and_its_key_later_gives_the_same_refund(
    api: Api, engine: Engine, stripe: StripeApi
) -> None:
    account = api.account()
    order = checkout(api, account, "c3").json()
    engine.record_payment(order["id"], provider="stripe", provider_payment_id="pi_1", amount=499)
    path = f"/v1/orders/{order['id']}/refunds"
    body = {"amount": 100, "reason": "goodwill"}
    stripe.down = True
    down = api.post(path, body, role="support", **{"Idempotency-Key": "r1"})
    refund_id = assert_error(down, 502, "provider_unavailable")["details"]["refund_id"]
    stripe.down = False
    landed = api.post(path, body, role="support", **{"Idempotency-Key": "r1"})
    assert landed.status_code == 201, landed.text
    assert landed.json()["id"] == refund_id and landed.json()["status"] == "succeeded"
    assert landed.json()["amount"] == {"amount": 100, "currency": "USD"}
    assert api.get(f"/v1/refunds/{refund_id}").json() == landed.json()
    assert stripe.refunds_made() == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({}, "success_url"),  # the reference catalog names no site address, nor the request
        ({"success_url": "https://shop.example/ok"}, "cancel_url"),
        ({"success_url": "ftp://shop.example/ok", "cancel_url": "https://x.example/"}, None),
        ({"success_url": 5, "cancel_url": "https://x.example/"}, None),
    ],
)
def test_a_hosted_checkout_without_good_return_addresses_is_refused_and_opens_nothing(
    api: Api, stripe: StripeApi, extra: dict[str, object], field: str | None
) -> None:
    account = api.account()
    body = {"product": "credits_100", "provider": "stripe", **extra}
    error = assert_error(api.post(f"/v1/accounts/{account}/checkout", body), 422, "invalid_request")
    if field is not None:
        assert error["details"]["field"] == field
    assert api.get(f"/v1/accounts/{account}/orders").json()["data"] == []
    assert stripe.requests == []


def test_an_unknown_refund_is_404(api: Api) -> None:
    assert_error(api.get("/v1/refunds/rfn_nope"), 404, "not_found")
