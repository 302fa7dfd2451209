"""Standard Webhooks signatures (standardwebhooks.com), made with its reference library.

`webhook-signature` is `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with
the base64 part of a `whsec_` secret; while a rotated-out secret still signs, the header carries
one signature per secret, space-separated, and a receiver accepts any one it can check.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

SECRET_PREFIX = "whsec_"

__all__ = ["WebhookVerificationError", "new_secret", "signed_headers", "verify"]


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64: what Standard Webhooks libraries take."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(
    *, message_id: str, body: str, secrets_in_use: Sequence[str], at: datetime
) -> dict[str, str]:
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=at.astimezone(UTC), data=body)
        for secret in secrets_in_use
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": "creditflow-webhooks/1",
    }


def verify(body: bytes | str, headers: Mapping[str, str], secret: str) -> Any:
    """The event a delivery carries, once its signature and timestamp (within 5 minutes of
    now) check out against `secret`; `WebhookVerificationError` otherwise."""
    return Webhook(secret).verify(body, dict(headers))
