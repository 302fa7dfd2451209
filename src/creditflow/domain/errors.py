"""Typed domain errors, each with a stable code and a sentence for people.

Only the HTTP layer and the CLI translate these, each in one place.
"""

from __future__ import annotations

from typing import Any


class CreditflowError(Exception):
    """Base of every error creditflow reports to its callers."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code  # a more precise code than the class's, e.g. `members_only`


class Unauthorized(CreditflowError):
    """No API key, or one that is not valid."""

    code = "unauthorized"


class Forbidden(CreditflowError):
    """Not allowed for this account now (a members-only product, an exceeded entitlement)."""

    code = "forbidden"


class PaymentDeclined(CreditflowError):
    code = "payment_declined"


class InvalidRequest(CreditflowError):
    """The request is well-formed but asks for something that cannot be."""

    code = "invalid_request"


class InvalidImage(InvalidRequest):
    """An input image the site does not take (rule 19); `details.reason` says which limit.

    Reasons: `unsupported_format`, `dimensions_too_large`, `file_too_large`, `corrupt`.
    """

    code = "invalid_image"

    def __init__(self, message: str, *, reason: str, **details: Any) -> None:
        super().__init__(message, reason=reason, **details)
        self.reason = reason


class InvalidSignature(CreditflowError):
    """A webhook not provably from its provider: nothing of it is applied."""

    code = "invalid_signature"


class ProviderUnavailable(CreditflowError):
    """The payment provider could not be reached or answered with a passing error; nothing was
    lost: the call is kept and asked for again."""

    code = "provider_unavailable"


class ProviderRefused(CreditflowError):
    """The payment provider refused the call for good (or every retry failed)."""

    code = "provider_refused"


class NotFound(CreditflowError):
    code = "not_found"


class Conflict(CreditflowError):
    code = "conflict"


class AccountExists(Conflict):
    code = "account_exists"


class AccountSuspended(CreditflowError):
    code = "account_suspended"


class InsufficientCredits(CreditflowError):
    code = "insufficient_credits"

    def __init__(self, *, available: int, requested: int) -> None:
        super().__init__(
            f"Not enough credits: {requested} requested, {available} available.",
            available=available,
            requested=requested,
        )
        self.available = available
        self.requested = requested


class HoldNotActive(Conflict):
    code = "hold_not_active"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class CatalogError(CreditflowError):
    """A catalog file that cannot be used: the message names the file, the key and the fault."""

    code = "invalid_catalog"
