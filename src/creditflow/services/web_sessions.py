"""Browser sessions: a random token in an HttpOnly cookie, its SHA-256 in the database.

A session lasts while it is used: it ends after its idle time (12 hours in the console, one in
the portal), on sign-out, or when its subject can no longer use it (a staff member disabled, an
account suspended). Every form that changes something carries the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from creditflow.store.uow import UnitOfWork
from creditflow.store.web_sessions import SessionRecord

IDLE = {"console": timedelta(hours=12), "portal": timedelta(hours=1)}
TOUCH_EVERY = timedelta(minutes=1)
"""A session's last use is written at most this often: not a write per page."""


@dataclass(frozen=True, slots=True)
class BrowserSession:
    token_hash: str
    kind: str
    subject_id: str
    csrf: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(uow: UnitOfWork, *, kind: str, subject_id: str, now: datetime) -> str:
    """A new session; its token, for the cookie (the only place it is ever kept)."""
    token = secrets.token_urlsafe(32)
    uow.web_sessions.add(
        SessionRecord(
            id=token_hash(token),
            kind=kind,
            subject_id=subject_id,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            last_seen_at=now,
            ended_at=None,
        )
    )
    return token


def resume_session(
    uow: UnitOfWork, *, kind: str, token: str, now: datetime
) -> BrowserSession | None:
    """The live session of this token, its last use noted; None if it ended or idled out."""
    record = uow.web_sessions.get(token_hash(token))
    if record is None or record.kind != kind or record.ended_at is not None:
        return None
    if now - record.last_seen_at > IDLE[kind]:
        uow.web_sessions.end(record.id, now)
        return None
    if now - record.last_seen_at > TOUCH_EVERY:
        uow.web_sessions.touch(record.id, now)
    return BrowserSession(record.id, record.kind, record.subject_id, record.csrf)


def end_session(uow: UnitOfWork, *, token: str, now: datetime) -> None:
    uow.web_sessions.end(token_hash(token), now)
