"""Which providers are on comes from the environment, and a wrong setting stops the start."""

from __future__ import annotations

import pytest

from creditflow.payments.config import provider_adapters


def test_no_secrets_means_only_the_test_provider() -> None:
    assert provider_adapters({}) == {}


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
