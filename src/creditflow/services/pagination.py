"""Cursor pagination: `?limit=` and an opaque `?cursor=` from the previous page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from creditflow.domain.errors import InvalidRequest
from creditflow.services.views import Page

R = TypeVar("R")
T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be from 1 to {MAX_LIMIT}.", field="limit")
    return limit


def encode_cursor(kind: str, position: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> str | None:
    """The position inside a cursor of `kind`; a cursor from elsewhere is refused."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    prefix, _, position = raw.partition(":")
    if prefix != kind or not position:
        raise InvalidRequest("cursor is not one this list gave out.", field="cursor")
    return position


def decode_int_cursor(cursor: str | None, kind: str) -> int | None:
    position = decode_cursor(cursor, kind)
    if position is None:
        return None
    if not position.isdigit():
        raise InvalidRequest("cursor is not one this list gave out.", field="cursor")
    return int(position)


def page_of(
    rows: Sequence[tuple[int, R]], *, size: int, kind: str, view: Callable[[R], T]
) -> Page[T]:
    """A page from `size + 1` rows fetched newest first: the extra row only says more exist."""
    shown = rows[:size]
    return Page[T](
        data=[view(row) for _, row in shown],
        next_cursor=encode_cursor(kind, shown[-1][0]) if len(rows) > size else None,
    )
