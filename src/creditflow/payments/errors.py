"""Errors of calls to a payment provider's API."""

from __future__ import annotations


class ProviderError(Exception):
    """A provider could not be reached, or answered with an error; the message names both."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
        """False when asking again cannot help (the provider refused the request itself)."""


def retryable_status(status_code: int) -> bool:
    """Time-outs, rate limits, idempotency conflicts (another attempt under way) and server
    errors pass; any other 4xx means the request itself was refused."""
    return status_code in (408, 409, 425, 429) or status_code >= 500
