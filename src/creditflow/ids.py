"""Opaque public ids with a type prefix (`acc_…`, `grt_…`), as the API contract asks."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """A prefix and 24 random hex digits (96 bits): unguessable and collision-free."""
    return f"{prefix}_{secrets.token_hex(12)}"
