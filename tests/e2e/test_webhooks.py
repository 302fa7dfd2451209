"""A real server takes Stripe webhooks signed as Stripe signs them (issue 5)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.server import Server
from tests.hosted import RETURN_TO
from tests.providers import payload, stripe_header

SECRET = "whsec_e2e"
StartServer = Callable[..., Server]


def test_a_signed_stripe_payment_pays_the_pending_order_once(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'hooks.db'}",
        "--catalog",
        str(Path(__file__).parents[1] / "fixtures" / "catalogs" / "photo-credits.toml"),
        CREDITFLOW_STRIPE_WEBHOOK_SECRETS=SECRET,
    )
    with server.client() as client:
        account = client.post("/v1/accounts", json={"external_id": "s", "email": "s@x.io"}).json()
        opened = client.post(
            f"/v1/accounts/{account['id']}/checkout",
            json={"product": "credits_100", "provider": "stripe", **RETURN_TO},
        )
        # No API key here: the checkout cannot be opened, and the order waits, pending.
        assert (
            opened.status_code == 502 and opened.json()["error"]["code"] == "provider_unavailable"
        )
        [order] = client.get(f"/v1/accounts/{account['id']}/orders").json()["data"]
        assert (order["status"], order["provider"]) == ("pending", "stripe")

        event = json.loads(payload("stripe", "checkout.session.completed"))
        event["data"]["object"]["metadata"]["order_id"] = order["id"]
        body = json.dumps(event).encode()
        signed = {"Stripe-Signature": stripe_header(body, SECRET, int(time.time()))}
        first = client.post("/v1/webhooks/stripe", content=body, headers=signed)
        assert first.status_code == 200, first.text
        assert first.json()["outcomes"] == ["applied"]
        again = client.post("/v1/webhooks/stripe", content=body, headers=signed)
        assert again.json()["outcomes"] == ["duplicate"]

        forged = {"Stripe-Signature": stripe_header(body, "whsec_guess", int(time.time()))}
        refused = client.post("/v1/webhooks/stripe", content=body, headers=forged)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid_signature"

        paid = client.get(f"/v1/orders/{order['id']}").json()
        assert paid["status"] == "paid" and len(paid["payments"]) == 1
        balance = client.get(f"/v1/accounts/{account['id']}/balance").json()
        assert balance["available"] == 100
