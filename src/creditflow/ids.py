"""Opaque public ids with a type prefix (`acc_…`, `grt_…`), as the API contract asks."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_id(prefix: str) -> str:
    """A prefix and 20 random base32 characters (100 bits): unguessable and collision-free."""
    n = int.from_bytes(secrets.token_bytes(13), "big") >> 4
    chars = []
    for _ in range(20):
        chars.append(_ALPHABET[n & 31])
        n >>= 5
    return f"{prefix}_" + "".join(chars)
