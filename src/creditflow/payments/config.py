"""Which hosted providers this service takes, from the environment (never from the catalog).

A provider is on when its webhook secret(s) are set. `CREDITFLOW_PROVIDERS`, when set, names the
providers that must be on, so a typo or a missing secret stops the start instead of surfacing
as a failed checkout later.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from creditflow.payments.base import ProviderAdapter
from creditflow.payments.creem import CreemAdapter
from creditflow.payments.paddle import PaddleAdapter
from creditflow.payments.stripe import StripeAdapter

KNOWN_PROVIDERS = ("test", "stripe", "paddle", "creem")
HOSTED = ("stripe", "paddle", "creem")


def provider_adapters(
    environ: Mapping[str, str], *, client: httpx.Client | None = None
) -> dict[str, ProviderAdapter]:
    """An adapter for each provider whose webhook secret(s) are set; {} when none are."""
    tolerance = _tolerance(environ)
    adapters: dict[str, ProviderAdapter] = {}
    for name in HOSTED:
        prefix = f"CREDITFLOW_{name.upper()}_"
        secrets = [s.strip() for s in environ.get(prefix + "WEBHOOK_SECRETS", "").split(",")]
        secrets = [s for s in secrets if s]
        if not secrets:
            continue
        api_key = environ.get(prefix + "API_KEY", "").strip() or None
        api_base = _api_base(environ, prefix + "API_BASE")
        if name == "stripe":
            adapters[name] = StripeAdapter(
                api_key=api_key,
                webhook_secrets=secrets,
                tolerance_seconds=tolerance,
                client=client,
                api_base=api_base,
            )
        elif name == "paddle":
            adapters[name] = PaddleAdapter(
                api_key=api_key,
                webhook_secrets=secrets,
                tolerance_seconds=tolerance,
                client=client,
                api_base=api_base,
            )
        else:
            adapters[name] = CreemAdapter(
                api_key=api_key,
                webhook_secrets=secrets,
                tolerance_seconds=tolerance,
                client=client,
                api_base=api_base,
                products=_products(environ),
            )
    _check_wanted(environ, adapters)
    return adapters


def _tolerance(environ: Mapping[str, str]) -> int:
    raw = environ.get("CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS", "300").strip()
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(
            f"CREDITFLOW_WEBHOOK_TOLERANCE_SECONDS must be a positive whole number of seconds, "
            f"not {raw!r}."
        )
    return int(raw)


def _api_base(environ: Mapping[str, str], variable: str) -> str | None:
    """An override of the provider's API (its sandbox or test mode), checked at start so a
    typo is not first seen as a failed checkout."""
    raw = environ.get(variable, "").strip()
    if not raw:
        return None
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        url = None
    if url is None or "://" not in raw or url.scheme not in ("https", "http") or not url.host:
        raise ValueError(f"{variable} must be an http(s) URL such as https://…, not {raw!r}.")
    return raw


def _products(environ: Mapping[str, str]) -> dict[str, str]:
    raw = environ.get("CREDITFLOW_CREEM_PRODUCTS", "")
    mapping: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        code, sep, product = pair.partition("=")
        if not sep or not code.strip() or not product.strip():
            raise ValueError(
                f"CREDITFLOW_CREEM_PRODUCTS takes code=prod_… pairs separated by commas; "
                f"{pair!r} is not one."
            )
        mapping[code.strip()] = product.strip()
    return mapping


def _check_wanted(environ: Mapping[str, str], adapters: Mapping[str, ProviderAdapter]) -> None:
    wanted = [p.strip() for p in environ.get("CREDITFLOW_PROVIDERS", "").split(",") if p.strip()]
    for name in wanted:
        if name not in KNOWN_PROVIDERS:
            raise ValueError(
                f"CREDITFLOW_PROVIDERS names an unknown payment provider {name!r}; the providers "
                f"are {', '.join(KNOWN_PROVIDERS)}."
            )
        if name != "test" and name not in adapters:
            raise ValueError(
                f"CREDITFLOW_PROVIDERS turns on {name}, but CREDITFLOW_{name.upper()}"
                "_WEBHOOK_SECRETS is not set."
            )
