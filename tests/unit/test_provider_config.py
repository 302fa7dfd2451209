"""Which providers are on comes from the environment, and a wrong setting stops the start."""

from __future__ import annotations

import json

import httpx
import pytest

from creditflow.payments.config import KNOWN_PROVIDERS, provider_adapters
from creditflow.payments.creem import CreemAdapter
from creditflow.payments.events import CheckoutRequest, WebhookRejected
from creditflow.payments.paddle import PaddleAdapter
from creditflow.payments.stripe import StripeAdapter
from tests.providers import Recorder, paddle_header, payload, recorded, stripe_header

T = 1_795_000_000
PACK = CheckoutRequest(
    order_id="ord_1",
    account_id="acc_1",
    email="a@b.c",
    amount=1000,
    currency="USD",
    description="200 credits",
    mode="payment",
    product_ref="pack_200",
    success_url="https://shop.example/thanks",
    cancel_url="https://shop.example/cart",
)


def test_no_secrets_means_only_the_test_provider() -> None:
    assert provider_adapters({}) == {}


def test_secrets_for_stripe_turn_on_stripe_alone() -> None:
    adapters = provider_adapters({"CREDITFLOW_STRIPE_WEBHOOK_SECRETS": "whsec_a"})
    assert list(adapters) == ["stripe"]
    assert isinstance(adapters["stripe"], StripeAdapter) and adapters["stripe"].name == "stripe"
    assert KNOWN_PROVIDERS == ("test", "stripe", "paddle", "creem")


def test_an_api_key_without_a_webhook_secret_turns_nothing_on() -> None:
    assert provider_adapters({"CREDITFLOW_PADDLE_API_KEY": "pdl_key"}) == {}


def test_every_listed_secret_verifies_so_a_secret_can_be_rotated() -> None:
    adapters = provider_adapters({"CREDITFLOW_STRIPE_WEBHOOK_SECRETS": " whsec_new ,whsec_old,"})
    raw = payload("stripe", "refund.created")
    for secret in ("whsec_new", "whsec_old"):
        header = {"Stripe-Signature": stripe_header(raw, secret, T)}
        assert adapters["stripe"].parse_webhook(header, raw, now=T)
    with pytest.raises(WebhookRejected):
        adapters["stripe"].parse_webhook(
            {"Stripe-Signature": stripe_header(raw, "whsec_other", T)}, raw, now=T
        )


def test_the_tolerance_comes_from_the_environment() -> None:
    adapters = provider_adapters(
        {"CREDITFLOW_PADDLE_WEBHOOK_SECRETS": "pdl", "CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS": "60"}
    )
    raw = payload("paddle", "transaction.completed")
    header = {"Paddle-Signature": paddle_header(raw, "pdl", T)}
    assert adapters["paddle"].parse_webhook(header, raw, now=T + 60)
    with pytest.raises(WebhookRejected, match="old"):
        adapters["paddle"].parse_webhook(header, raw, now=T + 61)


def test_keys_bases_and_products_reach_the_adapters_and_their_calls() -> None:
    server = Recorder(
        {
            ("POST", "/transactions"): (201, recorded("paddle", "response.transaction")),
            ("POST", "/v1/checkouts"): (200, recorded("creem", "response.checkout")),
        }
    )
    adapters = provider_adapters(
        {
            "CREDITFLOW_PADDLE_API_KEY": "pdl_key\n",
            "CREDITFLOW_PADDLE_WEBHOOK_SECRETS": "pdl",
            "CREDITFLOW_PADDLE_API_BASE": "https://sandbox-api.paddle.com",
            "CREDITFLOW_CREEM_API_KEY": "creem_key",
            "CREDITFLOW_CREEM_WEBHOOK_SECRETS": "c",
            "CREDITFLOW_CREEM_API_BASE": "https://test-api.creem.io",
            "CREDITFLOW_CREEM_PRODUCTS": "pack_200=prod_1, plan_basic=prod_2",
        },
        client=httpx.Client(transport=httpx.MockTransport(server)),
    )
    assert isinstance(adapters["paddle"], PaddleAdapter)
    assert isinstance(adapters["creem"], CreemAdapter)
    adapters["paddle"].create_checkout(PACK)
    adapters["creem"].create_checkout(PACK)
    paddle, creem = server.requests
    assert str(paddle.url) == "https://sandbox-api.paddle.com/transactions"
    assert paddle.headers["Authorization"] == "Bearer pdl_key"
    assert str(creem.url) == "https://test-api.creem.io/v1/checkouts"
    assert creem.headers["x-api-key"] == "creem_key"
    assert json.loads(creem.content)["product_id"] == "prod_1"


def test_each_provider_with_secrets_is_on() -> None:
    adapters = provider_adapters(
        {
            "CREDITFLOW_STRIPE_WEBHOOK_SECRETS": "whsec_a, whsec_b",
            "CREDITFLOW_CREEM_WEBHOOK_SECRETS": "c",
            "CREDITFLOW_CREEM_PRODUCTS": "pack_200=prod_1",
        }
    )
    assert sorted(adapters) == ["creem", "stripe"]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS": "soon"}, "CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS"),
        ({"CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS": "0"}, "CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS"),
        ({"CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS": "-5"}, "CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS"),
        ({"CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS": "2.5"}, "CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS"),
        (
            {
                "CREDITFLOW_PADDLE_WEBHOOK_SECRETS": "p",
                "CREDITFLOW_PADDLE_API_BASE": "sandbox-api.paddle.com",
            },
            "CREDITFLOW_PADDLE_API_BASE",
        ),
        (
            {"CREDITFLOW_CREEM_WEBHOOK_SECRETS": "c", "CREDITFLOW_CREEM_API_BASE": "ftp://x"},
            "CREDITFLOW_CREEM_API_BASE",
        ),
        ({"CREDITFLOW_PROVIDERS": "test,paypal"}, "paypal"),
        ({"CREDITFLOW_PROVIDERS": "stripe"}, "CREDITFLOW_STRIPE_WEBHOOK_SECRETS"),
        (
            {"CREDITFLOW_CREEM_WEBHOOK_SECRETS": "c", "CREDITFLOW_CREEM_PRODUCTS": "pack_200"},
            "CREDITFLOW_CREEM_PRODUCTS",
        ),
    ],
)
def test_a_wrong_setting_is_refused_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        provider_adapters(env)
