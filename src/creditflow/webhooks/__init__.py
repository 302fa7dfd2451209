"""Events out: Standard Webhooks signing and verifying, the address rules, the HTTP sender.

A site verifies our deliveries with `creditflow.webhooks.verify(body, headers, secret)` (or
any Standard Webhooks library); the outbox and its delivery loop are in
`creditflow.services.webhook_delivery`.
"""

from creditflow.webhooks.signing import WebhookVerificationError, verify

__all__ = ["WebhookVerificationError", "verify"]
