"""The vocabularies the ledger is built from, shared by every layer."""

from __future__ import annotations

from enum import StrEnum


class GrantKind(StrEnum):
    """Where a grant's credits came from; the catalog ranks kinds for draw-down (rule 2)."""

    SUBSCRIPTION = "subscription"
    """Monthly plan credits; they expire at the cycle end (rule 7)."""
    PURCHASED = "purchased"
    """Credit packs, "lifetime" credits: they never expire unless the catalog says so (rule 6)."""
    ADDON = "addon"
    """Add-on credits a member buys on top of the plan (rule 14)."""
    DAILY = "daily"
    """The site-wide daily claim; lapses at the next midnight (rule 13)."""
    MEMBER_DAILY = "member_daily"
    """A member's daily extra on top of the site-wide claim (rule 13)."""
    REPLACEMENT = "replacement"
    """Given by support in place of a refund (refund policies)."""
    PROMO = "promo"
    """Goodwill and promotional credits."""


class Channel(StrEnum):
    """Where credits may be spent (rule 3). `any` grants are usable everywhere."""

    ANY = "any"
    WEB = "web"
    APP = "app"


class EntryType(StrEnum):
    """The types of ledger entries the API shows."""

    GRANT = "grant"
    CONSUME = "consume"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    EXPIRE = "expire"
    REVOKE = "revoke"


class HoldStatus(StrEnum):
    HELD = "held"
    """Credits are reserved for a job in flight: out of `available`, counted in `held`."""
    CAPTURED = "captured"
    """The job succeeded; the captured part is spent, the rest went back."""
    RELEASED = "released"
    """Released by the caller or by its time-out; every credit went back to its grant."""


MAX_CREDITS = 10**12
"""The largest number of credits one request may name; anything bigger is a mistake, not a wish."""
