"""Which hosted providers this service takes, from the environment (never from the catalog)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from creditflow.payments.base import ProviderAdapter

KNOWN_PROVIDERS = ("test", "stripe", "paddle", "creem")


def provider_adapters(
    environ: Mapping[str, str], *, client: httpx.Client | None = None
) -> dict[str, ProviderAdapter]:
    """An adapter for each provider whose webhook secret(s) are set; {} when none are."""
    adapters: dict[str, ProviderAdapter] = {}
    if not any(
        environ.get(f"CREDITFLOW_{name.upper()}_WEBHOOK_SECRETS") for name in KNOWN_PROVIDERS
    ):
        return adapters
    raise ValueError("hosted providers are being wired in; unset CREDITFLOW_*_WEBHOOK_SECRETS")
