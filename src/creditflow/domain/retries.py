"""How long to wait before calling out again (a payment provider, a site's webhook endpoint),
and when to stop.

A provider that is down must not lose a refund or a checkout, and must not be asked forever.
Refunds are retried for about 16 hours: within the 24 hours for which Stripe keeps an
idempotency key, so a retry of a call whose answer was lost can never refund twice. A checkout
is worth retrying only while its customer may still be waiting.
"""

from __future__ import annotations

from datetime import timedelta

_S, _M, _H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)

RETRY_DELAYS: dict[str, tuple[timedelta, ...]] = {
    "checkout": (30 * _S, 2 * _M, 10 * _M, 30 * _M),
    "refund": (30 * _S, 2 * _M, 10 * _M, 30 * _M, 1 * _H, 2 * _H, 4 * _H, 8 * _H),
    # The Standard Webhooks reference schedule: eight attempts over about 28 hours.
    "webhook": (5 * _S, 5 * _M, 30 * _M, 2 * _H, 5 * _H, 10 * _H, 10 * _H),
}

CLAIM_FOR = 2 * _M
"""A call taken from the queue (or about to be made right after its commit) is due again after
this long, so a server that dies mid-call leaves it to another; longer than a call's time-out."""


def retry_delay(kind: str, *, attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt; None when there are no more tries."""
    delays = RETRY_DELAYS[kind]
    return delays[attempts - 1] if 0 < attempts <= len(delays) else None
